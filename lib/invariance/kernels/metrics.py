"""Metrics of (in)variance, and pure reshapes of the runner's tables. No network runs here.

For a pair (x1, x2): P(top-1 change) = mean[argmax p1 != argmax p2]; MAC = mean |p1[k] - p2[k]| with
k = argmax p1 (the first frame's top class, not the label), as in the official code.

Each metric is defined once, per pair, by the functions `top1_changed`, `abs_change` and `correct`; the
array versions (probability inputs (N, C), NumPy or torch) and the table versions (`PAIR_METRICS`, on the
runner's per-pair table) both reduce those.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence

import numpy as np
import pandas as pd

log = logging.getLogger(__name__)


def _np(x) -> np.ndarray:
    """torch or NumPy -> NumPy float64/int array."""
    if hasattr(x, "detach"):
        x = x.detach().cpu().numpy()
    return np.asarray(x)


def _pair(p1, p2) -> tuple[np.ndarray, np.ndarray]:
    a, b = _np(p1), _np(p2)
    if a.shape != b.shape or a.ndim != 2:
        raise ValueError(f"expected two (N, C) arrays of one shape, got {a.shape} and {b.shape}")
    return a, b


# --- per pair: the one definition of each metric ------------------------------------------------------


def top1_changed(top1_a, top1_b):
    """1.0 where the top-1 class of frame a differs from frame b's, else 0.0 (arrays or Series (N,))."""
    return (top1_a != top1_b).astype(float)


def abs_change(p_a, p_b):
    """|p_a - p_b| per pair: the change of one class's probability (arrays or Series (N,))."""
    return abs(p_a - p_b)


def correct(top1, label):
    """1.0 where top1 equals the label, else 0.0 (arrays or Series (N,))."""
    return (top1 == label).astype(float)


# --- on probability arrays ------------------------------------------------------------------------------


def p_top1_change(p1, p2) -> float:
    """Fraction of rows whose argmax differs between p1 and p2, both (N, C)."""
    a, b = _pair(p1, p2)
    return float(np.mean(top1_changed(a.argmax(1), b.argmax(1))))


def mean_abs_change(p1, p2) -> float:
    """Mean over rows of |p1[k] - p2[k]|, k = argmax p1; p1, p2 (N, C)."""
    a, b = _pair(p1, p2)
    k = a.argmax(1)
    rows = np.arange(len(a))
    return float(np.mean(abs_change(a[rows, k], b[rows, k])))


def accuracy(p, labels) -> float:
    """Top-1 accuracy of p (N, C) against integer labels (N,)."""
    return float(np.mean(correct(_np(p).argmax(1), _np(labels))))


def jaggedness(path) -> float:
    """Fraction of consecutive steps whose top-1 changes along a path: (K, C) probs or (K,) top-1 classes."""
    p = _np(path)
    top1 = p.argmax(1) if p.ndim == 2 else p
    if len(top1) < 2:
        raise ValueError("a path needs at least two frames")
    return float(np.mean(top1_changed(top1[:-1], top1[1:])))


def consistency(path) -> float:
    """Zhang (2019): probability that two different random frames of a path agree on top-1.

    Computed exactly over all ordered pairs of distinct frames: sum_c n_c (n_c - 1) / (K (K - 1)).
    """
    p = _np(path)
    top1 = p.argmax(1) if p.ndim == 2 else p
    k = len(top1)
    if k < 2:
        raise ValueError("a path needs at least two frames")
    counts = np.unique(top1, return_counts=True)[1].astype(np.float64)
    return float(np.sum(counts * (counts - 1)) / (k * (k - 1)))


def ci_columns(name: str, ci: tuple[float, float, float]) -> dict[str, float]:
    """A (mean, low, high) triple as table columns: {name, name_low, name_high}."""
    mean, low, high = ci
    return {name: mean, f"{name}_low": low, f"{name}_high": high}


def bootstrap_ci(
    values,
    groups,
    *,
    n_boot: int = 2000,
    level: float = 0.95,
    seed: int = 0,
) -> tuple[float, float, float]:
    """Mean of values (N,) and its percentile bootstrap CI, resampling whole groups (images) with
    replacement, because the pairs of one image are correlated. Returns (mean, low, high)."""
    v = _np(values).astype(np.float64)
    codes, _ = pd.factorize(pd.Series(_np(groups)))
    n_groups = codes.max() + 1
    sums = np.bincount(codes, weights=v, minlength=n_groups)
    counts = np.bincount(codes, minlength=n_groups).astype(np.float64)
    rng = np.random.default_rng(seed)
    draws = rng.integers(0, n_groups, size=(n_boot, n_groups))
    # weight of each group in each replicate = how often it was drawn
    weights = np.stack([np.bincount(d, minlength=n_groups) for d in draws]).astype(np.float64)
    boot = (weights @ sums) / (weights @ counts)
    alpha = (1 - level) / 2
    low, high = np.quantile(boot, [alpha, 1 - alpha])
    return float(v.mean()), float(low), float(high)


