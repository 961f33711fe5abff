"""Notebook 04, the paper's Table 1: P(top-1 change) and MAC per network and protocol beside the paper's
published values; the bar figure, its sentence, the verdict, and the README's paper-vs-ours table. The runs
themselves are `protocols.table` through `evaluate.run_grid`."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from invariance.kernels import metrics
from invariance.presentation.figures import ci_whiskers, label, use_style
from invariance.presentation.text import (
    INCONCLUSIVE,
    NOT_REPRODUCED,
    REPRODUCED,
    Values,
    ci_text,
    model_name,
    sidecar_values,
    tidy_frame,
    value_range,
    verdict_text,
)
from invariance.sources import paper
from invariance.sources.models import display_name


def first_frame_table(tables: Mapping[tuple[str, str], pd.DataFrame], bins: int = 4) -> pd.DataFrame:
    """metrics.by_first_frame of every (model, condition) pair table, one long table with model and
    condition columns: P(top-1 change) given a correct or wrong first frame and per quantile bin of the
    first frame's top-1/top-2 probability margin."""
    parts = [
        metrics.by_first_frame(t, bins=bins).assign(model=model, condition=condition)
        for (model, condition), t in tables.items()
    ]
    return pd.concat(parts, ignore_index=True)


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


QUANTILE = {2: "half", 4: "quartile", 5: "quintile", 10: "decile"}


def plot_first_frame(
    table: pd.DataFrame, order: list[str], ticks: Mapping[str, str] | None = None
) -> plt.Figure:
    """One column per network. Top: P(top-1 change) when the first frame is correct vs wrong, per condition
    (protocol, comparison or object size; 95% CIs). Bottom: P(top-1 change) per quantile bin of the first
    frame's top-1 minus top-2 probability, one line per condition: how much of the instability is
    near-ties. table: first_frame_table's rows."""
    use_style()
    models = list(dict.fromkeys(table.model))
    fig, axes = plt.subplots(2, len(models), figsize=(4.2 * len(models), 6.2), squeeze=False, sharey="row")
    for j, model in enumerate(models):
        t = table[table.model == model]
        ax = axes[0, j]
        for i, part in enumerate(("correct", "wrong")):
            s = t[(t.split == "correctness") & (t.part == part)].set_index("condition").reindex(order)
            x = np.arange(len(order)) + (i - 0.5) * 0.38
            ax.bar(x, s.p_top1_change, 0.38, color=("C2", "C3")[i], label=f"first frame {part}")
            ci_whiskers(
                ax,
                x,
                s.rename(
                    columns={
                        "p_top1_change": "value",
                        "p_top1_change_low": "ci_low",
                        "p_top1_change_high": "ci_high",
                    }
                ),
            )
        labels = [ticks.get(c, c) if ticks else c for c in order]
        ax.set_xticks(np.arange(len(order)), labels, fontsize=7)
        ax.set(title=display_name(model), ylabel="P(top-1 change)" if j == 0 else None)
        ax = axes[1, j]
        for i, condition in enumerate(order):
            s = t[(t.split == "margin") & (t.condition == condition)].sort_values("part")
            q = s.part.astype(int).to_numpy() + 1
            ax.errorbar(
                q + (i - len(order) / 2) * 0.04,
                s.p_top1_change,
                yerr=[s.p_top1_change - s.p_top1_change_low, s.p_top1_change_high - s.p_top1_change],
                fmt="o-",
                ms=3,
                lw=1,
                capsize=1.5,
                color=f"C{i}",
                label=labels[i],
            )
        bins = int(t[t.split == "margin"].part.astype(int).max()) + 1
        ax.set(
            xlabel=f"{QUANTILE.get(bins, f'{bins}-quantile')} of the first frame's top-1 minus top-2 "
            "probability\n(1 = nearest a tie)",
            ylabel="P(top-1 change)" if j == 0 else None,
            xticks=list(range(1, bins + 1)),
        )
        ax.xaxis.label.set_fontsize(7.5)
    axes[0, 0].legend(fontsize=7)
    axes[1, 0].legend(fontsize=6.5, ncol=2)
    fig.tight_layout()
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


