"""What we found, written from the numbers each figure shows (its sidecar's `values`), never typed by hand.

One function per figure turns the sidecar into a sentence; `notebook_findings` adds the paper's claim and a
verdict (reproduced / not reproduced / not testable offline) for a notebook's closing cell, in any
profile; `update_readme` rewrites the README's generated sections (the gallery and the paper-vs-ours
tables) from the committed sidecars, and a test fails when the README and the sidecars disagree.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from invariance.claims import framing
from invariance.claims.remedies import display_name as variant_name
from invariance.claims.typicality import rho_text
from invariance.core import files, paths
from invariance.report import benchreport, reruns
from invariance.sources import paper

Values = Any  # a sidecar's "values": dicts and lists of row records


def sidecar_values(name: str, folder: Path | None = None) -> Values:
    """The values a figure shows, read from <folder>/<name>.json (default: the committed figures/)."""
    folder = folder or paths.figures_dir("default")
    path = folder / f"{name}.json"
    values = json.loads(path.read_text()).get("values")
    if values is None:
        raise ValueError(f"{path} holds no values: rerun its notebook (`make figures`)")
    return values


def _t(values: Values) -> pd.DataFrame:
    return pd.DataFrame(values)


def _ci(row: Any, digits: int = 3) -> str:
    return f"{row['value']:.{digits}f} [{row['ci_low']:.{digits}f}, {row['ci_high']:.{digits}f}]"


def _pct(x: float, digits: int = 1) -> str:
    return f"{100 * x:.{digits}f}%"


def _range(xs: pd.Series, digits: int = 2) -> str:
    lo, hi = float(xs.min()), float(xs.max())
    return (
        f"{lo:.{digits}f}" if f"{lo:.{digits}f}" == f"{hi:.{digits}f}" else f"{lo:.{digits}f}-{hi:.{digits}f}"
    )


def _name(model: str) -> str:
    return model.replace("lite", "Lite") if model.startswith("lite") else model


# --- one sentence per figure ------------------------------------------------------------------------------


def f01_jagged(v: Values) -> str:
    t, g = v["translation"], v["scale"]
    sh = {k: pd.DataFrame(x["shares"]).set_index("threshold") for k, x in (("t", t), ("g", g))}

    def share(k: str, th: float) -> str:
        r = sh[k].loc[th]
        return f"{_pct(r.share)} [{_pct(r.ci_low)}, {_pct(r.ci_high)}]"

    clips = "; ".join(
        f"{c['clip']} ({c['reference'].split(',')[0]}): top-1 changes in {c['top1_changes']} of {c['steps']} "
        f"frame steps (largest change {c['largest_change']:.2f}, frames {c['largest_step']} -> "
        f"{c['largest_step'] + 1})"
        for c in v["clips"]
    )
    n = int(sh["t"].images.iloc[0])
    return (
        f"Figure 1 on real data, picks by a stated rule over {n:,} images (of those reaching P(correct) "
        "0.5 on "
        "the path, the largest one-pixel change of P(correct)): "
        f"{t['image'].split('_', 1)[1].replace('_', ' ')}"
        f", largest one-pixel change {t['largest_change']:.2f} under vertical shift; "
        f"{g['image'].split('_', 1)[1].replace('_', ' ')}, {g['largest_change']:.2f} under growth. A "
        "one-pixel "
        f"change >= 0.3 in {share('t', 0.3)} of images (shift) and {share('g', 0.3)} (growth), >= 0.5 in "
        f"{share('t', 0.5)} and {share('g', 0.5)} (95% Wilson CIs). Real video (DAVIS 2016): {clips}."
    )


def f01_context(v: Values) -> str:
    k, lo = v["kuvasz"], v["lotion"]
    return (
        f"The picks in context (share of images with at least a given one-pixel change) and the paper's own "
        f"images on the same paths: the kuvasz's largest one-pixel change is {k['largest_change']:.2f} "
        f"(P(correct) {k['p_true_range'][0]:.2f}-{k['p_true_range'][1]:.2f}); the lotion is never recognised "
        f"(P(correct) <= {lo['p_true_range'][1]:.2f}; largest change {lo['largest_change']:.2f})."
    )


def _sentence_start(text: str) -> str:
    """text with its first letter upper-case, the rest as written ("crop and inpaint" -> "Crop and ...")."""
    return text[:1].upper() + text[1:]


def f02_protocols(v: Values) -> str:
    t = _t(v).set_index("protocol")
    parts = ", ".join(f"{p} {_pct(r.pixels_changed, 0)}" for p, r in t.iterrows())
    almost_all = [p for p, r in t.iterrows() if r.pixels_changed >= 0.9]
    return (
        f"The five protocols' frame pairs, with the paper's names beside ours. Share of pixels that change "
        f"within the pair: {parts}. "
        + (
            f"{_sentence_start(' and '.join(almost_all))} change{'s' if len(almost_all) == 1 else ''} almost "
            "every pixel a little; the large differences sit at "
            "the object's edges."
            if almost_all
            else "The large differences sit at the object's edges."
        )
    )


def f03_maps(v: Values) -> str:
    t = _t(v).set_index("model")
    parts = ", ".join(
        f"{_name(m)} {r.jaggedness:.3f} [{r.ci_low:.3f}, {r.ci_high:.3f}]" for m, r in t.iterrows()
    )
    return (
        f"Jaggedness (share of one-pixel steps with a top-1 change, {int(t.images.iloc[0])} images): "
        f"{parts}. "
        f'Verdict on "deeper is more jagged": {verdict_depth(v)}.'
    )


def verdict_depth(v: Values) -> str:
    t = _t(v).set_index("model")
    first, last = t.iloc[0], t.iloc[-1]
    if last.ci_low > first.ci_high:
        return f"reproduced ({_name(t.index[-1])} above {_name(t.index[0])}, CIs apart)"
    if last.ci_high < first.ci_low:
        return f"reversed ({_name(t.index[-1])} below {_name(t.index[0])}, CIs apart)"
    if last.jaggedness > first.jaggedness:
        way = f"the paper's way: {_name(t.index[-1])} above {_name(t.index[0])}"
    elif last.jaggedness < first.jaggedness:
        way = f"the other way: {_name(t.index[-1])} below {_name(t.index[0])}"
    else:
        way = f"nowhere: {_name(t.index[-1])} and {_name(t.index[0])} equal"
    return f"not reproduced (the CIs overlap; point estimates {way})"


def f04_table(v: Values) -> str:
    t = _t(v)
    p = t[t.metric == "p_top1_change"]
    acc = t[t.metric == "accuracy"]

    def rng(cond: str, frame: pd.DataFrame = p) -> str:
        return _range(frame[frame.condition == cond].value)

    emb = acc[acc.condition != "crop"]
    return (
        f"P(top-1 change), {int(t.images.iloc[0])} images x {int(t.pairs.iloc[0] / t.images.iloc[0])} pairs: "
        f"crop {rng('crop')}, black translation {rng('black')}, mean grey {rng('mean')}, inpainted "
        f"{rng('inpaint')}, scale {rng('scale')}; embedding also costs accuracy ({rng('crop', acc)} crop vs "
        f"{_range(emb.value)} embedded)."
    )


def f05_sweep(v: Values) -> str:
    t = _t(v)
    t = t[t.metric == "p_top1_change"]
    crop = t[t.variant == "crop"].set_index("scale").value
    sbr = t[t.variant == "crop shift-before-rescale"].set_index("scale").value
    emb = t[t.variant == "embed black"].set_index("scale").value
    small = crop.index.min()
    return (
        f"{_name(t.model.iloc[0])}, {int(t.images.iloc[0])} images: P(top-1 change) for crops s >= 0.4 "
        f"{_range(crop[crop.index >= 0.4])} (shift-before-rescale {_range(sbr[sbr.index >= 0.4])}), for tiny "
        f"crops (s = {small:g}) {crop[small]:.3f} (shift-before-rescale {sbr[small]:.3f}), for embeddings on "
        f"black {_range(emb)} (largest at 224/{emb.idxmax():g} px: {emb.max():.2f}): the official code's U "
        "shape, with wide CIs at this n."
    )


def f06_bias(v: Values) -> str:
    t = _t(v["sets"]).set_index("set")
    allc, terr = t.loc["val boxes, all classes"], t.loc["val boxes, Tibetan terrier"]
    aug = t.iloc[-1]
    return (
        f"Photographer's bias in {int(allc.n):,} real val boxes: {_pct(allc.central_third, 0)} of centres in "
        f"the central ninth of the image (uniform: 11%), Tibetan terriers {_pct(terr.central_third, 0)} "
        f"(n = {int(terr.n)}); after random-resized-crop + flip {_pct(aug.central_third, 0)} of the centres "
        f"that stay in the crop ({_pct(v['share_leaving_crop'], 0)} leave it)."
    )


def _zone_means(v: Values, metric: str) -> pd.DataFrame:
    """Per object size (index: side), the mean of a metric over the grid's corner cells and inner cells."""
    t = _t(v)
    t = t[t.metric == metric]
    n = int(t.row.max()) + 1
    inner = t.row.between(1, n - 2) & t.col.between(1, n - 2)
    corner = t.row.isin([0, n - 1]) & t.col.isin([0, n - 1])
    return pd.DataFrame(
        {"corner": t[corner].groupby("side").value.mean(), "inner": t[inner].groupby("side").value.mean()}
    )


