"""Notebook 03: jaggedness maps (many images along a path, per network) and claim 1's depth part under
controls: are deeper networks less invariant once the object's size and the network's competence are held
fixed?

EfficientNet-Lite0/1/2 run at 224/240/260 px canvases, so "the same embedding" means either the same
fraction of each canvas (sides given for 224 scale with N: 100 -> 107 -> 116 px) or the same size in
pixels (100 px everywhere); larger objects are measurably more stable (notebooks 05, 09), so the two can
order the networks differently. A third comparison keeps only the images every network classifies correctly
on the path's first frame (competence held fixed); a fourth uses real photos at their natural framing
(notebook 08's crop runs, which are the same fraction of every canvas).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from invariance.claims import depth_series, protocol_table
from invariance.kernels import metrics
from invariance.presentation.figures import ci_whiskers, use_style
from invariance.presentation.text import (
    INCONCLUSIVE,
    NOT_REPRODUCED,
    NOT_TESTABLE,
    REPRODUCED,
    Values,
    model_name,
    tidy_frame,
    verdict_text,
)
from invariance.runner import evaluate
from invariance.runner.protocols import Translation, scaled
from invariance.sources.images import SourceImage
from invariance.sources.models import LoadedModel, display_name

COMPARISONS = {
    "fraction": "object the same fraction of each canvas",
    "pixels": "object the same size in pixels",
    "all correct": "same fraction, only images every\nnetwork gets right on frame 0",
    "photos": "real photos, natural framing",
}


def side_for_pixels(pixels: int, canvas: int) -> int:
    """The side (given for a 224 canvas, as protocols take it) that is `pixels` px at canvas N."""
    guess = round(pixels * 224 / canvas)
    for side in (guess, guess - 1, guess + 1):
        if side >= 1 and scaled(side, canvas) == pixels:
            return side
    raise ValueError(f"no integer side gives a {pixels} px object on a {canvas} px canvas")


def pixel_matched(path: Translation, pixels: int, canvas: int) -> Translation:
    """The same path with the object `pixels` px on an N = canvas px canvas."""
    return dataclasses.replace(path, side=side_for_pixels(pixels, canvas))


def pixel_matched_runs(
    models: Sequence[LoadedModel], path: Translation, pixels: int, images: Sequence[SourceImage]
) -> dict[str, pd.DataFrame]:
    """Pair tables of the path with the object `pixels` px on each network's own canvas (cached runs)."""
    return {
        m.label: evaluate.run(m, pixel_matched(path, pixels, m.data_config.input_size), images)
        for m in models
    }


def only(tables: Mapping[str, pd.DataFrame], ids: Sequence[str]) -> dict[str, pd.DataFrame]:
    """The pair tables restricted to the images in ids."""
    return {model: t[t.image_id.isin(ids)] for model, t in tables.items()}


def all_correct(tables: Mapping[str, pd.DataFrame]) -> list[str]:
    """Ids of the images every network classifies correctly on the first frame of its path (frame_a == 0)."""
    sets = []
    for t in tables.values():
        first = t[t.frame_a == 0]
        sets.append(set(first.image_id[first.top1_a == first.label]))
    return sorted(set.intersection(*sets)) if sets else []


def depth_table(comparisons: Mapping[str, Mapping[str, pd.DataFrame]], n_boot: int = 2000) -> pd.DataFrame:
    """P(top-1 change) per one-pixel step and accuracy (of the frames), 95% CIs over images, per comparison
    and network. comparisons: {comparison: {model: pair table}}. Columns: comparison, model, p_top1_change,
    ci_low, ci_high, accuracy, accuracy_low, accuracy_high, images."""
    rows = []
    for name, tables in comparisons.items():
        for model, t in tables.items():
            s = metrics.summarize(t, n_boot=n_boot)
            p, a = s.loc["p_top1_change"], s.loc["accuracy"]
            rows.append(
                {
                    "comparison": name,
                    "model": model,
                    "p_top1_change": p.value,
                    "ci_low": p.ci_low,
                    "ci_high": p.ci_high,
                    "accuracy": a.value,
                    "accuracy_low": a.ci_low,
                    "accuracy_high": a.ci_high,
                    "images": int(p.images),
                }
            )
    return pd.DataFrame(rows)


