"""Claim 3, the photographer's bias (notebook 06): where objects sit in real photos (the ILSVRC2012
validation boxes), where standard training augmentation (random-resized-crop + horizontal flip) moves them,
and how invariance differs between typical and atypical positions of an embedded object on a grid."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
import torch
from torchvision.transforms import RandomResizedCrop

from invariance.core import paths
from invariance.kernels import metrics
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
    for label, part in parts:
        agg = part.groupby(["model", "metric"]).value.mean().unstack("metric")
        rows.append(agg[["p_top1_change", "accuracy"]].assign(placement=label))
    return pd.concat(rows).reset_index().set_index(["model", "placement"]).sort_index()