def f06_placement(v: Values) -> str:
    t = _t(v)
    p, acc = _zone_means(v, "p_top1_change"), _zone_means(v, "accuracy")
    per_size = "; ".join(
        f"{side} px {r.corner:.2f} vs {r.inner:.2f} (accuracy {acc.loc[side, 'corner']:.2f} vs "
        f"{acc.loc[side, 'inner']:.2f})"
        for side, r in p.iterrows()
    )
    corners_worse = bool((p.corner > p.inner).all())
    small_worse = p.inner.iloc[0] > p.inner.iloc[-1]
    pattern = {
        (True, True): "corners change more at every size, and small objects more than large ones",
        (True, False): "corners change more at every size; small objects do not change more than large ones",
        (False, True): "small objects change more than large ones; corners do not change more at every size",
        (False, False): "neither corners nor small objects change more throughout",
    }[(corners_worse, small_worse)]
    return (
        f"{_name(t.model.iloc[0])}, {int(t.images.iloc[0])} images per placement: P(top-1 change) in the "
        f"corner cells vs the inner cells, per object size: {per_size}. Point estimates: {pattern} (inner "
        f"cells {p.inner.iloc[0]:.2f} at {p.index[0]} px vs {p.inner.iloc[-1]:.2f} at {p.index[-1]} px)."
    )


