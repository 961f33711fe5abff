"""Claim 3, the photographer's bias (notebook 06): where objects sit in real photos (the ILSVRC2012
validation boxes), where standard training augmentation (random-resized-crop + horizontal flip) moves them,
and how invariance differs between typical and atypical positions of an embedded object on a grid."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch
from torchvision.transforms import RandomResizedCrop

from invariance.claims import protocol_table
from invariance.core import paths
from invariance.kernels import metrics
from invariance.presentation.figures import label, use_style
from invariance.presentation.text import (
    Values,
    interval_verdict,
    model_name,
    pct,
    tidy_frame,
    verdict_text,
)
from invariance.sources import datasets

TIBETAN_TERRIER = "n02097474"
AUGMENTED = "after random-resized-crop + flip"  # position_sets' name of the augmented placements


def load_boxes() -> pd.DataFrame:
    """One row per box: file, label, x0, y0, x1, y1, W, H, and normalised centre cx, cy in [0, 1] and
    size = sqrt(box area / image area)."""
    root = paths.find_data(datasets.BOXES_NAME)
    boxes = pd.read_csv(root / "localization.txt", header=None, names=["file", "x0", "y0", "x1", "y1"])
    sizes = pd.read_csv(root / "image_sizes.txt", header=None, names=["file", "W", "H"])
    labels = pd.read_csv(root / "class_labels.txt", header=None, names=["file", "label"])
    t = boxes.merge(sizes, on="file", validate="many_to_one").merge(labels, on="file", validate="many_to_one")
    if len(t) != len(boxes):
        raise ValueError(f"{len(boxes) - len(t)} boxes have no image size or label in {root}")
    return t.assign(
        cx=(t.x0 + t.x1) / 2 / t.W,
        cy=(t.y0 + t.y1) / 2 / t.H,
        size=np.sqrt((t.x1 - t.x0) * (t.y1 - t.y0) / (t.W * t.H)),
    )


def of_class(boxes: pd.DataFrame, wnid: str) -> pd.DataFrame:
    return boxes[boxes.label == datasets.label_of_wnid(wnid)]


def crop_placements(
    boxes: pd.DataFrame,
    *,
    scale: tuple[float, float] = (0.08, 1.0),
    ratio: tuple[float, float] = (3 / 4, 4 / 3),
    flip: bool = True,
    seed: int = 0,
) -> pd.DataFrame:
    """Where each box lands in one training crop: torchvision's RandomResizedCrop parameters (its own code)
    drawn once per box, then a horizontal flip with probability 1/2.

    Returns one row per box: cx, cy (object centre in crop coordinates; outside [0, 1] when the centre left
    the crop), size (sqrt of box area over crop area), bw, bh (box width and height over the crop's) and
    inside (the centre lies in the crop).
    """
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    rows = []
    for r in boxes.itertuples(index=False):
        dims = torch.empty(0, int(r.H), int(r.W))  # only its shape is read
        i, j, h, w = RandomResizedCrop.get_params(dims, list(scale), list(ratio))
        cx = ((r.x0 + r.x1) / 2 - j) / w
        cy = ((r.y0 + r.y1) / 2 - i) / h
        if flip and rng.random() < 0.5:
            cx = 1 - cx
        rows.append(
            (cx, cy, np.sqrt((r.x1 - r.x0) * (r.y1 - r.y0) / (h * w)), (r.x1 - r.x0) / w, (r.y1 - r.y0) / h)
        )
    t = pd.DataFrame(rows, columns=["cx", "cy", "size", "bw", "bh"])
    return t.assign(inside=t.cx.between(0, 1) & t.cy.between(0, 1))


def augmented_positions(boxes: pd.DataFrame, **crop: object) -> pd.DataFrame:
    """crop_placements() of the boxes whose centre stays inside their crop (cx, cy, size; the boxes that
    leave the crop are counted by share_leaving_crop)."""
    t = crop_placements(boxes, **crop)
    return t[t.inside].drop(columns="inside").reset_index(drop=True)


def share_leaving_crop(boxes: pd.DataFrame, **crop: object) -> float:
    """Share of boxes whose centre falls outside their random-resized crop (the same draws as
    augmented_positions with the same arguments): the objects a training crop cuts away or off-centre."""
    return float(1 - crop_placements(boxes, **crop).inside.mean())


def centre_concentration(t: pd.DataFrame) -> dict[str, float]:
    """Summary numbers: share of centres in the central third (both axes; uniform would give 1/9), spread
    of centres, and the median size."""
    central = ((t.cx - 0.5).abs() < 1 / 6) & ((t.cy - 0.5).abs() < 1 / 6)
    return {
        "n": len(t),
        "central_third": float(central.mean()),
        "std_cx": float(t.cx.std()),
        "std_cy": float(t.cy.std()),
        "median_size": float(t["size"].median()),
    }


def concentration_table(sets: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """centre_concentration() of each set of object positions, one row each (index: set name)."""
    return pd.DataFrame({name: centre_concentration(t) for name, t in sets.items()}).T.rename_axis("set")


def position_sets(n_boxes: int | None = None, seed: int = 0) -> dict[str, pd.DataFrame]:
    """The three sets the figure compares: all val boxes (or a seeded sample of n_boxes), the Tibetan
    terriers among all boxes, and where the (sampled) boxes land after training augmentation."""
    boxes = load_boxes()
    sample = boxes if n_boxes is None else boxes.sample(n_boxes, random_state=seed)
    return {
        "val boxes, all classes": sample,
        "val boxes, Tibetan terrier": of_class(boxes, TIBETAN_TERRIER),
        AUGMENTED: augmented_positions(sample, seed=seed),
    }


# --- the bias beyond box size: observed against where each box could have been placed ------------------
#
# A box wider than two thirds of the image must have its centre in the central third, so the share of
# centres there says as much about box sizes as about photographers. The baseline keeps every box's size and
# places it uniformly over the positions where it fits: its centre is uniform on [w/2, 1 - w/2] per axis
# (w = box width / image width). The excess of the observed share over that expectation is the bias.

CENTRAL = 1 / 6  # half-width of the central third (the paper's "central ninth" of the area)


def with_extent(boxes: pd.DataFrame) -> pd.DataFrame:
    """boxes (load_boxes) plus bw, bh = box width / image width, height / image height; area = bw * bh."""
    bw = (boxes.x1 - boxes.x0) / boxes.W
    bh = (boxes.y1 - boxes.y0) / boxes.H
    return boxes.assign(bw=bw, bh=bh, area=bw * bh)


def central_axis_probability(extent: np.ndarray) -> np.ndarray:
    """(N,) extents in [0, 1] (box side / image side) -> (N,) probability that a centre uniform over where
    the box fits, [e/2, 1 - e/2], lies within CENTRAL of the middle: 1 when e >= 1 - 2 * CENTRAL, else
    (2 * CENTRAL) / (1 - e)."""
    e = np.clip(np.asarray(extent, dtype=np.float64), 0.0, 1.0)
    room = 1.0 - e
    with np.errstate(divide="ignore"):
        return np.where(room <= 2 * CENTRAL, 1.0, 2 * CENTRAL / room)


def central_observed(t: pd.DataFrame) -> np.ndarray:
    """(N,) 1.0 where a centre lies in the central third on both axes (the paper's measure), else 0.0."""
    return (((t.cx - 0.5).abs() < CENTRAL) & ((t.cy - 0.5).abs() < CENTRAL)).to_numpy(np.float64)


def central_expected(t: pd.DataFrame) -> np.ndarray:
    """(N,) each box's probability of a central-third centre under the size-kept uniform placement."""
    return central_axis_probability(t.bw.to_numpy()) * central_axis_probability(t.bh.to_numpy())


def resampled_centres(t: pd.DataFrame, seed: int = 0) -> pd.DataFrame:
    """The resampling baseline: every box keeps its size and gets a centre drawn uniformly where it fits
    (cx, cy); a check on the analytic expectation and the reference for the 2-D map."""
    rng = np.random.default_rng(seed)
    out = t.copy()
    for axis, extent in (("cx", "bw"), ("cy", "bh")):
        e = np.clip(t[extent].to_numpy(np.float64), 0.0, 1.0)
        out[axis] = e / 2 + rng.random(len(t)) * (1 - e)
    return out


def _group_bootstrap(parts: Sequence[np.ndarray], groups: np.ndarray, n_boot: int, seed: int) -> np.ndarray:
    """(n_boot, len(parts)) bootstrap sums of each per-box array, resampling whole groups (images) with
    replacement; one replicate at a time, so memory stays O(groups) for the 50,000 val images."""
    codes, _ = pd.factorize(pd.Series(groups))
    n = int(codes.max()) + 1
    sums = np.stack([np.bincount(codes, weights=np.asarray(p, np.float64), minlength=n) for p in parts])
    rng = np.random.default_rng(seed)
    out = np.empty((n_boot, len(parts)))
    for b in range(n_boot):
        out[b] = sums @ np.bincount(rng.integers(0, n, n), minlength=n)
    return out


def excess(t: pd.DataFrame, n_boot: int = 1000, seed: int = 0, level: float = 0.95) -> dict[str, float]:
    """Observed share of central-third centres, its size-kept expectation, the resampled share, and the
    excess (observed - expected) with a percentile bootstrap CI over images (t.file groups a photo's
    boxes). t needs cx, cy, bw, bh and file."""
    obs, exp = central_observed(t), central_expected(t)
    boot = _group_bootstrap([obs - exp, np.ones(len(t))], t.file.to_numpy(), n_boot, seed)
    diff = boot[:, 0] / boot[:, 1]
    alpha = (1 - level) / 2
    return {
        "n": len(t),
        "images": int(t.file.nunique()),
        "observed": float(obs.mean()),
        "expected": float(exp.mean()),
        "resampled": float(central_observed(resampled_centres(t, seed)).mean()),
        "excess": float(obs.mean() - exp.mean()),
        "excess_low": float(np.quantile(diff, alpha)),
        "excess_high": float(np.quantile(diff, 1 - alpha)),
    }


MIN_STRATIFIED = 500  # boxes a set needs before its area quintiles are reported (100 per stratum)


def excess_by_size(
    sets: Mapping[str, pd.DataFrame], strata: int = 5, n_boot: int = 1000, seed: int = 0
) -> pd.DataFrame:
    """excess() per set, overall and per quantile stratum of box area (as a fraction of the image or crop;
    strata cut on each set's own areas; sets under MIN_STRATIFIED boxes overall only). Columns: set,
    stratum (0 = all, 1 = smallest), area_from, area_to, n, images, observed, expected, resampled, excess,
    excess_low, excess_high."""
    rows = []
    for name, t in sets.items():
        rows.append({"set": name, "stratum": 0, "area_from": t.area.min(), "area_to": t.area.max()})
        rows[-1].update(excess(t, n_boot, seed))
        if len(t) < MIN_STRATIFIED:
            continue
        cut = pd.qcut(t.area, strata, labels=False, duplicates="drop")
        for k, part in t.groupby(cut):
            rows.append(
                {"set": name, "stratum": int(k) + 1, "area_from": part.area.min(), "area_to": part.area.max()}
            )
            rows[-1].update(excess(part, n_boot, seed))
    return pd.DataFrame(rows)


def _axis_mass(extent: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """(N, bins) share of each box's uniform centre range [e/2, 1 - e/2] in each bin (a box as wide as the
    image or wider puts all of it in the bin holding 0.5)."""
    e = np.clip(np.asarray(extent, np.float64), 0.0, 1.0)[:, None]
    lo, hi = e / 2, 1 - e / 2
    overlap = np.clip(np.minimum(hi, edges[None, 1:]) - np.maximum(lo, edges[None, :-1]), 0, None)
    width = hi - lo
    point = (edges[None, :-1] <= 0.5) & (0.5 < edges[None, 1:])
    return np.where(width > 1e-12, overlap / np.where(width > 1e-12, width, 1.0), point.astype(np.float64))


def density_ratio(t: pd.DataFrame, bins: int = 12) -> dict[str, np.ndarray]:
    """Observed and expected centre counts on a bins x bins grid of the unit square (rows: cy, columns: cx;
    centres outside [0, 1] are not counted) and their ratio (NaN where fewer than 5 boxes are expected)."""
    edges = np.linspace(0, 1, bins + 1)
    observed = np.histogram2d(t.cy, t.cx, bins=[edges, edges])[0]
    expected = _axis_mass(t.bh.to_numpy(), edges).T @ _axis_mass(t.bw.to_numpy(), edges)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(expected >= 5, observed / expected, np.nan)
    return {"observed": observed, "expected": expected, "ratio": ratio}


def sized_sets(n_boxes: int | None = None, seed: int = 0) -> tuple[dict[str, pd.DataFrame], float]:
    """The sets the size-aware test compares, with box extents: all val boxes (or a seeded sample), Tibetan
    terriers, and the boxes after random-resized-crop + flip (the same draws as position_sets) that lie
    wholly inside their crop (extents relative to the crop). Also returns that share among the boxes whose
    centre stays in the crop (the others are cut by the crop: part of the object is gone)."""
    boxes = with_extent(load_boxes())
    sample = boxes if n_boxes is None else boxes.sample(n_boxes, random_state=seed)
    crops = crop_placements(sample, seed=seed)
    aug = crops.assign(file=sample.file.to_numpy())
    # "placed where it fits" compares like with like only for whole objects: boxes the crop cuts are left out
    eps = 1e-9
    fits = (
        (aug.cx - aug.bw / 2 >= -eps)
        & (aug.cx + aug.bw / 2 <= 1 + eps)
        & (aug.cy - aug.bh / 2 >= -eps)
        & (aug.cy + aug.bh / 2 <= 1 + eps)
    )
    share = float(fits[aug.inside].mean())
    aug = aug[aug.inside & fits].reset_index(drop=True)
    sets = {
        "val boxes, all classes": sample,
        "val boxes, Tibetan terrier": of_class(boxes, TIBETAN_TERRIER),
        AUGMENTED: aug.assign(area=aug.bw * aug.bh),
    }
    return sets, share


# --- invariance at typical and atypical positions (protocols.grid_conditions) ----------------------------


def grid_summary(tables: Mapping[tuple[str, str], pd.DataFrame]) -> pd.DataFrame:
    """P(top-1 change) and accuracy per model x side x grid cell ('side|row|col' conditions), with CIs."""
    s = metrics.summary_table(tables, n_boot=500)
    parts = s.condition.str.split("|", expand=True).astype(int)
    return s.assign(side=parts[0], row=parts[1], col=parts[2])


def typical_vs_atypical(grid: pd.DataFrame) -> pd.DataFrame:
    """P(top-1 change) and accuracy at the most typical position (largest side, central cell) against the
    least typical (smallest side, corner cells), and averaged over all, per network (a grid_summary)."""
    cells = grid.row.max() + 1
    centre = (cells - 1) / 2
    dist = (grid.row - centre).abs() + (grid.col - centre).abs()
    largest, smallest = grid.side.max(), grid.side.min()
    typical = grid[(grid.side == largest) & (dist == dist.min())]
    atypical = grid[(grid.side == smallest) & (dist == dist.max())]
    parts = (
        ("typical: large, centred", typical),
        ("atypical: small, in a corner", atypical),
        ("all placements", grid),
    )
    rows = []
    for placement, part in parts:
        agg = part.groupby(["model", "metric"]).value.mean().unstack("metric")
        rows.append(agg[["p_top1_change", "accuracy"]].assign(placement=placement))
    return pd.concat(rows).reset_index().set_index(["model", "placement"]).sort_index()


CONTRAST_METRICS = ("p_top1_change", "accuracy", "p_top1_change_given_correct")


def contrast_value(pairs: pd.DataFrame, metric: str) -> pd.Series:
    """A per-pair metric of metrics.PAIR_METRICS, or p_top1_change_given_correct: the top-1 change where
    the first frame is correct, NaN elsewhere (so a corner's lower accuracy cannot pass for instability)."""
    if metric == "p_top1_change_given_correct":
        right = metrics.correct(pairs.top1_a, pairs.label).astype(bool) & (pairs.label >= 0)
        return metrics.PAIR_METRICS["p_top1_change"](pairs).where(right)
    return metrics.PAIR_METRICS[metric](pairs)


def placement_contrast(
    tables: Mapping[tuple[str, str], pd.DataFrame], n_boot: int = 2000, seed: int = 0
) -> pd.DataFrame:
    """Corner cells minus inner cells, paired over images: per image, its mean P(top-1 change) (and
    accuracy, and P(top-1 change) among correct first frames) over the corner cells minus its mean over the
    inner cells, per network and embedded side; mean and 95% bootstrap CI over the images with both zones.
    tables: run_grid's {(model, 'side|row|col'): pair table}. Columns: model, side, metric, corner, inner,
    difference, low, high, images. A grid of 2 x 2 has no inner cells: no rows."""
    rows = []
    parts = pd.concat([t.assign(model=m, condition=c) for (m, c), t in tables.items()], ignore_index=True)
    cell = parts.condition.str.split("|", expand=True).astype(int)
    parts = parts.assign(side=cell[0], row=cell[1], col=cell[2])
    n = int(parts.row.max()) + 1
    corner = parts.row.isin([0, n - 1]) & parts.col.isin([0, n - 1])
    inner = parts.row.between(1, n - 2) & parts.col.between(1, n - 2)
    for metric in CONTRAST_METRICS:
        value = contrast_value(parts, metric)
        t = parts.assign(value=value, zone=np.where(corner, "corner", np.where(inner, "inner", "")))
        t = t[t.zone != ""].dropna(subset=["value"])
        per = t.groupby(["model", "side", "image_id", "zone"]).value.mean().unstack("zone")
        if "inner" not in per or "corner" not in per:
            continue
        per = per.dropna()
        for (model, side), g in per.groupby(level=["model", "side"]):
            d = (g.corner - g.inner).to_numpy()
            mean, low, high = metrics.bootstrap_ci(d, np.arange(len(d)), n_boot=n_boot, seed=seed)
            rows.append(
                {
                    "model": model,
                    "side": int(side),
                    "metric": metric,
                    "corner": float(g.corner.mean()),
                    "inner": float(g.inner.mean()),
                    "difference": mean,
                    "low": low,
                    "high": high,
                    "images": len(g),
                }
            )
    return pd.DataFrame(rows)


def first_frame_table(tables: Mapping[tuple[str, str], pd.DataFrame], bins: int = 4) -> pd.DataFrame:
    """metrics.by_first_frame per network and object size, pooled over the grid's cells (run_grid's
    {(model, 'side|row|col'): pair table}); the condition column is the side ("60 px")."""
    pooled: dict[tuple[str, str], list[pd.DataFrame]] = {}
    for (model, condition), t in tables.items():
        pooled.setdefault((model, f"{int(condition.split('|')[0])} px"), []).append(t)
    return protocol_table.first_frame_table(
        {key: pd.concat(parts, ignore_index=True) for key, parts in pooled.items()}, bins=bins
    )


def plot_first_frame(table: pd.DataFrame) -> plt.Figure:
    """protocol_table.plot_first_frame with the object sizes on the x axis, smallest first."""
    order = sorted(set(table.condition), key=lambda c: int(c.split()[0]))
    return protocol_table.plot_first_frame(table, order)


def f06_first_frame(v: Values) -> str:
    return protocol_table.first_frame_sentence(v, "object size")


# --- figures (the notebook calls these; save_figure writes them with their sidecars) ---


def plot_position_histograms(
    panels: dict[str, pd.DataFrame], bins: int = 20, left_crop: Mapping[str, str] | None = None
) -> plt.Figure:
    """Normalised object centres, one panel per set (a 2-D histogram with its colour bar, or the points
    themselves for sets under 200 boxes), with the size distributions below; left_crop: per set a note
    for its title (e.g. how many boxes left the crop)."""
    use_style()
    fig, axes = plt.subplots(2, len(panels), figsize=(3.9 * len(panels), 7.0), squeeze=False)
    # one colour scale for every histogram, so that a flatter spread looks flatter
    vmax = max(
        (
            np.histogram2d(t.cx, t.cy, bins=bins, range=[[0, 1], [0, 1]], density=True)[0].max()
            for t in panels.values()
            if len(t) >= 200
        ),
        default=None,  # no histogram panel: points only
    )
    for i, (name, t) in enumerate(panels.items()):
        ax = axes[0, i]
        central = centre_concentration(t)["central_third"]
        note = f"\n{central:.0%} of centres in the central ninth\n(the paper's measure; uniform centres: 11%)"
        note += f"\n{left_crop[name]}" if left_crop and name in left_crop else ""
        if len(t) < 200:
            ax.plot(t.cx, t.cy, "o", ms=3.5, color=f"C{i}", mec="k", mew=0.3, alpha=0.8)
            ax.set(xlim=(0, 1), ylim=(0, 1))
            ax.set_title(f"{name}\n(n = {len(t):,}, one point per box){note}", fontsize=8.5)
        else:
            *_, im = ax.hist2d(
                t.cx, t.cy, bins=bins, range=[[0, 1], [0, 1]], density=True, cmap="magma", vmin=0, vmax=vmax
            )
            fig.colorbar(im, ax=ax, shrink=0.8, label="density of centres")
            ax.set_title(f"{name}\n(n = {len(t):,}){note}", fontsize=8.5)
        ax.set(xlabel="centre x / width", ylabel="centre y / height", aspect="equal")
        ax.invert_yaxis()
        ax.axhline(1 / 3, color="0.6", lw=0.5, ls=":")
        ax.axhline(2 / 3, color="0.6", lw=0.5, ls=":")
        ax.axvline(1 / 3, color="0.6", lw=0.5, ls=":")
        ax.axvline(2 / 3, color="0.6", lw=0.5, ls=":")
        area = "crop" if "crop" in name else "image"
        axes[1, i].hist(t["size"], bins=30, range=(0, 1.5), density=True, color=f"C{i}")
        axes[1, i].set(xlabel=f"object size: sqrt(box area / {area} area)", ylabel="density")
    fig.tight_layout()
    return fig


def plot_grid_maps(
    summary: pd.DataFrame, metrics: Sequence[str] = ("p_top1_change", "accuracy")
) -> plt.Figure:
    """Heat maps over the grid of placements, one row per metric, one panel per embedded size; each cell
    shows its value and 95% CI (text dark or light by the cell's colour)."""
    use_style()
    sides = sorted(summary.side.unique())
    cmaps = {"p_top1_change": "Reds", "accuracy": "Blues"}
    fig, axes = plt.subplots(
        len(metrics), len(sides), figsize=(3.6 * len(sides), 3.3 * len(metrics)), squeeze=False
    )
    for row, metric in zip(axes, metrics, strict=True):
        sub = summary[summary.metric == metric]
        vmax = max(float(sub.value.max()), 1e-3)
        im = None
        for ax, side in zip(row, sides, strict=True):
            s = sub[sub.side == side]
            grid = np.full((int(s.row.max()) + 1, int(s.col.max()) + 1), np.nan)
            grid[s.row, s.col] = s.value
            im = ax.imshow(grid, cmap=cmaps.get(metric, "Greys"), vmin=0, vmax=vmax)
            if metric == "p_top1_change":  # a cell whose first frames are mostly wrong: not interpretable
                acc = summary[(summary.metric == "accuracy") & (summary.side == side)]
                for r in acc[acc.value < MIN_ACCURACY].itertuples():
                    ax.add_patch(
                        plt.Rectangle(
                            (r.col - 0.5, r.row - 0.5), 1, 1, fill=False, hatch="///", ec="0.55", lw=0
                        )
                    )
            for r in s.itertuples():
                ax.text(
                    r.col,
                    r.row,
                    f"{r.value:.2f}\n{r.ci_low:.2f}-{r.ci_high:.2f}",
                    ha="center",
                    va="center",
                    fontsize=6.5,
                    color="white" if r.value > 0.55 * vmax else "black",
                )
            first = ax is row[0]
            ax.set(title=f"embedded side {side} px", xticks=[], yticks=[], xlabel="left ... right")
            ax.set_ylabel(f"{label(metric)}\n\ntop ... bottom" if first else "top ... bottom")
        fig.colorbar(im, ax=row.tolist(), label=label(metric), shrink=0.9)
    n = ", ".join(str(k) for k in sorted(summary.images.unique()))
    cells = f"{int(summary.row.max()) + 1} x {int(summary.col.max()) + 1}"
    fig.suptitle(
        f"Embedded image at a {cells} grid of positions: each cell the mean over {n} images (one one-pixel "
        "diagonal pair each)\nand below it the 95% bootstrap CI over images; hatched: accuracy below "
        f"{MIN_ACCURACY}, P(top-1 change) not interpretable there",
        fontsize=8.5,
    )
    return fig


def plot_bias_beyond_size(
    ratios: Mapping[str, np.ndarray], table: pd.DataFrame, fits_share: float | None = None
) -> plt.Figure:
    """Left: per set, observed over expected centre density (log2; expected: each box kept at its size and
    placed uniformly where it fits), grey where fewer than 5 boxes are expected. Right: the paper's measure
    (share of centres in the central ninth) against its size-kept expectation, as the excess with its 95%
    bootstrap CI over images, per box-area quintile and overall (excess_by_size)."""
    use_style()
    n = len(ratios)
    fig, axes = plt.subplots(
        1, n + 1, figsize=(3.6 * n + 5.2, 4.0), width_ratios=[1] * n + [1.5], layout="constrained"
    )
    im = None
    for ax, (name, ratio) in zip(axes, ratios.items(), strict=False):
        im = ax.imshow(
            np.log2(ratio), cmap="RdBu_r", vmin=-2, vmax=2, extent=(0, 1, 1, 0), interpolation="nearest"
        )
        ax.set_facecolor("0.85")
        for x in (1 / 3, 2 / 3):
            ax.axhline(x, color="0.3", lw=0.5, ls=":")
            ax.axvline(x, color="0.3", lw=0.5, ls=":")
        note = (
            f"\nwhole boxes only: {fits_share:.0%} of those whose centre stays in the crop"
            if fits_share and "crop" in name
            else ""
        )
        ax.set(title=f"{name}{note}", xlabel="centre x / width", ylabel="centre y / height")
        ax.title.set_fontsize(8.5)
    fig.colorbar(
        im,
        ax=list(axes[:n]),
        shrink=0.75,
        location="bottom",
        label="log2(observed / expected density of centres)",
    )
    ax = axes[n]
    for i, (name, t) in enumerate(table.groupby("set", sort=False)):
        strata = t[t.stratum > 0]
        x = strata.stratum.to_numpy() + (i - 1) * 0.18
        yerr = [strata.excess - strata.excess_low, strata.excess_high - strata.excess]
        ax.errorbar(x, strata.excess, yerr=yerr, fmt="o", ms=3.5, lw=1, capsize=2, color=f"C{i}", label=name)
        overall = t[t.stratum == 0].iloc[0]
        ax.errorbar(
            [0 + (i - 1) * 0.18],
            [overall.excess],
            yerr=[[overall.excess - overall.excess_low], [overall.excess_high - overall.excess]],
            fmt="s",
            ms=4.5,
            lw=1,
            capsize=2,
            color=f"C{i}",
        )
    ax.axhline(0, color="0.4", lw=0.7)
    ax.set_xticks(range(6), ["all", "Q1\nsmallest", "Q2", "Q3", "Q4", "Q5\nlargest"], fontsize=7.5)
    ax.set(
        xlabel="box area quintile (each set's own)",
        ylabel="central-ninth share: observed - expected",
        title="The bias beyond box size (95% bootstrap CI over images)",
    )
    ax.title.set_fontsize(8.5)
    ax.legend(fontsize=7, loc="lower left", title="squares: all boxes of the set", title_fontsize=7)
    return fig


# --- findings: one sentence per figure, from its sidecar, and the claim's verdict ---


def f06_bias(v: Values) -> str:
    t = tidy_frame(v["sets"]).set_index("set")
    allc, terr = t.loc["val boxes, all classes"], t.loc["val boxes, Tibetan terrier"]
    aug = t.iloc[-1]
    return (
        f"Photographer's bias in {int(allc.n):,} real val boxes, the paper's measure: "
        f"{pct(allc.central_third, 0)} of centres in the central ninth of the image (uniform centres: 11%; "
        f"box size explains most of it, next figure), Tibetan terriers {pct(terr.central_third, 0)} "
        f"(n = {int(terr.n)}); after random-resized-crop + flip {pct(aug.central_third, 0)} of the centres "
        f"that stay in the crop ({pct(v['share_leaving_crop'], 0)} leave it)."
    )


MIN_ACCURACY = 0.2  # below this first-frame accuracy a cell's P(top-1 change) is not interpretable


def _grid(v: Values) -> pd.DataFrame:
    """The grid summary of a 06_placement_invariance sidecar (older sidecars hold only the grid)."""
    return tidy_frame(v["grid"] if isinstance(v, dict) else v)


def _zone_means(v: Values, metric: str) -> pd.DataFrame:
    """Per object size (index: side), the mean of a metric over the grid's corner cells and inner cells."""
    t = _grid(v)
    t = t[t.metric == metric]
    n = int(t.row.max()) + 1
    inner = t.row.between(1, n - 2) & t.col.between(1, n - 2)
    corner = t.row.isin([0, n - 1]) & t.col.isin([0, n - 1])
    return pd.DataFrame(
        {"corner": t[corner].groupby("side").value.mean(), "inner": t[inner].groupby("side").value.mean()}
    )


def _overall(v: Values) -> pd.DataFrame:
    t = tidy_frame(v["excess"])
    return t[t.stratum == 0].set_index("set")


def f06_beyond_size(v: Values) -> str:
    o = _overall(v)
    t = tidy_frame(v["excess"])
    allc = t[t.set == "val boxes, all classes"].set_index("stratum")

    def ex(r) -> str:
        return f"{100 * r.excess:+.1f} points [{100 * r.excess_low:+.1f}, {100 * r.excess_high:+.1f}]"

    a, terr, aug = (o.loc[k] for k in ("val boxes, all classes", "val boxes, Tibetan terrier", AUGMENTED))
    return (
        "The paper's measure against box size: with every box kept at its size and placed uniformly "
        f"where it fits, {pct(a.expected, 1)} of centres would fall in the central ninth (observed "
        f"{pct(a.observed, 1)}): an excess of {ex(a)}; smallest fifth of boxes "
        f"{pct(allc.loc[1, 'observed'], 0)} vs {pct(allc.loc[1, 'expected'], 0)} ({ex(allc.loc[1])}), "
        f"largest fifth {ex(allc.loc[allc.index.max()])}. "
        f"Tibetan terriers (n = {int(terr.n)}) {pct(terr.observed, 0)} vs {pct(terr.expected, 0)} expected "
        f"({ex(terr)}). After random-resized-crop + flip (the boxes wholly inside their crop, "
        f"{pct(v.get('fits_crop_share', float('nan')), 0)} of those whose centre stays in it): "
        f"{pct(aug.observed, 0)} vs {pct(aug.expected, 0)} ({ex(aug)})."
    )


def f06_placement(v: Values) -> str:
    t = _grid(v)
    acc = _zone_means(v, "accuracy")
    low_acc = [int(side) for side, r in acc.iterrows() if min(r.corner, r.inner) < MIN_ACCURACY]
    head = f"{model_name(t.model.iloc[0])}, {int(t.images.iloc[0])} images per placement"
    if isinstance(v, dict) and v.get("contrast"):
        c = tidy_frame(v["contrast"])
        p, a = c[c.metric == "p_top1_change"].set_index("side"), c[c.metric == "accuracy"].set_index("side")
        per_size = "; ".join(
            f"{side} px {r.corner:.2f} vs {r.inner:.2f}, difference {r.difference:+.2f} "
            f"[{r.low:+.2f}, {r.high:+.2f}] (accuracy {a.loc[side, 'corner']:.2f} vs "
            f"{a.loc[side, 'inner']:.2f})"
            + (f" (accuracy below {MIN_ACCURACY}: not interpretable)" if side in low_acc else "")
            for side, r in p.iterrows()
        )
        readable = p.drop(index=low_acc, errors="ignore")
        above = [int(x) for x in readable.index[readable.low > 0]]
        text = (
            f"{head}: P(top-1 change) in the corner cells vs the inner cells, paired over images (95% CI), "
            f"per object size: {per_size}. Corners change more, CI above 0, at "
            f"{', '.join(f'{x} px' for x in above) or 'no interpretable size'} of "
            f"{len(readable)} interpretable sizes."
        )
        g = (
            c[c.metric == "p_top1_change_given_correct"]
            .set_index("side")
            .drop(index=low_acc, errors="ignore")
        )
        if len(g):
            given = "; ".join(
                f"{side} px {r.difference:+.2f} [{r.low:+.2f}, {r.high:+.2f}] ({int(r.images)} images)"
                for side, r in g.iterrows()
            )
            kept = [int(x) for x in g.index[g.low > 0]]
            text += (
                " Among first frames the network classifies correctly (images with a correct first frame in "
                f"both zones), corner minus inner: {given}; CI above 0 at "
                f"{', '.join(f'{x} px' for x in kept) or 'no interpretable size'}."
            )
        return text
    pz = _zone_means(v, "p_top1_change")
    per_size = "; ".join(
        f"{side} px {r.corner:.2f} vs {r.inner:.2f} (accuracy {acc.loc[side, 'corner']:.2f} vs "
        f"{acc.loc[side, 'inner']:.2f})"
        for side, r in pz.iterrows()
    )
    return f"{head}: P(top-1 change) in the corner cells vs the inner cells, per object size: {per_size}."


# the paper's claim that notebook 06 tests
CLAIM = "The photographer's bias: objects are centred, so other positions are atypical."


def verdict(read) -> str:
    """Our verdict on CLAIM with its reason, given a reader of this run's sidecars (name -> values): from
    the excess of central centres over what box sizes force, not from the naive share (uniform: 11%)."""
    v = read("06_bias_beyond_size")
    a = _overall(v).loc["val boxes, all classes"]
    t = tidy_frame(v["excess"])
    strata = t[(t.set == "val boxes, all classes") & (t.stratum > 0)]
    above = strata[strata.excess_low > 0].stratum.tolist()
    below = strata[strata.excess_high < 0].stratum.tolist()
    word = interval_verdict(a.excess_low, a.excess_high)
    naive = tidy_frame(read("06_photographers_bias")["sets"]).set_index("set").loc["val boxes, all classes"]
    return verdict_text(
        word,
        f"centres lie in the central ninth {100 * a.excess:+.1f} points [{100 * a.excess_low:+.1f}, "
        f"{100 * a.excess_high:+.1f}] more often than box sizes alone force ({pct(a.observed, 1)} vs "
        f"{pct(a.expected, 1)} with each box placed uniformly where it fits): box size accounts for "
        f"{pct((a.expected - 1 / 9) / (a.observed - 1 / 9), 0)} of the paper's measure's excess over uniform "
        f"centres ({pct(naive.central_third, 0)} against 11%); the excess is "
        "positive "
        f"in area quintiles {above or 'none'} and negative in {below or 'none'} (1 = smallest). Whether "
        "invariance follows placement is the grid below, where small corner embeddings also lose accuracy",
    )


# claims at a glance (README): the claim in a line, the paper's evidence, the figure, the key number
SHORT = "Photographers centre their objects, so other positions are atypical for the network."
PAPER_EVIDENCE = "hand-labelled eye positions of Tibetan terriers cluster at the image centre"
FIGURE = "06_bias_beyond_size"


def headline(read) -> str:
    """The excess of central centres over what box sizes force, with its 95% CI."""
    a = _overall(read("06_bias_beyond_size")).loc["val boxes, all classes"]
    return (
        f"central-ninth excess beyond box size: {100 * a.excess:+.1f} points [{100 * a.excess_low:+.1f}, "
        f"{100 * a.excess_high:+.1f}] ({pct(a.observed, 1)} observed vs {pct(a.expected, 1)} expected)"
    )
