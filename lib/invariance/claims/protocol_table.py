"""Notebook 04, the paper's Table 1: P(top-1 change) and MAC per network and protocol beside the paper's
published values; the bar figure, its sentence, the verdict, and the README's paper-vs-ours table. The runs
themselves are `protocols.table` through `evaluate.run_grid`."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from invariance.presentation.figures import ci_whiskers, label, use_style
from invariance.presentation.text import (
    Values,
    ci_text,
    model_name,
    sidecar_values,
    tidy_frame,
    value_range,
)
from invariance.sources import paper
from invariance.sources.models import display_name

# --- figures (the notebook calls these; save_figure writes them with their sidecars) ---


def plot_metric_bars(
    summary: pd.DataFrame,
    metrics: list[str],
    order: list[str],
    reference: pd.DataFrame | None = None,
    reference_at: Mapping[str, str] | None = None,
    ticks: Mapping[str, str] | None = None,
) -> plt.Figure:
    """Grouped bars with 95% CIs: conditions on x, one colour per network, one panel per metric.

    reference: published values (paper.TABLE1: model, protocol, metric, pytorch), drawn as markers beside
    the bars of the condition reference_at[protocol] (e.g. the paper's 'black' at our 'mean', the background
    its code used); ticks: x tick labels per condition."""
    use_style()
    models = list(dict.fromkeys(summary.model))
    reference_at = reference_at or {}
    ref = reference if reference is not None else pd.DataFrame(columns=["model", "protocol", "metric"])
    ref = ref.assign(condition=ref.protocol.map(lambda p: reference_at.get(p, p)))
    ref_models = list(dict.fromkeys(ref.model))
    markers = ["D", "s", "^", "v", "o"]
    fig, axes = plt.subplots(1, len(metrics), figsize=(5.0 * len(metrics), 3.5), squeeze=False)
    n = len(models)
    width = 0.8 / (n + 1) if len(ref) else 0.8 / n
    for ax, metric in zip(axes[0], metrics, strict=True):
        sub = summary[summary.metric == metric]
        theirs = ref[ref.metric == metric]
        has_ref = np.array([c in set(theirs.condition) for c in order])
        centre = np.where(has_ref, -width / 2, 0.0)
        for i, model in enumerate(models):
            s = sub[sub.model == model].set_index("condition").reindex(order)
            x = np.arange(len(order)) + centre + (i - (n - 1) / 2) * width
            ax.bar(x, s.value, width, label=display_name(model), color=f"C{i}")
            ci_whiskers(ax, x, s)
        for j, model in enumerate(ref_models):
            t = theirs[theirs.model == model]
            x = [order.index(c) + (n / 2) * width + (j - 1) * width * 0.25 for c in t.condition]
            ax.plot(
                x,
                t.pytorch,
                markers[j % 5],
                ms=5,
                mfc="white",
                mec="k",
                mew=0.9,
                ls="none",
                label=f"paper Table 1: {paper.MODEL_NAMES.get(model, model)}",
            )
        labels = [ticks.get(c, c) if ticks else c for c in order]
        ax.set_xticks(np.arange(len(order)), labels, fontsize=7.5)
        ax.set_ylabel(label(metric))
        if ticks:
            ax.set_xlabel("protocol: ours (the paper's name)", fontsize=8)
        has_any = len(theirs) > 0
        ax.set_title(label(metric) + ("" if has_any or not len(ref) else "\n(not in the paper's Table 1)"))
    handles, names = axes[0, 0].get_legend_handles_labels()
    fig.legend(
        handles, names, loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=min(len(names), 6), fontsize=7.5
    )
    return fig


# --- findings: one sentence per figure, from its sidecar, and the claim's verdict ---


def f04_table(v: Values) -> str:
    t = tidy_frame(v)
    p = t[t.metric == "p_top1_change"]
    acc = t[t.metric == "accuracy"]

    def rng(cond: str, frame: pd.DataFrame = p) -> str:
        return value_range(frame[frame.condition == cond].value)

    emb = acc[acc.condition != "crop"]
    return (
        f"P(top-1 change), {int(t.images.iloc[0])} images x {int(t.pairs.iloc[0] / t.images.iloc[0])} pairs: "
        f"crop {rng('crop')}, black translation {rng('black')}, mean grey {rng('mean')}, inpainted "
        f"{rng('inpaint')}, scale {rng('scale')}; embedding also costs accuracy ({rng('crop', acc)} crop vs "
        f"{value_range(emb.value)} embedded)."
    )


# the paper's claim that notebook 04 tests
CLAIM = "Modern CNNs change their top-1 on a large share of one-pixel translations (Table 1)."


def verdict(read) -> str:
    """Our verdict on CLAIM with its reason, given a reader of this run's sidecars (name -> values)."""
    t = tidy_frame(read("04_protocol_table"))
    p = t[t.metric == "p_top1_change"].set_index(["model", "condition"])
    apart = all(p.loc[(m, "crop"), "ci_high"] < p.loc[(m, "mean"), "ci_low"] for m in p.index.levels[0])
    return (
        "**reproduced**: embedded translation changes the top-1 far more often than crop, CIs apart for "
        "every "
        "network; magnitudes are close to the paper's (other networks)"
        if apart
        else "**not reproduced**: crop and embedded translation CIs overlap"
    )


def table1_markdown(folder: Path | None = None) -> str:
    """Paper's Table 1 (PyTorch, Keras in parentheses) beside ours (95% CIs), from 04's sidecar."""
    ours = tidy_frame(sidecar_values("04_protocol_table", folder)).set_index(["model", "condition", "metric"])
    models = list(dict.fromkeys(ours.index.get_level_values(0)))
    ref = paper.TABLE1.set_index(["model", "protocol", "metric"])
    refs = list(dict.fromkeys(paper.TABLE1.model))
    names = paper.MODEL_NAMES
    head = " | ".join(
        [f"{names.get(m, m)} (paper)" for m in refs] + [f"{model_name(m)} (ours)" for m in models]
    )
    rows = [f"| | {head} |", "| --- " * (1 + len(refs) + len(models)) + "|"]
    for metric, metric_name in (("p_top1_change", "P(top-1 change)"), ("mac", "MAC")):
        for cond, cname, pcond in (
            ("crop", "Crop", "crop"),
            ("black", "Black", "black"),
            ("mean", "mean grey", None),
        ):
            cells = []
            for m in refs:
                if pcond is None:
                    cells.append("—")
                    continue
                r = ref.loc[(m, pcond, metric)]
                cells.append(f"{r.pytorch:g}" + (f" ({r.keras:g})" if pd.notna(r.keras) else ""))
            cells += [ci_text(ours.loc[(m, cond, metric)]) for m in models]
            rows.append(f"| {metric_name}, {cname} | " + " | ".join(cells) + " |")
    p = ours.xs("p_top1_change", level="metric").value
    crop, emb = p.xs("crop", level="condition"), p.xs("mean", level="condition")
    paper_p = ref.xs("p_top1_change", level="metric").pytorch
    rows += [
        "",
        f"Magnitudes: ours crop {value_range(crop)} and embedded translation (mean grey, as the official "
        "code ran "
        f"it) {value_range(emb)}; the paper's {value_range(paper_p.xs('crop', level='protocol'))} and "
        f"{value_range(paper_p.xs('black', level='protocol'))}.",
    ]
    return "\n".join(rows)