def first_frame_sentence(v: Values, what: str = "protocol") -> str:
    """P(top-1 change) by the first frame, from a first_frame_table sidecar: per condition, its range over
    the networks when the first frame is correct vs wrong and in the nearest-a-tie vs the widest-margin bin,
    and how many network x condition cases have correct first frames changing less, CIs apart."""
    t = tidy_frame(v)
    c = t[t.split == "correctness"]
    margin = t[t.split == "margin"]
    top = margin[margin.part.astype(int) == margin.part.astype(int).max()]
    low = margin[margin.part.astype(int) == 0]
    bins = int(margin.part.astype(int).max()) + 1 if len(margin) else 0
    quantile = QUANTILE.get(bins, f"{bins}-quantile bin")

    def rng(frame: pd.DataFrame, condition: str) -> str:
        x = frame[frame.condition == condition].p_top1_change.dropna()
        return value_range(x) if len(x) else "no pairs"

    def of(part: str) -> pd.DataFrame:
        return c[c.part == part]

    parts = "; ".join(
        f"{condition} {rng(of('correct'), condition)} when correct vs {rng(of('wrong'), condition)} when "
        f"wrong, {rng(low, condition)} in the {quantile} nearest a top-1/top-2 tie and "
        f"{rng(top, condition)} in the widest-margin {quantile}"
        for condition in dict.fromkeys(t.condition)
    )
    right = of("correct").set_index(["model", "condition"])
    wrong = of("wrong").set_index(["model", "condition"])
    both = right.index.intersection(wrong.index)
    apart = int((right.loc[both, "p_top1_change_high"] < wrong.loc[both, "p_top1_change_low"]).sum())
    return (
        "P(top-1 change) by the first frame (ranges over the networks): "
        f"{parts}. Correct first frames change less than wrong ones, CIs apart, in {apart} of {len(both)} "
        f"network x {what} cases."
    )


def f04_first_frame(v: Values) -> str:
    return first_frame_sentence(v, "protocol")


# the paper's claim that notebook 04 tests
CLAIM = "Modern CNNs change their top-1 on a large share of one-pixel translations (Table 1)."


def verdict(read) -> str:
    """Our verdict on CLAIM with its reason, given a reader of this run's sidecars (name -> values): crop vs
    embedded translation (mean grey, the official code's background) per network, from their CIs."""
    t = tidy_frame(read("04_protocol_table"))
    p = t[t.metric == "p_top1_change"].set_index(["model", "condition"])
    nets = list(dict.fromkeys(p.index.get_level_values(0)))
    above = [m for m in nets if p.loc[(m, "crop"), "ci_high"] < p.loc[(m, "mean"), "ci_low"]]
    below = [m for m in nets if p.loc[(m, "crop"), "ci_low"] > p.loc[(m, "mean"), "ci_high"]]
    if len(above) == len(nets):
        theirs = paper.TABLE1[paper.TABLE1.metric == "p_top1_change"].set_index("protocol").pytorch
        ours = p.xs("mean", level="condition").value
        return verdict_text(
            REPRODUCED,
            "embedded translation changes the top-1 far more often than crop, CIs apart for every network; "
            f"ours on mean grey {value_range(ours)}, the paper's Black {value_range(theirs.loc['black'])} "
            "(other networks)",
        )
    if len(below) == len(nets):
        return verdict_text(NOT_REPRODUCED, "crop changes the top-1 more often than embedded translation")
    return verdict_text(
        INCONCLUSIVE, f"crop and embedded translation CIs apart for {len(above)} of {len(nets)} networks"
    )


def _given_correct(folder: Path | None) -> pd.Series | None:
    """P(top-1 change) given a correct first frame with its CI, as text per (model, condition), from 04's
    first-frame sidecar; None when that figure has not been made."""
    try:
        t = tidy_frame(sidecar_values("04_change_by_first_frame", folder))
    except FileNotFoundError:
        return None
    t = t[(t.split == "correctness") & (t.part == "correct")].set_index(["model", "condition"])
    return t.apply(
        lambda r: f"{r.p_top1_change:.3f} [{r.p_top1_change_low:.3f}, {r.p_top1_change_high:.3f}]", axis=1
    )


def table1_markdown(folder: Path | None = None) -> str:
    """Paper's Table 1 (PyTorch, Keras in parentheses) beside ours (95% CIs), from 04's sidecar, with our
    P(top-1 change) among pairs whose first frame is correct (04's first-frame sidecar) below it."""
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
    given = _given_correct(folder)
    for cond, cname in (("crop", "Crop"), ("black", "Black"), ("mean", "mean grey")):
        if given is None or not all((m, cond) in given.index for m in models):
            break
        cells = ["—"] * len(refs) + [given.loc[(m, cond)] for m in models]
        rows.append(f"| P(top-1 change), first frame correct, {cname} | " + " | ".join(cells) + " |")
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


# claims at a glance (README): the claim in a line, the paper's evidence, the figure, the key number
SHORT = "Embedding an image and moving it one pixel changes the top-1 far more often than cropping."
PAPER_EVIDENCE = "Table 1: P(top-1 change) and MAC under crop, black-canvas and inpainted embeddings"
FIGURE = "04_protocol_table"


def headline(read) -> str:
    """P(top-1 change) under crop and under the mean-grey embedding: ranges over the networks."""
    t = tidy_frame(read("04_protocol_table"))
    p = t[t.metric == "p_top1_change"]
    return (
        f"P(top-1 change): crop {value_range(p[p.condition == 'crop'].value, 3)}, embedded (mean grey) "
        f"{value_range(p[p.condition == 'mean'].value, 3)} (ranges over the networks)"
    )