def _cells(values, seeds, images) -> tuple[np.ndarray, np.ndarray, pd.Index]:
    """Per (seed, image) means of values: (n_seeds, n_images) array (NaN where a seed lacks an image), and
    the seed and image labels. Pairs with a NaN value are left out."""
    t = pd.DataFrame({"v": _np(values).astype(np.float64), "s": _np(seeds), "i": _np(images)}).dropna()
    if t.empty:
        raise ValueError("no values to summarise (empty table, or every value NaN)")
    wide = t.groupby(["s", "i"]).v.mean().unstack("i")
    return wide.to_numpy(), wide.index.to_numpy(), wide.columns


def _t_interval(
    estimate: float, parts: Sequence[tuple[float, int]], level: float
) -> tuple[float, float, float]:
    """estimate +- t * se for a sum of independent variance parts [(variance of the estimate, its degrees of
    freedom)], with the Welch-Satterthwaite degrees of freedom. Also returns the two-sided p-value of 0."""
    from scipy.stats import t as student

    parts = [(v, df) for v, df in parts if df >= 1 and np.isfinite(v)]
    var = float(sum(v for v, _ in parts))
    if var <= 0:
        return estimate, estimate, 0.0 if estimate != 0 else 1.0
    df = var**2 / sum(v**2 / d for v, d in parts)
    half = float(student.ppf(0.5 + level / 2, df)) * np.sqrt(var)
    p = float(2 * student.sf(abs(estimate) / np.sqrt(var), df))
    return estimate - half, estimate + half, p


def seed_image_ci(
    values,
    seeds,
    images,
    *,
    level: float = 0.95,
    with_p: bool = False,
) -> tuple[float, ...]:
    """Mean of per-pair values from several trained networks (seeds) on the same test images, with a CI that
    holds both sources of noise: seed to seed (the spread of the per-seed means, t with n_seeds - 1
    degrees of freedom) and test image to test image (the spread of the seed-averaged per-image means),
    combined with Welch-Satterthwaite degrees of freedom. With 3 seeds the seed part has 2 degrees of
    freedom, so the interval is wide: that is what 3 seeds can say. One seed: training noise is not
    estimated (the image part alone). Clipped to the range of the values. Returns (mean, low, high), and
    the p-value of "mean = 0" with with_p."""
    cells, _, _ = _cells(values, seeds, images)
    per_seed = np.nanmean(cells, axis=1)
    per_image = np.nanmean(cells, axis=0)
    v = _np(values).astype(np.float64)
    mean = float(np.nanmean(v))
    parts = []
    if len(per_seed) > 1:
        parts.append((float(np.var(per_seed, ddof=1)) / len(per_seed), len(per_seed) - 1))
    if len(per_image) > 1:
        parts.append((float(np.var(per_image, ddof=1)) / len(per_image), len(per_image) - 1))
    low, high, p = _t_interval(mean, parts, level)
    low, high = max(low, float(np.nanmin(v))), min(high, float(np.nanmax(v)))
    return (mean, low, high, p) if with_p else (mean, low, high)


def _seed_means(values, seeds, images) -> np.ndarray:
    """Per-seed means over the test images, every seed on every image: (n_seeds,). Raises ValueError when
    some seed lacks an image (the image effects would then leak into the seed spread)."""
    cells, _, _ = _cells(values, seeds, images)
    if np.isnan(cells).any():
        raise ValueError("a rerun interval needs every seed on the same test images; some seed lacks some")
    return cells.mean(axis=1)


