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

from invariance.core import paths
from invariance.kernels import metrics
from invariance.presentation.figures import label, use_style
from invariance.presentation.text import (
    Values,
    model_name,
    pct,
    tidy_frame,
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
    the crop), size (sqrt of box area over crop area) and inside (the centre lies in the crop).
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
        rows.append((cx, cy, np.sqrt((r.x1 - r.x0) * (r.y1 - r.y0) / (h * w))))
    t = pd.DataFrame(rows, columns=["cx", "cy", "size"])
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
        note = f"\n{central:.0%} of centres in the central ninth (uniform: 11%)"
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
        "diagonal pair each)\nand below it the 95% bootstrap CI over images",
        fontsize=8.5,
    )
    return fig


# --- findings: one sentence per figure, from its sidecar, and the claim's verdict ---


def f06_bias(v: Values) -> str:
    t = tidy_frame(v["sets"]).set_index("set")
    allc, terr = t.loc["val boxes, all classes"], t.loc["val boxes, Tibetan terrier"]
    aug = t.iloc[-1]
    return (
        f"Photographer's bias in {int(allc.n):,} real val boxes: {pct(allc.central_third, 0)} of centres in "
        f"the central ninth of the image (uniform: 11%), Tibetan terriers {pct(terr.central_third, 0)} "
        f"(n = {int(terr.n)}); after random-resized-crop + flip {pct(aug.central_third, 0)} of the centres "
        f"that stay in the crop ({pct(v['share_leaving_crop'], 0)} leave it)."
    )


def _zone_means(v: Values, metric: str) -> pd.DataFrame:
    """Per object size (index: side), the mean of a metric over the grid's corner cells and inner cells."""
    t = tidy_frame(v)
    t = t[t.metric == metric]
    n = int(t.row.max()) + 1
    inner = t.row.between(1, n - 2) & t.col.between(1, n - 2)
    corner = t.row.isin([0, n - 1]) & t.col.isin([0, n - 1])
    return pd.DataFrame(
        {"corner": t[corner].groupby("side").value.mean(), "inner": t[inner].groupby("side").value.mean()}
    )


def f06_placement(v: Values) -> str:
    t = tidy_frame(v)
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
        f"{model_name(t.model.iloc[0])}, {int(t.images.iloc[0])} images per placement: P(top-1 change) in "
        "the "
        f"corner cells vs the inner cells, per object size: {per_size}. Point estimates: {pattern} (inner "
        f"cells {p.inner.iloc[0]:.2f} at {p.index[0]} px vs {p.inner.iloc[-1]:.2f} at {p.index[-1]} px)."
    )


# the paper's claim that notebook 06 tests
CLAIM = "The photographer's bias: objects are centred, so other positions are atypical."


def verdict(read) -> str:
    """Our verdict on CLAIM with its reason, given a reader of this run's sidecars (name -> values)."""
    t = tidy_frame(read("06_photographers_bias")["sets"]).set_index("set")
    return (
        "**reproduced** for the bias itself (centres concentrate in the middle); the link to invariance is "
        "confounded here by accuracy, which falls for small corner embeddings"
        if t.loc["val boxes, all classes", "central_third"] > 2 / 9
        else "**not reproduced**"
    )