def f07_toy(v: Values) -> str:
    t = _t(v).set_index("variant")
    ranges = [c for c in t.columns if c.startswith(("min over", "max over"))]

    def spread(variant: str, fmt: str) -> str:
        text = format(t.loc[variant, "max - min over shifts"], fmt)
        if ranges:
            lo, hi = t.loc[variant, ranges[0]], t.loc[variant, ranges[1]]
            text += f" ({format(lo, fmt)} to {format(hi, fmt)})"
        return text

    largest = t.loc["linear, band-limited input", ranges[1] if ranges else "max - min over shifts"]
    rounding = ": float64 rounding" if largest < 1e-12 else ""
    over = (
        f" (the plotted signal; in brackets the range over {ranges[0].split()[2]} random signals)"
        if ranges
        else ""
    )
    return (
        f"Synthetic 1-D toy{over}: the globally pooled output of conv -> subsample is exactly invariant to "
        f"sub-pixel shifts for a band-limited input (spread {spread('linear, band-limited input', '.1e')}"
        f"{rounding}; after a ReLU the same input gives {spread('ReLU, band-limited input', '.3f')}), "
        "while a broadband input is not invariant even without a ReLU "
        f"({spread('linear, broadband input', '.2f')}; {spread('ReLU, broadband input', '.2f')} after a "
        "ReLU); a blur before subsampling cuts the broadband ReLU case to "
        f"{spread('ReLU + blur before subsampling', '.2f')}."
    )


def _exact_at_multiples(t: pd.DataFrame) -> pd.Series:
    """Per network (periodicity summary indexed by model): is its largest logit change at multiples of the
    stride at least 1000x below its smallest change elsewhere (rounding, against real change)?"""
    return t.iloc[:, 0] < 1e-3 * t.iloc[:, 1]


def f07_periodicity(v: Values) -> str:
    t = _t(v).set_index("model")
    at, other = t.columns[0], t.columns[1]
    exact = _exact_at_multiples(t)
    parts = []
    for m, r in t.iterrows():
        seeds = int(r.get("init seeds", 0))
        name = f"{m}, worst of {seeds} init seeds" if seeds > 1 else m
        note = "" if exact[m] else " (not exact at multiples either)"
        parts.append(f"{name}: {r[at]:.1e} at multiples, >= {r[other]:.2g} elsewhere{note}")
    return (
        "Circular padding, circular shifts, max |logit change| over images and classes (values at the "
        f"rounding level differ from machine to machine): {'; '.join(parts)}."
    )


def f07_stages(v: Values) -> str:
    t = _t(v)
    parts = []
    for model, g in t.groupby("model", sort=False):
        g = g.sort_values("stride")
        first, last = g.iloc[0], g.iloc[-1]
        seeds = int(last.get("seeds", 1))
        name = _name(model)
        if seeds > 1:  # "resnet50 (untrained)" -> "resnet50 (untrained, 3 init seeds)"
            name = (
                f"{name[:-1]}, {seeds} init seeds)" if name.endswith(")") else f"{name} ({seeds} init seeds)"
            )
        parts.append(
            f"{name} {first.change:.3f} (stride {first.stride}) -> {last.change:.3f} "
            f"[{last.ci_low:.3f}, {last.ci_high:.3f}]"
        )
    return (
        "Globally pooled stage features under one-pixel shifts, relative change from the first to the last "
        f"stage (95% CI; for untrained networks over init seeds and images): {', '.join(parts)}."
    )


def _typicality_signs(t: pd.DataFrame) -> str:
    """Which networks' Spearman CIs exclude 0, against the sign the paper predicts (negative)."""
    if "spearman_low" not in t:  # sidecars from before the CI
        return ""
    firsts = [(model, g.iloc[0]) for model, g in t.groupby("model", sort=False)]
    firsts = [(m, r) for m, r in firsts if pd.notna(r.spearman_low)]
    if not firsts:
        return ""
    neg = [_name(m) for m, r in firsts if r.spearman_high < 0]
    pos = [_name(m) for m, r in firsts if r.spearman_low > 0]
    clauses = [f"significantly negative, as predicted, for {', '.join(neg)}"] if neg else []
    clauses += [f"significantly positive, the other way, for {', '.join(pos)}"] if pos else []
    if len(neg) + len(pos) < len(firsts):
        clauses.append("the CIs of the others include 0" if clauses else "no CI excludes 0")
    return (
        " The paper predicts a negative correlation (more typical, fewer changes): "
        + "; ".join(clauses)
        + "."
    )


def f08_typicality(v: Values) -> str:
    t = _t(v)
    parts = []
    for model, g in t.groupby("model", sort=False):
        g = g.sort_values("bin")
        parts.append(
            f"{_name(model)} Spearman {rho_text(g.iloc[0])}, least vs most typical quartile "
            f"{g.p_top1_change.iloc[0]:.2f} vs {g.p_top1_change.iloc[-1]:.2f}"
        )
    signs = _typicality_signs(t)
    return (
        "Claim 3 with a substitute typicality (network features of the embedded frame vs its nearest sample "
        f"photos of other classes): {'; '.join(parts)}.{signs} The measure is weak (a frame near many "
        "photos of other classes may simply look like many classes), so this tests the substitute, not the "
        "paper's perceptual typicality."
    )