def rerun_interval(values, seeds, images, *, level: float = 0.95) -> tuple[float, float]:
    """Where the same mean from a rerun (as many new trainings, on the same test images) should land with
    probability `level`: the prediction interval of a future mean, mean +- t(n_seeds - 1) * s_seed *
    sqrt(2 / n_seeds), s_seed the spread of the per-seed means. The test-image part cancels, the rerun seeing
    the same images; what varies is training (another machine trains other networks from the same seeds).
    This is not the CI of the mean (seed_image_ci), which also holds image-to-image noise: a rerun may land
    inside that more or less often than `level`. A rerun with the same seed numbers starts from the same
    weights and data order, so it is likely closer than an independent one: the interval is conservative.
    With 2 seeds t(1) = 12.7 makes it very wide; seeds that tie give a zero width. (NaN, NaN) with one seed
    (training noise not estimated). Not clipped to the metric's range."""
    per_seed = _seed_means(values, seeds, images)
    if len(per_seed) < 2:
        return float("nan"), float("nan")
    v = _np(values).astype(np.float64)
    mean = float(np.nanmean(v))  # the published value, the pair mean (= the mean of the seed means here)
    n = len(per_seed)
    low, high, _ = _t_interval(mean, [(2 * float(np.var(per_seed, ddof=1)) / n, n - 1)], level)
    return low, high


def difference_rerun_interval(
    a: pd.DataFrame, b: pd.DataFrame, metric: str, *, level: float = 0.95
) -> tuple[float, float]:
    """rerun_interval for the difference mean(a) - mean(b) of a pair metric between two sets of trained
    networks (new trainings for both on a rerun; Welch-Satterthwaite over the two seed parts)."""
    va, vb = PAIR_METRICS[metric](a), PAIR_METRICS[metric](b)
    seed_means = [_seed_means(v, t.seed, t.image_id) for v, t in ((va, a), (vb, b))]
    if min(len(m) for m in seed_means) < 2:
        return float("nan"), float("nan")
    diff = float(np.nanmean(va.to_numpy(np.float64)) - np.nanmean(vb.to_numpy(np.float64)))
    parts = [(2 * float(np.var(m, ddof=1)) / len(m), len(m) - 1) for m in seed_means]
    low, high, _ = _t_interval(diff, parts, level)
    return low, high


def difference_ci(
    a: pd.DataFrame, b: pd.DataFrame, metric: str, *, level: float = 0.95
) -> tuple[float, float, float, float]:
    """Difference of a pair metric between two sets of trained networks, mean(a) - mean(b), on the same
    test images (pair tables with seed and image_id columns; the image sets must match). Seed parts of a
    and b independent (different trainings), image part paired (per image, the seed-averaged difference),
    combined as in seed_image_ci. Returns (difference, low, high, p-value of no difference)."""
    va, vb = PAIR_METRICS[metric](a), PAIR_METRICS[metric](b)
    return values_difference_ci(va, a.seed, a.image_id, vb, b.seed, b.image_id, level=level)


def values_difference_ci(
    values_a, seeds_a, images_a, values_b, seeds_b, images_b, *, level: float = 0.95
) -> tuple[float, float, float, float]:
    """difference_ci for any per-item values (N_a,) and (N_b,) with their seeds and image ids (e.g. a
    per-image gap between two zones of the same networks): mean(a) - mean(b), seed parts independent,
    image part paired; the image sets must match. Returns (difference, low, high, p-value of 0)."""
    if set(_np(images_a).tolist()) != set(_np(images_b).tolist()):
        raise ValueError("difference_ci compares two runs on the same test images; the image sets differ")
    va, vb = _np(values_a).astype(np.float64), _np(values_b).astype(np.float64)
    cells_a, _, ids_a = _cells(va, seeds_a, images_a)
    cells_b, _, ids_b = _cells(vb, seeds_b, images_b)
    per_image = pd.Series(np.nanmean(cells_a, axis=0), ids_a) - pd.Series(np.nanmean(cells_b, axis=0), ids_b)
    diff = float(np.nanmean(va) - np.nanmean(vb))
    parts = []
    for cells in (cells_a, cells_b):
        per_seed = np.nanmean(cells, axis=1)
        if len(per_seed) > 1:
            parts.append((float(np.var(per_seed, ddof=1)) / len(per_seed), len(per_seed) - 1))
    if len(per_image) > 1:
        parts.append((float(np.var(per_image, ddof=1)) / len(per_image), len(per_image) - 1))
    low, high, p = _t_interval(diff, parts, level)
    return diff, low, high, p


def holm(p_values: Sequence[float]) -> np.ndarray:
    """Holm's step-down adjustment of p-values for multiple comparisons (same order as given)."""
    p = np.asarray(p_values, dtype=float)
    order = np.argsort(p)
    adjusted = np.minimum(1.0, np.maximum.accumulate(p[order] * (len(p) - np.arange(len(p)))))
    out = np.empty_like(adjusted)
    out[order] = adjusted
    return out