def differences(comparisons: Mapping[str, Mapping[str, pd.DataFrame]]) -> pd.DataFrame:
    """Per comparison: P(top-1 change) of the deepest network minus the shallowest's (the first and last
    networks in the order given: shallowest first), paired over the images both ran on, with a 95% CI
    (metrics.difference_ci, one run each) and the verdict on "deeper is less invariant": reproduced (CI
    above 0), reversed (below 0), inconclusive (includes 0), or "needs two networks"."""
    rows = []
    for name, tables in comparisons.items():
        models = list(tables)
        row = {
            "comparison": name,
            "shallower": models[0] if models else None,
            "deeper": models[-1] if models else None,
        }
        if len(models) < 2:
            rows.append({**row, "verdict": "needs two networks"})
            continue
        first, last = tables[models[0]], tables[models[-1]]
        if first.empty or last.empty:  # e.g. no image every (untrained) network gets right
            rows.append({**row, "verdict": "no images"})
            continue
        d, lo, hi, p = metrics.difference_ci(last.assign(seed=0), first.assign(seed=0), "p_top1_change")
        verdict = "reproduced" if lo > 0 else "reversed" if hi < 0 else "inconclusive"
        rows.append({**row, "difference": d, "low": lo, "high": hi, "p": p, "verdict": verdict})
    return pd.DataFrame(rows)