def _framing(v: Values, stratifier: str) -> str:
    c = _t(v["correlations"])
    c = c[c.stratifier == stratifier]
    parts = []
    for model, g in c.groupby("model", sort=False):
        g = g.set_index("protocol")
        parts.append(
            f"{_name(model)} "
            + " / ".join(f"{r.rho:+.2f} [{r.low:+.2f}, {r.high:+.2f}]" for _, r in g.iterrows())
        )
    return "; ".join(parts)


def f08_framing(v: Values) -> str:
    o = _t(v["overall"])
    protocols = list(dict.fromkeys(o.protocol))
    acc = o[(o.metric == "accuracy") & (o.protocol == protocols[0])].set_index("model")
    p = o[o.metric == "p_top1_change"].set_index(["model", "protocol"])
    per_model = "; ".join(
        f"{_name(m)} accuracy {acc.loc[m, 'value']:.2f}, P(top-1 change) "
        + " / ".join(f"{p.loc[(m, q), 'value']:.3f}" for q in protocols)
        for m in acc.index
    )
    s = _t(v["summary"])
    size = s[(s.stratifier == "area") & (s.protocol == protocols[0])]
    by_size = "; ".join(
        f"{_name(m)} " + " / ".join(f"{x:.3f}" for x in g.sort_values("bin").p_top1_change)
        for m, g in size.groupby("model", sort=False)
    )
    return (
        f"Real ImageNet val photos at their natural framing ({int(o.images.iloc[0]):,} photos, "
        f"{' / '.join(protocols)} = one-pixel shift of the view / one-pixel zoom): {per_model}. "
        f"P(top-1 change) under {protocols[0]} per object-size quartile, smallest first: {by_size}. "
        "Spearman rank correlation over photos of a photo's P(top-1 change) with "
        f"({' / '.join(protocols)}, 95% CIs) object size: {_framing(v, 'area')}; the typicality of position "
        f"and size (joint density): {_framing(v, 'typicality')}; placement given size, size ranks "
        f"partialled out: {_framing(v, framing.PARTIAL)}. The cases share one set of photos; with at most "
        f"{int(_t(v['overall']).pairs.iloc[0] / o.images.iloc[0])} steps per photo most photos never change, "
        "so a correlation mostly contrasts photos that change with photos that do not."
    )


def f03_depth(v: Values) -> str:
    t = _t(v["table"])
    diffs = _t(v["differences"]).set_index("comparison") if "differences" in v else None
    parts = []
    for name, g in t.groupby("comparison", sort=False):
        g = g.reset_index(drop=True)
        first, last = g.iloc[0], g.iloc[-1]
        text = (
            f"{name} ({int(first.images)} images): {_name(first.model)} {first.p_top1_change:.3f} vs "
            f"{_name(last.model)} {last.p_top1_change:.3f}"
        )
        if diffs is not None and name in diffs.index and pd.notna(diffs.loc[name].get("difference")):
            d = diffs.loc[name]
            text += f", difference {d.difference:+.3f} [{d.low:+.3f}, {d.high:+.3f}]"
        parts.append(f"{text}, {v['verdicts'][name]}")
    return (
        "P(top-1 change) per one-pixel step, shallowest vs deepest network, their difference paired over "
        f'images (95% CI) and the verdict on "deeper is less invariant": {"; ".join(parts)}.'
    )


def _remedies(v: Values) -> pd.DataFrame:
    """09_remedies' table (its sidecar holds {"table", "comparisons"}; older ones the table alone)."""
    return _t(v["table"] if isinstance(v, dict) else v).set_index(["variant", "zone", "metric"])


def _comparisons(v: Values) -> pd.DataFrame:
    return _t(v["comparisons"]).set_index(["comparison", "zone"])


def _held(c: pd.DataFrame) -> str:
    """Remedies comparisons as text: which differences the seeds and images establish, which they do not."""

    def text(rows: pd.DataFrame) -> str:
        return "; ".join(
            f"{variant_name(name)} ({zone}) {r.difference:+.3f} [{r.low:+.3f}, {r.high:+.3f}]"
            for (name, zone), r in rows.iterrows()
        )

    held, open_ = c[c.finding.astype(bool)], c[~c.finding.astype(bool)]
    out = (
        f"Differences of P(top-1 change), 95% CIs with seeds and test images as noise; established (Holm-"
        f"adjusted p < 0.05 over all {len(c)}): {text(held) or 'none'}."
    )
    if len(open_):
        out += f" Not resolved by these seeds: {text(open_)}."
    return out


def f09_setup(v: Values) -> str:
    t = _t(v)
    return (
        "The remedies experiment, trained here on the CPU: CIFAR-10 objects (32 px) in a 64 px black "
        "canvas; "
        f"{t.variant.nunique()} variants x {t.seed.nunique()} seeds, {int(t.step.max())} steps of 128; final "
        f"training loss {_range(t.loss)}, batch accuracy {_range(t.accuracy)}."
    )