def wilson_ci(hits: int, n: int, level: float = 0.95) -> tuple[float, float, float]:
    """A share of n independent items and its Wilson score interval: (share, low, high). Unlike a bootstrap,
    it stays informative at 0 or n hits (0 of 1,000 gives [0, 0.0038])."""
    from scipy.stats import norm

    if n < 1:
        return float("nan"), float("nan"), float("nan")
    z = float(norm.ppf(0.5 + level / 2))
    p = hits / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    low = 0.0 if hits == 0 else max(0.0, float(centre - half))  # exact ends: no rounding residue
    high = 1.0 if hits == n else min(1.0, float(centre + half))
    return p, low, high


# --- on the runner's per-pair table -------------------------------------------------------------------

PAIR_METRICS: dict[str, Callable[[pd.DataFrame], pd.Series]] = {
    "p_top1_change": lambda t: top1_changed(t.top1_a, t.top1_b),
    "mac": lambda t: abs_change(t.p_top_a, t.p_top_b),
    "mac_true": lambda t: abs_change(t.p_true_a, t.p_true_b),
    # label < 0: unknown; such pairs count for no label metric (NaN, left out by summarize)
    "accuracy": lambda t: correct(t.top1_a, t.label).where(t.label >= 0),
}


def per_image(table: pd.DataFrame, metric: str = "p_top1_change") -> pd.Series:
    """Mean of a per-pair metric for each image (e.g. the jaggedness of each image's path)."""
    return PAIR_METRICS[metric](table).groupby(table.image_id).mean()


def by_quantile(
    table: pd.DataFrame,
    per_image_value: pd.Series,
    bins: int,
    metrics: Sequence[str] = ("p_top1_change", "mac", "accuracy"),
    n_boot: int = 1000,
    seed: int = 0,
) -> pd.DataFrame:
    """Pair metrics per quantile bin of a per-image value (index image_id), 95% CIs over images.

    Bins hold equal counts of the images that have a value, by rank (bin 0 = lowest; ties split by order);
    an image with no value is left out. One row per bin: bin, from and to (the lowest and highest value in
    it), images, then each metric with _low/_high."""
    value = per_image_value.dropna()
    # equal-count bins by rank (ties broken by order), so every bin exists even when values repeat
    image_bin = pd.Series(
        (value.rank(method="first").to_numpy() - 1) * bins // max(len(value), 1), value.index, dtype=int
    )
    t = table[table.image_id.isin(image_bin.index)]
    t = t.assign(bin=t.image_id.map(image_bin))
    rows = []
    for b, part in t.groupby("bin"):
        in_bin = value[image_bin == b]
        row = {"bin": int(b), "from": in_bin.min(), "to": in_bin.max(), "images": part.image_id.nunique()}
        for name in metrics:
            v = PAIR_METRICS[name](part)
            ok = v.notna()
            row |= ci_columns(name, bootstrap_ci(v[ok], part.image_id[ok], n_boot=n_boot, seed=seed))
        rows.append(row)
    return pd.DataFrame(rows)


