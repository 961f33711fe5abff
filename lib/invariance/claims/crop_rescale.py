"""Notebook 05: the crop-rescale sweep: P(top-1 change) and MAC for crops of every size rescaled to the
canvas and for centred embeddings of every side, the official code's U shape; the figure and its sentence.
The runs themselves are `protocols.sweep_conditions` through `evaluate.run_grid`."""

from __future__ import annotations

from collections.abc import Mapping

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from invariance.kernels import metrics
from invariance.presentation.figures import label, use_style
from invariance.presentation.text import (
    Values,
    model_name,
    tidy_frame,
    value_range,
)
from invariance.sources.models import display_name

MID_CROPS = 0.4  # crops of at least this area fraction are the U's bottom


def u_contrast(
    tables: Mapping[tuple[str, str], pd.DataFrame], n_boot: int = 2000, seed: int = 0
) -> pd.DataFrame:
    """The U shape's two arms as paired differences over images, per network: per image, P(top-1 change) at
    the smallest crop and at the smallest black embedding minus its mean over the official crops of area
    fraction >= MID_CROPS; mean and 95% bootstrap CI over images. tables: run_grid's {(model,
    'variant|scale'): pair table} of protocols.sweep_conditions. Columns: model, contrast, end, middle,
    difference, low, high, images."""
    rows = []
    by_model: dict[str, dict[tuple[str, float], pd.DataFrame]] = {}
    for (model, condition), t in tables.items():
        variant, scale = condition.split("|")
        by_model.setdefault(model, {})[(variant, float(scale))] = t
    for model, runs in by_model.items():

        def per_image(keys: list[tuple[str, float]], runs=runs) -> pd.Series:
            t = pd.concat([runs[k] for k in keys], ignore_index=True)
            return metrics.per_image(t)

        crops = sorted(s for v, s in runs if v == "crop")
        embeds = sorted(s for v, s in runs if v == "embed black")
        middle = [("crop", s) for s in crops if s >= MID_CROPS]
        ends = {}
        if crops and crops[0] < MID_CROPS:
            ends[f"tiny crop (s = {crops[0]:g}) minus crops s >= {MID_CROPS:g}"] = [("crop", crops[0])]
        if embeds:
            ends[f"smallest black embedding (224/{embeds[-1]:g} px) minus crops s >= {MID_CROPS:g}"] = [
                ("embed black", embeds[-1])
            ]
        if not middle:
            continue
        mid = per_image(middle)
        for contrast, keys in ends.items():
            end = per_image(keys)
            both = end.index.intersection(mid.index)
            d = (end[both] - mid[both]).to_numpy()
            mean, low, high = metrics.bootstrap_ci(d, np.arange(len(d)), n_boot=n_boot, seed=seed)
            rows.append(
                {
                    "model": model,
                    "contrast": contrast,
                    "end": float(end[both].mean()),
                    "middle": float(mid[both].mean()),
                    "difference": mean,
                    "low": low,
                    "high": high,
                    "images": len(d),
                }
            )
    return pd.DataFrame(rows)


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
    """The sweep's sentence; with the paired contrasts (sidecar {"summary", "contrast"}) it also says
    whether each arm of the U is above the middle, CI over images; an older sidecar is the summary alone."""
    summary = v["summary"] if isinstance(v, dict) else v
    t = tidy_frame(summary)
    t = t[t.metric == "p_top1_change"]
    crop = t[t.variant == "crop"].set_index("scale").value
    sbr = t[t.variant == "crop shift-before-rescale"].set_index("scale").value
    emb = t[t.variant == "embed black"].set_index("scale").value
    small = crop.index.min()
    text = (
        f"{model_name(t.model.iloc[0])}, {int(t.images.iloc[0])} images: P(top-1 change) for crops s >= 0.4 "
        f"{value_range(crop[crop.index >= 0.4])} "
        f"(shift-before-rescale {value_range(sbr[sbr.index >= 0.4])}), for tiny "
        f"crops (s = {small:g}) {crop[small]:.3f} (shift-before-rescale {sbr[small]:.3f}), for embeddings on "
        f"black {value_range(emb)} (largest at 224/{emb.idxmax():g} px: {emb.max():.2f})"
    )
    if not (isinstance(v, dict) and v.get("contrast")):
        return text + ": the official code's U shape, with wide CIs at this n."
    c = tidy_frame(v["contrast"])
    arms = "; ".join(
        f"{r.contrast} {r.difference:+.3f} [{r.low:+.3f}, {r.high:+.3f}]" for r in c.itertuples()
    )
    above = int((c.low > 0).sum())
    shape = (
        "both arms above the middle, CIs above 0: the official code's U shape"
        if above == len(c) and len(c) >= 2
        else f"{above} of {len(c)} arms above the middle with CIs above 0: the U shape is not established "
        "at this n"
    )
    return f"{text}. Paired over images: {arms}; {shape}."