def f09_remedies(v: Values) -> str:
    t = _remedies(v)
    parts = "; ".join(
        f"{variant_name(variant)} {t.loc[(variant, 'centre', 'p_top1_change'), 'value']:.3f} / "
        f"{t.loc[(variant, 'edge', 'p_top1_change'), 'value']:.3f}"
        for variant in dict.fromkeys(t.index.get_level_values(0))
    )
    acc = t.xs("accuracy", level="metric").value
    seeds = int(t.n_seeds.iloc[0]) if "n_seeds" in t else len(str(t.seeds.iloc[0]).split(" / "))
    held = ""
    if isinstance(v, dict) and "comparisons" in v:
        c = _comparisons(v)
        flips = c[~c.finding.astype(bool)]
        held = (
            f" {int(c.finding.astype(bool).sum())} of {len(c)} differences (variant vs variant per zone, "
            f"edge vs centre per variant) are established with {seeds} seeds (Holm-adjusted p < 0.05, seeds "
            "and test images as noise); "
            + (
                "not resolved: "
                + ", ".join(
                    f"{variant_name(name)} ({zone}) {r.difference:+.3f}"
                    for (name, zone), r in flips.iterrows()
                )
                if len(flips)
                else "all are"
            )
            + "."
        )
    return (
        f"Remedies are partial. P(top-1 change) under one-pixel diagonal shifts, centre (typical) / edge "
        f"(atypical), {int(t.images.iloc[0]):,} test images x {seeds} trained seeds per variant: {parts}. "
        f"Accuracy {_range(acc)} (short training).{held}"
    )


def f09_controlled(v: Values) -> str:
    t = _t(v)
    parts = []
    for variant, g in t.groupby("variant", sort=False):
        g = g.set_index("offset").p_top1_change
        inside, border = g[(g.index >= 12) & (g.index < 20)], g[(g.index <= 1) | (g.index >= 30)]
        parts.append(f"{variant_name(variant)} {inside.mean():.2f} inside vs {_range(border)} at the border")
    base = t[t.variant == t.variant.iloc[0]].set_index("offset")
    middle = base[(base.index >= 4) & (base.index <= 28)]
    on = middle[middle.index % 8 == 0]
    off = middle.drop(on.index)
    text = (
        "P(top-1 change) per diagonal offset, inside the photographer's 1-sigma range (offsets 12-19) vs the "
        f"canvas border (offsets 0-1, 30-31): {'; '.join(parts)}. At offsets that are multiples of the total "
        f"stride 8 ({', '.join(str(o) for o in on.index)}; every variant that subsamples has it), the "
        f"{variant_name(t.variant.iloc[0])} network changes {on.p_top1_change.mean():.2f} on average vs "
        f"{off.p_top1_change.mean():.2f} at the other offsets from 4 to 28 ({_range(on.p_top1_change)} vs "
        f"{_range(off.p_top1_change)})"
    )
    if "p_top1_change_low" in t:
        half = float(((middle.p_top1_change_high - middle.p_top1_change_low) / 2).median())
        text += f"; each offset's CI is about +/-{half:.2f}, and this difference is not tested"
    return text + "."


def f09_size(v: Values) -> str:
    t = _t(v)
    parts = []
    for variant, g in t.groupby("variant", sort=False):
        g = g.set_index("size")
        parts.append(
            f"{variant_name(variant)} accuracy {_range(g.accuracy)} (best at {g.accuracy.idxmax()} px), "
            "P(top-1 change) "
            + " / ".join(
                f"{g.p_top1_change[s]:.2f}" for s in (g.index.min(), 32, g.index.max()) if s in g.index
            )
            + f" at {g.index.min()} / 32 / {g.index.max()} px"
        )
    text = f"Object size against the training size (32 px): {'; '.join(parts)}."
    largest = int(t["size"].max())
    at = t.set_index(["variant", "size"])
    both = [v for v in dict.fromkeys(t.variant) if (v, 32) in at.index and (v, largest) in at.index]
    if both and largest > 32 and "p_top1_change_low" in t:
        lower = [
            variant_name(v)
            for v in both
            if at.loc[(v, largest), "p_top1_change_high"] < at.loc[(v, 32), "p_top1_change_low"]
        ]
        below = sum(at.loc[(v, largest), "p_top1_change"] < at.loc[(v, 32), "p_top1_change"] for v in both)
        text += (
            f" P(top-1 change) at {largest} px is below its value at the training size (CIs apart) for "
            f"{', '.join(lower)} ({len(lower)} of {len(both)} variants): larger objects change "
            "less even past the size the networks were trained on, not what a typicality account "
            "predicts (the fewest changes at the typical size)."
            if lower
            else f" P(top-1 change) at {largest} px vs 32 px: the CIs overlap for every variant (point "
            f"estimates lower at {largest} px for {below} of {len(both)})."
        )
    return text


