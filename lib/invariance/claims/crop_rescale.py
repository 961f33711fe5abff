"""Notebook 05: the crop-rescale sweep: P(top-1 change) and MAC for crops of every size rescaled to the
canvas and for centred embeddings of every side, the official code's U shape; the figure and its sentence.
The runs themselves are `protocols.sweep_conditions` through `evaluate.run_grid`."""

from __future__ import annotations

from collections.abc import Mapping

import matplotlib.pyplot as plt
import pandas as pd

from invariance.presentation.figures import label, use_style
from invariance.presentation.text import (
    Values,
    model_name,
    tidy_frame,
    value_range,
)
from invariance.sources.models import display_name

# --- figures (the notebook calls these; save_figure writes them with their sidecars) ---


SWEEP_NAMES = {
    "crop": "crop (official code)",
    "crop shift-before-rescale": "crop, shift before rescale (camera pan)",
    "embed black": "embedding on true black",
    "embed mean": "embedding on mean grey (official code's 'black')",
}


def plot_sweep_panels(
    summary: pd.DataFrame, canvas: int = 224, names: Mapping[str, str] | None = None
) -> plt.Figure:
    """Rows: networks; columns: P(top-1 change), MAC, accuracy, against object scale, one line per variant.

    Crop fractions s <= 1 and centred embeddings of int(canvas / s) px (s > 1) share the x axis, with a
    break between them; names: legend text per variant."""
    use_style()
    names = SWEEP_NAMES if names is None else names
    models = list(dict.fromkeys(summary.model))
    metrics = ["p_top1_change", "mac", "accuracy"]
    scales = sorted(summary.scale.unique())
    crops = [s for s in scales if s <= 1]
    embeds = [s for s in scales if s > 1]
    fig, axes = plt.subplots(len(models), 3, figsize=(11.5, 3.1 * len(models)), squeeze=False)
    for row, model in zip(axes, models, strict=True):
        for ax, metric in zip(row, metrics, strict=True):
            sub = summary[(summary.model == model) & (summary.metric == metric)]
            for i, (variant, s) in enumerate(sub.groupby("variant", sort=True)):
                s = s.sort_values("scale")
                ax.errorbar(
                    s.scale,
                    s.value,
                    yerr=[s.value - s.ci_low, s.ci_high - s.value],
                    fmt="o-",
                    ms=3,
                    lw=1,
                    capsize=2,
                    color=f"C{i}",
                    label=names.get(variant, variant) if names else variant,
                )
            if crops and embeds:
                lo, hi = max(crops), min(embeds)
                ax.axvspan(lo + 0.06, hi - 0.06, color="0.92", lw=0)
                ax.axvline((lo + hi) / 2, color="0.5", lw=0.8, ls=(0, (2, 2)))
            ticks = [f"{s:g}" for s in crops] + [f"{int(canvas / s)} px" for s in embeds]
            ax.set_xticks(crops + embeds, ticks, fontsize=7.5)
            ax.set(title=f"{display_name(model)}: {label(metric)}", ylabel=label(metric))
            ax.set_xlabel("crop: area fraction s          |          centred embedding: side", fontsize=8)
    fig.tight_layout()
    handles, labels_ = axes[0, 0].get_legend_handles_labels()
    fig.legend(
        handles, labels_, loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=len(labels_), fontsize=7.5
    )
    return fig


# --- findings: one sentence per figure, from its sidecar, and the claim's verdict ---


def f05_sweep(v: Values) -> str:
    t = tidy_frame(v)
    t = t[t.metric == "p_top1_change"]
    crop = t[t.variant == "crop"].set_index("scale").value
    sbr = t[t.variant == "crop shift-before-rescale"].set_index("scale").value
    emb = t[t.variant == "embed black"].set_index("scale").value
    small = crop.index.min()
    return (
        f"{model_name(t.model.iloc[0])}, {int(t.images.iloc[0])} images: P(top-1 change) for crops s >= 0.4 "
        f"{value_range(crop[crop.index >= 0.4])} "
        f"(shift-before-rescale {value_range(sbr[sbr.index >= 0.4])}), for tiny "
        f"crops (s = {small:g}) {crop[small]:.3f} (shift-before-rescale {sbr[small]:.3f}), for embeddings on "
        f"black {value_range(emb)} (largest at 224/{emb.idxmax():g} px: {emb.max():.2f}): the official "
        "code's U "
        "shape, with wide CIs at this n."
    )