def by_first_frame(table: pd.DataFrame, bins: int = 4, n_boot: int = 1000, seed: int = 0) -> pd.DataFrame:
    """P(top-1 change) and the change of the correct class's probability (mac_true) for the pairs split by
    their first frame: correct vs wrong (labelled pairs only), and equal-count quantile bins of the first
    frame's top-1/top-2 probability margin margin_a (bin 0 = nearest a tie; ties split by order). 95% CIs
    over images.

    Near-ties flip easily, and on embedded frames many changes are between two wrong classes: these splits
    say how much of P(top-1 change) survives among clear-cut or correct first frames. One row per part:
    split ("correctness" or "margin"), part ("correct", "wrong", or the bin), from, to (margin_a range of
    the part), pairs, images, then p_top1_change and mac_true with _low/_high."""
    rows = []
    labelled = table[table.label >= 0]
    right = correct(labelled.top1_a, labelled.label).astype(bool)
    order = table.margin_a.rank(method="first").to_numpy() - 1
    margin_bin = (order * bins // max(len(table), 1)).astype(int)
    parts = [("correctness", "correct", labelled[right]), ("correctness", "wrong", labelled[~right])]
    parts += [("margin", int(b), table[margin_bin == b]) for b in range(bins)]
    for split, part, t in parts:
        row = {"split": split, "part": part, "pairs": len(t), "images": int(t.image_id.nunique())}
        row |= {"from": float(t.margin_a.min()), "to": float(t.margin_a.max())} if len(t) else {}
        for name in ("p_top1_change", "mac_true"):
            v = PAIR_METRICS[name](t)
            ok = v.notna()
            mean, lo, hi = (
                bootstrap_ci(v[ok], t.image_id[ok], n_boot=n_boot, seed=seed)
                if ok.any()
                else (float("nan"),) * 3
            )
            row |= {name: mean, f"{name}_low": lo, f"{name}_high": hi}
        rows.append(row)
    return pd.DataFrame(rows)


def _rank_corr(x: np.ndarray, y: np.ndarray, control: np.ndarray | None) -> np.ndarray:
    """Spearman correlation of x and y, row by row of (B, n) arrays (average ranks for ties); with control,
    the partial one: the correlation of the ranks of x and y after a least-squares line in the ranks of
    control is removed from each. NaN where a row has no rank order left. Returns (B,)."""
    from scipy.stats import rankdata

    def centred(a: np.ndarray) -> np.ndarray:
        r = rankdata(a, axis=1)
        return r - r.mean(axis=1, keepdims=True)

    rx, ry = centred(x), centred(y)
    scale = np.sqrt((rx**2).mean(1) * (ry**2).mean(1))  # before partialling: a constant has no order
    if control is not None:
        rc = centred(control)
        var_c = (rc**2).sum(1, keepdims=True)
        var_c[var_c == 0] = np.inf
        rx = rx - (rx * rc).sum(1, keepdims=True) / var_c * rc
        ry = ry - (ry * rc).sum(1, keepdims=True) / var_c * rc
    sx, sy = np.sqrt((rx**2).mean(1)), np.sqrt((ry**2).mean(1))
    with np.errstate(invalid="ignore", divide="ignore"):
        rho = (rx * ry).mean(1) / (sx * sy)
    # no order at all, or all of it explained by the control (residuals of float noise)
    return np.where(
        (scale == 0) | (sx < 1e-9 * np.maximum(scale, 1)) | (sy < 1e-9 * np.maximum(scale, 1)), np.nan, rho
    )


MAX_UNDEFINED_RESAMPLES = 0.05  # spearman_ci: above this share of rank-less resamples, no CI


def spearman_ci(
    x: pd.Series,
    y: pd.Series,
    control: pd.Series | None = None,
    *,
    n_boot: int = 1000,
    level: float = 0.95,
    seed: int = 0,
) -> tuple[float, float, float]:
    """Spearman rank correlation of two per-item series (joined on their index; with control, the partial
    correlation given a third) and its percentile bootstrap CI over items. Returns (rho, low, high)."""
    parts = [x.rename("x"), y.rename("y")] + ([control.rename("c")] if control is not None else [])
    joined = pd.concat(parts, axis=1, join="inner").dropna()
    xs, ys = joined.x.to_numpy(float), joined.y.to_numpy(float)
    cs = joined.c.to_numpy(float) if control is not None else None
    rho = float(_rank_corr(xs[None], ys[None], None if cs is None else cs[None])[0])
    idx = np.random.default_rng(seed).integers(0, len(joined), (n_boot, len(joined)))
    boot = _rank_corr(xs[idx], ys[idx], None if cs is None else cs[idx])
    # A resample in which one series is constant has no rank order (NaN). Leaving such resamples out
    # conditions the interval on the others: acceptable when they are rare, said in the log; when they are
    # not (or all are, e.g. no photo ever changes), the interval would mislead, so it is NaN.
    undefined = int(np.isnan(boot).sum())
    if undefined > MAX_UNDEFINED_RESAMPLES * n_boot:
        log.warning(
            "Spearman CI: %d of %d bootstrap resamples have a constant series (no rank order); CI not given",
            undefined,
            n_boot,
        )
        return rho, float("nan"), float("nan")
    if undefined:
        log.warning("Spearman CI: %d of %d resamples with a constant series left out", undefined, n_boot)
    alpha = (1 - level) / 2
    low, high = np.nanquantile(boot, [alpha, 1 - alpha])
    return rho, float(low), float(high)


def summarize(table: pd.DataFrame, *, n_boot: int = 2000, seed: int = 0) -> pd.DataFrame:
    """One row per metric: value, CI low/high (95%, bootstrap over images), pairs, images.

    mac_true is the change in the correct class's probability; accuracy is of the first frames. Both need
    a label: they cover the labelled images only (pairs and images say how many), NaN when there are none.
    """
    rows = []
    for name, per_pair in PAIR_METRICS.items():
        v = per_pair(table)
        ok = v.notna()
        if ok.any():
            mean, low, high = bootstrap_ci(v[ok], table.image_id[ok], n_boot=n_boot, seed=seed)
        else:
            mean = low = high = float("nan")
        rows.append(
            {
                "metric": name,
                "value": mean,
                "ci_low": low,
                "ci_high": high,
                "pairs": int(ok.sum()),
                "images": int(table.image_id[ok].nunique()),
            }
        )
    return pd.DataFrame(rows).set_index("metric")


def consistency_summary(table: pd.DataFrame, *, n_boot: int = 2000, seed: int = 0) -> dict:
    """Zhang's consistency of a pair table: per image, the probability that two distinct frames of its path
    agree on top-1 (consistency()), averaged over images with a 95% bootstrap CI over images. A row like
    summarize()'s: metric, value, ci_low, ci_high, pairs, images."""
    frames = frame_table(table)
    per_image = frames.groupby("image_id", sort=False).top1.apply(lambda t: consistency(t.to_numpy()))
    value, low, high = bootstrap_ci(per_image.to_numpy(), per_image.index, n_boot=n_boot, seed=seed)
    return {
        "metric": "consistency",
        "value": value,
        "ci_low": low,
        "ci_high": high,
        "pairs": len(table),
        "images": len(per_image),
    }


def summary_table(tables: Mapping[tuple[str, str], pd.DataFrame], n_boot: int = 2000) -> pd.DataFrame:
    """summarize() of many tables {(model, condition): pair table}, one long table:
    model, condition, metric, value, ci_low, ci_high, pairs, images."""
    cols = ["model", "condition", "metric", "value", "ci_low", "ci_high", "pairs", "images"]
    rows = []
    for (model, condition), table in tables.items():
        s = summarize(table, n_boot=n_boot).reset_index()
        rows.append(s.assign(model=model, condition=condition))
    return pd.concat(rows, ignore_index=True)[cols] if rows else pd.DataFrame(columns=cols)


# --- reshapes of the runner's tables -------------------------------------------------------------------


def frame_table(pairs: pd.DataFrame) -> pd.DataFrame:
    """Per-frame view of a pair table: image_id, label, frame, top1, p_true (frames 0..K-1)."""
    first = pairs.rename(columns={"frame_a": "frame", "top1_a": "top1", "p_true_a": "p_true"})
    last = pairs.sort_values("frame_b").groupby("image_id", sort=False).tail(1)
    last = last.rename(columns={"frame_b": "frame", "top1_b": "top1", "p_true_b": "p_true"})
    cols = ["image_id", "label", "frame", "top1", "p_true"]
    out = pd.concat([first[cols], last[cols]], ignore_index=True)
    return out.sort_values(["image_id", "frame"], ignore_index=True)


def path_matrix(pairs: pd.DataFrame, value: str = "p_true") -> pd.DataFrame:
    """(images x frames) table of a per-frame value along a path, rows sorted by mean value (high first)."""
    mat = frame_table(pairs).pivot(index="image_id", columns="frame", values=value)
    return mat.loc[mat.mean(axis=1).sort_values(ascending=False).index]


def align_rows(mats: Mapping[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    """One row order for several (images x frames) path matrices {model: matrix}: images sorted by their
    mean value over every frame of every matrix (high first), so a row is the same image in every panel.
    All matrices must hold the same images."""
    means = pd.concat([m.mean(axis=1) for m in mats.values()], axis=1)
    if means.isna().any().any():
        raise ValueError("the path matrices hold different images; align_rows needs the same images in all")
    order = means.mean(axis=1).sort_values(ascending=False, kind="stable").index
    return {model: m.loc[order] for model, m in mats.items()}


def split_condition(summary: pd.DataFrame) -> pd.DataFrame:
    """'variant|scale' condition names -> variant and scale columns."""
    parts = summary.condition.str.split("|", expand=True)
    return summary.assign(variant=parts[0], scale=parts[1].astype(float))


def wide(summary: pd.DataFrame, columns: Sequence[str] = ("condition",)) -> pd.DataFrame:
    """A summary_table as 'value [low, high]' strings: rows model x metric, one column per condition."""
    triples = zip(summary.value, summary.ci_low, summary.ci_high, strict=True)
    text = summary.assign(cell=[f"{v:.3f} [{lo:.3f}, {hi:.3f}]" for v, lo, hi in triples])
    return text.pivot_table(
        index=["model", "metric"], columns=list(columns), values="cell", aggfunc="first", sort=False
    )