FIGURES: dict[str, Callable[[Values], str]] = {
    "01_jagged_examples": f01_jagged,
    "01_jumps_in_context": f01_context,
    "02_protocols": f02_protocols,
    "03_jaggedness_maps": f03_maps,
    "03_depth_controls": f03_depth,
    "04_protocol_table": f04_table,
    "05_crop_rescale_sweep": f05_sweep,
    "06_photographers_bias": f06_bias,
    "06_placement_invariance": f06_placement,
    "07_sampling_toy": f07_toy,
    "07_total_stride_periodicity": f07_periodicity,
    "07_stagewise_invariance": f07_stages,
    "08_real_framing": f08_framing,
    "08_typicality": f08_typicality,
    "09_remedies_setup": f09_setup,
    "09_remedies": f09_remedies,
    "09_typicality_controlled": f09_controlled,
    "09_typicality_size": f09_size,
}


# --- the paper's claims and our verdicts, per notebook ----------------------------------------------------


@dataclass(frozen=True)
class Claim:
    text: str
    verdict: Callable[[Callable[[str], Values]], str]  # given a sidecar reader, the verdict with its reason


def _v01(read) -> str:
    v = read("01_jagged_examples")
    big = max(
        s["share"] for x in (v["translation"], v["scale"]) for s in x["shares"] if s["threshold"] == 0.3
    )
    flips = sum(c["top1_changes"] for c in v["clips"])
    if big > 0 and flips > 0:
        return (
            "**reproduced, but rare**: one-pixel changes of P(correct) >= 0.3 occur, in a few percent "
            "of images "
            "on these paths, and video frames flip the top-1; the paper's near-certainty-to-near-zero drops "
            "are not seen here"
        )
    return "**not reproduced** on these paths"


def _v04(read) -> str:
    t = _t(read("04_protocol_table"))
    p = t[t.metric == "p_top1_change"].set_index(["model", "condition"])
    apart = all(p.loc[(m, "crop"), "ci_high"] < p.loc[(m, "mean"), "ci_low"] for m in p.index.levels[0])
    return (
        "**reproduced**: embedded translation changes the top-1 far more often than crop, CIs apart for "
        "every "
        "network; magnitudes are close to the paper's (other networks)"
        if apart
        else "**not reproduced**: crop and embedded translation CIs overlap"
    )


def _v06(read) -> str:
    t = _t(read("06_photographers_bias")["sets"]).set_index("set")
    return (
        "**reproduced** for the bias itself (centres concentrate in the middle); the link to invariance is "
        "confounded here by accuracy, which falls for small corner embeddings"
        if t.loc["val boxes, all classes", "central_third"] > 2 / 9
        else "**not reproduced**"
    )


def _v07(read) -> str:
    toy = _t(read("07_sampling_toy")).set_index("variant")
    worst = [c for c in toy.columns if c.startswith("max over")] or ["max - min over shifts"]
    best = [c for c in toy.columns if c.startswith("min over")] or ["max - min over shifts"]
    # exact for every random signal when linear and band-limited, broken for every one after a ReLU
    ok = toy.loc["linear, band-limited input", worst[0]] < 1e-9 < toy.loc["ReLU, band-limited input", best[0]]
    if not ok:
        return "**not reproduced** in the toy"
    text = (
        "**reproduced**: exact invariance needs band-limited input and a linear path; a ReLU or a broadband "
        "input breaks it"
    )
    try:
        exact = _exact_at_multiples(_t(read("07_total_stride_periodicity")).set_index("model"))
    except FileNotFoundError:
        return text
    yes, no = list(exact.index[exact]), list(exact.index[~exact])
    if yes:
        text += f"; only shifts by multiples of the total stride are exact ({', '.join(yes)})"
    if no:
        text += f"; not even those for {', '.join(no)} (see the note under (b))"
    return text


def _v03(read) -> str:
    maps = verdict_depth(read("03_jaggedness_maps"))
    try:
        controls = read("03_depth_controls")["verdicts"]
    except FileNotFoundError:
        return f"on the maps, {maps}"
    kinds = set(controls.values())
    summary = ", ".join(f"{name}: {verdict}" for name, verdict in controls.items())
    kinds -= {"no images"}
    if not kinds or kinds == {"needs two networks"}:
        return f"no verdict: the controls need two networks; on the maps, {maps}"
    if kinds == {"reproduced"}:
        head = "**reproduced under every control**"
    elif "reproduced" in kinds:
        head = "**depends on the comparison**"
    elif kinds == {"reversed"}:
        head = "**reversed under every control**"
    else:
        head = "**not established under the controls**"
    return f"{head} (deepest minus shallowest network, paired 95% CIs; {summary}); on the maps, {maps}"