def jaggedness_summary(tables: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
    """Per network: jaggedness (fraction of steps with a top-1 change) with a 95% CI over images."""
    rows = []
    for model, t in tables.items():
        v, lo, hi = metrics.bootstrap_ci(metrics.PAIR_METRICS["p_top1_change"](t), t.image_id)
        rows.append(
            {"model": model, "jaggedness": v, "ci_low": lo, "ci_high": hi, "images": t.image_id.nunique()}
        )
    return pd.DataFrame(rows).set_index("model")


def path_matrices(tables: Mapping[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    """{model: (images x frames) P(correct class), rows sorted}."""
    return {model: metrics.path_matrix(t) for model, t in tables.items()}


# --- figures (the notebook calls these; save_figure writes them with their sidecars) ---


def plot_jaggedness_maps(
    mats: dict[str, pd.DataFrame],
    jag: pd.DataFrame,
    xlabel: str,
    geometry: Mapping[str, str] | None = None,
    order: str = "rows: the same images in every panel, sorted by mean P(correct class) over all networks "
    "and all shifts (highest first)",
) -> plt.Figure:
    """One panel per network: P(correct class) along the path, one row per image (rows aligned across the
    panels, e.g. by metrics.align_rows; `order` states the rule on the figure); geometry: per network a
    line for its title (canvas and object size, protocols.geometry)."""
    use_style()
    fig, axes = plt.subplots(1, len(mats), figsize=(3.9 * len(mats), 4.1), squeeze=False)
    im = None
    for ax, (model, mat) in zip(axes[0], mats.items(), strict=True):
        im = ax.imshow(mat.to_numpy(), aspect="auto", cmap="viridis", vmin=0, vmax=1, interpolation="nearest")
        j = jag.loc[model]
        where = f"\n{geometry[model]}" if geometry and model in geometry else ""
        ax.set_title(
            f"{display_name(model)}{where}\n"
            f"jaggedness {j.jaggedness:.3f} [{j.ci_low:.3f}, {j.ci_high:.3f}] (95% CI)",
            fontsize=8.5,
        )
        ax.set(
            xlabel=xlabel,
            ylabel=f"image ({len(mat)}; same order in every panel)" if ax is axes[0, 0] else None,
        )
    fig.colorbar(im, ax=axes[0].tolist(), label="P(correct class)", shrink=0.9)
    fig.suptitle(
        f"P(correct class) along a one-pixel vertical translation path; {order}.\n"
        "Jaggedness: share of one-pixel steps whose top-1 class changes, 95% bootstrap CI over images.",
        fontsize=8.5,
        y=1.14,
    )
    return fig


def plot_depth_controls(table: pd.DataFrame, titles: dict[str, str], verdicts: dict[str, str]) -> plt.Figure:
    """One panel per depth comparison (depth_table): P(top-1 change) per one-pixel step per network
    (shallowest first) with 95% CIs over images, the accuracy of the frames written above each bar, and the
    comparison's verdict on "deeper is less invariant" in its title."""
    use_style()
    names = list(dict.fromkeys(table.comparison))
    fig, axes = plt.subplots(1, len(names), figsize=(3.3 * len(names), 3.6), sharey=True, squeeze=False)
    top = float(table.ci_high.max())
    for ax, name in zip(axes[0], names, strict=True):
        t = table[table.comparison == name].reset_index(drop=True)
        x = np.arange(len(t))
        ax.bar(x, t.p_top1_change, color=[f"C{i}" for i in x], alpha=0.8)
        ci_whiskers(ax, x, t.rename(columns={"p_top1_change": "value"}))
        for i, r in t.iterrows():
            ax.text(i, r.ci_high + 0.02 * top, f"acc {r.accuracy:.2f}", ha="center", va="bottom", fontsize=7)
        # "EfficientNet-\nLite0": three full names side by side would overlap under narrow panels
        ax.set_xticks(x, [display_name(m).replace("-", "-\n", 1) for m in t.model], fontsize=8)
        images = ", ".join(str(n) for n in dict.fromkeys(t.images))
        ax.set_title(
            f"{titles.get(name, name)}\n({images} images)\ndeeper less invariant? {verdicts[name]}",
            fontsize=8.5,
        )
    axes[0, 0].set_ylabel("P(top-1 change) per one-pixel step")
    axes[0, 0].set_ylim(0, top * 1.15)
    fig.tight_layout()
    return fig


# --- findings: one sentence per figure, from its sidecar, and the claim's verdict ---


def f03_maps(v: Values) -> str:
    t = tidy_frame(v).set_index("model")
    parts = ", ".join(
        f"{model_name(m)} {r.jaggedness:.3f} [{r.ci_low:.3f}, {r.ci_high:.3f}]" for m, r in t.iterrows()
    )
    return (
        f"Jaggedness (share of one-pixel steps with a top-1 change, {int(t.images.iloc[0])} images): "
        f"{parts}. "
        f'Verdict on "deeper is more jagged": {verdict_depth(v)}.'
    )


def verdict_depth(v: Values) -> str:
    t = tidy_frame(v).set_index("model")
    first, last = t.iloc[0], t.iloc[-1]
    if last.ci_low > first.ci_high:
        return f"reproduced ({model_name(t.index[-1])} above {model_name(t.index[0])}, CIs apart)"
    if last.ci_high < first.ci_low:
        return (
            f"not reproduced (reversed: {model_name(t.index[-1])} below {model_name(t.index[0])}, CIs apart)"
        )
    if last.jaggedness > first.jaggedness:
        way = f"the paper's way: {model_name(t.index[-1])} above {model_name(t.index[0])}"
    elif last.jaggedness < first.jaggedness:
        way = f"the other way: {model_name(t.index[-1])} below {model_name(t.index[0])}"
    else:
        way = f"nowhere: {model_name(t.index[-1])} and {model_name(t.index[0])} equal"
    return f"inconclusive (the CIs overlap; point estimates {way})"


def f03_depth(v: Values) -> str:
    t = tidy_frame(v["table"])
    diffs = tidy_frame(v["differences"]).set_index("comparison") if "differences" in v else None
    parts = []
    for name, g in t.groupby("comparison", sort=False):
        g = g.reset_index(drop=True)
        first, last = g.iloc[0], g.iloc[-1]
        text = (
            f"{name} ({int(first.images)} images): {model_name(first.model)} {first.p_top1_change:.3f} vs "
            f"{model_name(last.model)} {last.p_top1_change:.3f}"
        )
        if diffs is not None and name in diffs.index and pd.notna(diffs.loc[name].get("difference")):
            d = diffs.loc[name]
            text += f", difference {d.difference:+.3f} [{d.low:+.3f}, {d.high:+.3f}]"
        parts.append(f"{text}, {v['verdicts'][name]}")
    return (
        "P(top-1 change) per one-pixel step, shallowest vs deepest network, their difference paired over "
        f'images (95% CI) and the verdict on "deeper is less invariant": {"; ".join(parts)}.'
    )


# --- the same runs split by the first frame: correct or wrong, and its top-1/top-2 margin ---

SPLIT_COMPARISONS = ("fraction", "photos")  # the embedded path and the real photos' view shift


def first_frame_table(comparisons: Mapping[str, Mapping[str, pd.DataFrame]], bins: int = 4) -> pd.DataFrame:
    """protocol_table.first_frame_table of every network under the SPLIT_COMPARISONS present: P(top-1
    change) given a correct or wrong first frame and per quantile bin of its top-1/top-2 margin; the
    condition column names the comparison."""
    return protocol_table.first_frame_table(
        {
            (m, name): t
            for name in SPLIT_COMPARISONS
            if name in comparisons
            for m, t in comparisons[name].items()
        },
        bins=bins,
    )


SPLIT_NAMES = {"fraction": "embedded path", "photos": "real photos"}


def plot_first_frame(table: pd.DataFrame) -> plt.Figure:
    """protocol_table.plot_first_frame with the comparisons on the x axis."""
    order = [c for c in SPLIT_COMPARISONS if c in set(table.condition)]
    return protocol_table.plot_first_frame(table, order, SPLIT_NAMES)


def f03_first_frame(v: Values) -> str:
    named = tidy_frame(v).replace({"condition": SPLIT_NAMES})
    return protocol_table.first_frame_sentence(named.to_dict("records"), "comparison")


# the paper's claim that notebook 03 tests
CLAIM = "Deeper networks are more jagged (less invariant)."


NOT_TESTABLE_HERE = (
    "the paper's own contrast (VGG16 -> ResNet50 -> InceptionResNetV2) is not testable offline: those "
    "weights do not install here; the paper profile runs it"
)


def verdict(read) -> str:
    """Our verdict on CLAIM with its reason, given a reader of this run's sidecars (name -> values). Where
    the run has the controlled CIFAR-10 depth series (03_depth_series: one family, only depth changing,
    trained alike) and it is testable, its verdict is the claim's, with the EfficientNet-Lite result beside
    it; otherwise the Lite result: the paired deepest-minus-shallowest differences under every control
    (reproduced only if every control's CI lies above 0, not reproduced if every one lies below), and the
    maps beside it."""
    lite = _verdict_lite(read)
    try:
        word, reason = depth_series.verdict_series(read("03_depth_series"))
    except FileNotFoundError:
        return lite
    if word == NOT_TESTABLE:
        return f"{lite} Controlled depth series: {reason}."
    return verdict_text(
        word,
        f"in the controlled CIFAR-10 depth series, {reason}. With EfficientNet-Lite0/1/2: "
        # one bold verdict word per verdict, and the networks named once
        + lite.replace("**", "").replace(": with EfficientNet-Lite0/1/2 (", " (", 1),
    )


def _verdict_lite(read) -> str:
    maps = verdict_depth(read("03_jaggedness_maps"))
    try:
        controls = read("03_depth_controls")["verdicts"]
    except FileNotFoundError:
        return verdict_text(
            INCONCLUSIVE, f"no controls in this run; on the maps, {maps}; {NOT_TESTABLE_HERE}"
        )
    kinds = set(controls.values()) - {"no images"}
    summary = ", ".join(f"{name}: {verdict}" for name, verdict in controls.items())
    if not kinds or kinds == {"needs two networks"}:
        return verdict_text(NOT_TESTABLE, f"the controls need two networks; on the maps, {maps}")
    word = (
        REPRODUCED if kinds == {"reproduced"} else NOT_REPRODUCED if kinds == {"reversed"} else INCONCLUSIVE
    )
    return verdict_text(
        word,
        f"with EfficientNet-Lite0/1/2 (deepest minus shallowest network, paired 95% CIs; {summary}); on "
        f"the maps, {maps}; {NOT_TESTABLE_HERE}",
    )


# claims at a glance (README): the claim in a line, the paper's evidence, the figure, the key number
SHORT = CLAIM
PAPER_EVIDENCE = "jaggedness maps: VGG16, ResNet50, InceptionResNetV2 increasingly jagged"
FIGURE = "03_depth_series"


def headline(read) -> str:
    """The controlled series' deepest minus shallowest depth in the accuracy band, P(top-1 change) per
    one-pixel step, 95% CI; without the series, the Lite networks' (the first control, paired)."""
    try:
        series = tidy_frame(read("03_depth_series")["differences"])
    except FileNotFoundError:
        series = None
    if series is not None and len(series):
        band = series[(series.scope == "in band") & (series.measure == "p_top1_change")]
        if len(band):
            r = band.iloc[0]
            return (
                f"CIFAR-10 CNN depth {r.deeper} minus depth {r.shallower}, P(top-1 change): "
                f"{r.difference:+.3f} [{r.low:+.3f}, {r.high:+.3f}]"
            )
    d = tidy_frame(read("03_depth_controls")["differences"]).iloc[0]
    return (
        f"{model_name(d.deeper)} minus {model_name(d.shallower)}, P(top-1 change) ({d.comparison}): "
        f"{d.difference:+.3f} [{d.low:+.3f}, {d.high:+.3f}]"
    )