def _v08(read) -> str:
    c = _t(read("08_real_framing")["correlations"])
    typ, size, place, part = (
        c[c.stratifier == k] for k in ("typicality", "area", "placement", framing.PARTIAL)
    )
    cases = len(typ)
    if typ.rho.isna().all():
        return "no verdict: no top-1 change in these runs to correlate with typicality"
    below = {
        name: int((t.high < 0).sum())
        for name, t in (("typ", typ), ("size", size), ("place", place), ("part", part))
    }
    width = float((part.high - part.low).max() / 2)
    placement = (
        f"placement given size: rank correlation below 0 in {below['place']} of {cases} network x protocol "
        f"cases, but it too goes with size; with the ranks of size partialled out, below 0 in "
        f"{below['part']} "
        f"of {cases}"
        + (f" (no detectable effect; CIs about +-{width:.2f})" if below["part"] == 0 else "")
        + " (a partial rank correlation removes a monotone size trend only)"
    )
    if below["part"] == cases:
        head = "**reproduced on real framing**: an atypically placed object costs stability beyond its size"
    elif below["typ"] and not below["part"]:
        head = (
            "**not separable from object size on real framing**: photos whose object is typical in position "
            f"and size change their top-1 less often (CI below 0 in {below['typ']} of {cases} cases), but so "
            f"do photos with larger objects ({below['size']} of {cases}), and the joint typicality mostly "
            "measures size"
        )
    elif below["typ"] or below["part"]:
        head = "**partly reproduced on real framing** (see the cases)"
    else:
        head = f"**not reproduced on real framing**: no rank correlation CI below 0 in {cases} cases"
    return (
        f"{head}; {placement}. The cases share one set of photos, so they are not independent confirmations; "
        "the feature-similarity measure (weaker) is reported beside it"
    )


def _v09(read) -> str:
    v = read("09_remedies")
    t = _remedies(v)
    blur = t.loc[("blurpool", "centre", "p_top1_change")]
    if isinstance(v, dict) and "comparisons" in v:  # judged on the difference, training noise included
        c = _comparisons(v).reset_index()
        pair = c[
            c.comparison.isin(["blurpool - photographer", "photographer - blurpool"]) & (c.zone == "centre")
        ]
        d = pair.iloc[0]
        sign = -1 if d.comparison.startswith("photographer") else 1  # blurpool minus photographer
        helps = bool(d.finding) and sign * d.difference < 0
    else:
        base = t.loc[("photographer", "centre", "p_top1_change")]
        helps = blur.ci_high < base.ci_low
    if helps and blur.value > 0.05:
        return (
            "**reproduced (partial remedies)**: BlurPool lowers P(top-1 change) at typical positions "
            "(established over seeds and test images) but does not remove it; which other differences "
            "these seeds establish is listed above"
        )
    return (
        "**not established** with these networks and seeds: BlurPool's effect at typical positions is not "
        "resolved, or it removes the changes"
    )


CLAIMS: dict[str, Claim] = {
    "01": Claim("A one-pixel shift or growth, or a natural video frame step, can change the output.", _v01),
    "03": Claim("Deeper networks are more jagged (less invariant).", _v03),
    "04": Claim("Modern CNNs change their top-1 on a large share of one-pixel translations (Table 1).", _v04),
    "06": Claim("The photographer's bias: objects are centred, so other positions are atypical.", _v06),
    "07": Claim(
        "Subsampling ignores the sampling theorem: invariance only at multiples of the stride.", _v07
    ),
    "08": Claim("Invariance holds only for images typical of the training set.", _v08),
    "09": Claim("Antialiasing and data augmentation are only partial remedies.", _v09),
}


# what a figure's sentence raises when a small profile's run lacks a condition it describes
_MISSING = (KeyError, IndexError, ValueError, TypeError, AttributeError)


def notebook_findings(notebook: str, profile: str) -> str:
    """Markdown for a notebook's closing cell: what each of its figures shows (from the sidecars this run
    wrote) and, where the paper makes a testable claim, the claim and our verdict."""
    folder = paths.figures_dir(profile)
    prefix = notebook[:2]

    def read(name: str) -> Values:
        return sidecar_values(name, folder)

    lines = [f"*{profile} profile; from the figure sidecars this run wrote.*", ""]
    for name, sentence in FIGURES.items():
        if name.startswith(prefix) and (folder / f"{name}.json").exists():
            try:
                lines.append(f"- **{name}**: {sentence(read(name))}")
            except _MISSING as e:  # a small profile lacks a condition
                lines.append(f"- **{name}**: (no summary in this profile: its run lacks {e})")
    claim = CLAIMS.get(prefix)
    if claim:
        try:
            verdict = claim.verdict(read)
        except _MISSING as e:
            verdict = f"(no verdict in this profile: its run lacks {e})"
        lines += ["", f"**The paper's claim**: {claim.text}", "", f"**Verdict**: {verdict}."]
    if profile == "smoke":
        lines += [
            "",
            "*Smoke profile: a few images and barely trained networks; the numbers test the code only.*",
        ]
    return "\n".join(lines)


def show(notebook: str, profile: str):
    """notebook_findings() as displayed Markdown (the last line of a notebook)."""
    from IPython.display import Markdown

    return Markdown(notebook_findings(notebook, profile))


# --- the README's generated sections ----------------------------------------------------------------------


def gallery(folder: Path | None = None) -> str:
    """The README's figure table, one row per figure, sentences from the sidecars."""
    rows = [
        "| figure | finding (our numbers, from the figure's sidecar) | notebook (executed copy) |",
        "| --- | --- | --- |",
    ]
    for name, sentence in FIGURES.items():
        nb = next(p.stem for p in (paths.project_root() / "notebooks").glob(f"{name[:2]}_*.ipynb"))
        rows.append(
            f"| ![](figures/{name}.png) | {sentence(sidecar_values(name, folder))} | "
            f"[`{nb}`](notebooks/executed/{nb}.ipynb) |"
        )
    return "\n".join(rows)


def table1(folder: Path | None = None) -> str:
    """Paper's Table 1 (PyTorch, Keras in parentheses) beside ours (95% CIs), from 04's sidecar."""
    ours = _t(sidecar_values("04_protocol_table", folder)).set_index(["model", "condition", "metric"])
    models = list(dict.fromkeys(ours.index.get_level_values(0)))
    ref = paper.TABLE1.set_index(["model", "protocol", "metric"])
    refs = list(dict.fromkeys(paper.TABLE1.model))
    names = paper.MODEL_NAMES
    head = " | ".join([f"{names.get(m, m)} (paper)" for m in refs] + [f"{_name(m)} (ours)" for m in models])
    rows = [f"| | {head} |", "| --- " * (1 + len(refs) + len(models)) + "|"]
    for metric, label in (("p_top1_change", "P(top-1 change)"), ("mac", "MAC")):
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
            cells += [_ci(ours.loc[(m, cond, metric)]) for m in models]
            rows.append(f"| {label}, {cname} | " + " | ".join(cells) + " |")
    p = ours.xs("p_top1_change", level="metric").value
    crop, emb = p.xs("crop", level="condition"), p.xs("mean", level="condition")
    paper_p = ref.xs("p_top1_change", level="metric").pytorch
    rows += [
        "",
        f"Magnitudes: ours crop {_range(crop)} and embedded translation (mean grey, as the official code ran "
        f"it) {_range(emb)}; the paper's {_range(paper_p.xs('crop', level='protocol'))} and "
        f"{_range(paper_p.xs('black', level='protocol'))}.",
    ]
    return "\n".join(rows)


def remedies_table(folder: Path | None = None) -> str:
    """The remedies table (P(top-1 change) with CIs, MAC and accuracy, centre / edge), from 09's sidecar."""
    t = _remedies(sidecar_values("09_remedies", folder))
    labels = {
        "photographer": "photographer placement, stride-2 convs",
        "uniform": "uniform placement (more augmentation)",
        "blurpool": "BlurPool before every subsampling",
        "uniform+blurpool": "both",
    }
    rows = [
        "| variant | P(top-1 change) centre | P(top-1 change) edge | MAC centre / edge "
        "| accuracy centre / edge |",
        "| --- | --- | --- | --- | --- |",
    ]
    for variant in dict.fromkeys(t.index.get_level_values(0)):

        def cell(zone: str, metric: str, digits: int = 3, variant: str = variant) -> str:
            return f"{t.loc[(variant, zone, metric), 'value']:.{digits}f}"

        rows.append(
            f"| {labels.get(variant, variant)} | {_ci(t.loc[(variant, 'centre', 'p_top1_change')])} | "
            f"{_ci(t.loc[(variant, 'edge', 'p_top1_change')])} | {cell('centre', 'mac')} / "
            f"{cell('edge', 'mac')} | "
            f"{cell('centre', 'accuracy', 2)} / {cell('edge', 'accuracy', 2)} |"
        )
    v = sidecar_values("09_remedies", folder)
    seeds = t.seeds.str.split(" / ", expand=True).astype(float)
    spread = float((seeds.max(axis=1) - seeds.min(axis=1)).max())
    both = t.loc[("uniform+blurpool", slice(None), "p_top1_change"), "value"]
    acc = t.xs("accuracy", level="metric").value
    rows += [
        "",
        f"CIs: 95%, over the {seeds.shape[1]} trained seeds (t interval of the per-seed means) and the test "
        f"images, combined (metrics.seed_image_ci; training noise included). Per-seed values lie within "
        f"{spread:.3f} of each other; both remedies together still change {_range(both * 100, 0)}% of "
        f"one-pixel steps; accuracy {_range(acc)} (short training).",
    ]
    if isinstance(v, dict) and "comparisons" in v:
        rows += ["", _held(_comparisons(v))]
    return "\n".join(rows)


SECTIONS: dict[str, Callable[[Path | None], str]] = {
    "gallery": gallery,
    "table1": table1,
    "remedies": remedies_table,
    "speed": benchreport.readme_section,
    "side-by-side": benchreport.side_by_side_section,
    "bitwise": benchreport.bitwise_section,
    "make-figures": benchreport.make_figures_section,
    "reruns": reruns.readme_section,
}


def _block(name: str) -> re.Pattern:
    return re.compile(rf"(<!-- generated: {name} .*?-->\n)(.*?)(<!-- end generated: {name} -->)", re.S)


def render_readme(text: str, folder: Path | None = None) -> str:
    """text with every generated section rewritten from the sidecars in folder (default: figures/)."""
    for name, make in SECTIONS.items():
        pattern = _block(name)
        if not pattern.search(text):
            raise ValueError(
                f"README has no generated section {name!r} (markers <!-- generated: {name} ... -->)"
            )
        body = make(folder)
        text = pattern.sub(lambda m, body=body: m.group(1) + body + "\n" + m.group(3), text)
    return text


def update_readme(readme: Path | None = None, folder: Path | None = None) -> bool:
    """Rewrite the README's generated sections from the sidecars; returns whether anything changed."""
    readme = readme or paths.project_root() / "README.md"
    old = readme.read_text()
    new = render_readme(old, folder)
    if new != old:
        files.atomic_write_text(readme, new)
    return new != old
