"""Claim 3 on real framing (notebook 08, its main test): is a network's output less stable under a one-pixel
shift or growth when the object of a real photo is small, or placed and sized atypically for a photograph?

The photos keep their natural framing (no embedding): the 1,300 ILSVRC2012 validation photos of
`ilsvrc2012-val-227` (squashed to 227 x 227 by their source), or a user's val folder, each with its
largest validation box. Typicality of an object [ours, stated]: the log density of the photographer's
distribution at its (centre x, centre y, log area fraction), a Gaussian KDE (Scott's bandwidth) over the
largest boxes of every *other* val image (about 48,700), so no image is its own reference. In real photos
size and placement go together (a large object must sit near the centre), so the joint density mostly
measures size; placement given size, log p(x, y | log area) = the joint log density minus that of log area
alone, asks whether an object sits where objects *of its size* usually sit.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.stats import gaussian_kde

from invariance.claims import bias
from invariance.kernels import metrics
from invariance.sources import datasets
from invariance.sources.images import SourceImage

# stratifier column -> what the figure and the findings call it
STRATIFIERS = {
    "area": "object size (box area / image area)",
    "typicality": "typicality of position and size (log density)",
    "placement": "typicality of placement given size (log conditional density)",
}
PARTIAL = "placement | area"  # correlations(): placement typicality, the ranks of size partialled out


def load_photos(n: int | None, seed: int = 0, val_dir: str | Path | None = None) -> list[SourceImage]:
    """n seeded photos (None: all) of a val folder, or (val_dir None) of the squashed val-227 set."""
    if val_dir:
        return datasets.load_val(val_dir, n, seed)
    return datasets.load_val227(n, seed)


def scale_box(
    box: tuple[float, float, float, float], original_wh: tuple[float, float], image_hw: tuple[int, int]
) -> tuple[float, float, float, float]:
    """A box (x0, y0, x1, y1) in the original photo's pixels (W, H) -> the same box in the pixels of the
    photo as loaded (h, w): x * w / W, y * h / H (val-227 photos were squashed to 227 x 227)."""
    (x0, y0, x1, y1), (W, H), (h, w) = box, original_wh, image_hw
    sx, sy = w / W, h / H
    return x0 * sx, y0 * sy, x1 * sx, y1 * sy


def largest_boxes(boxes: pd.DataFrame) -> pd.DataFrame:
    """One row per val image (index image_id = file stem): its largest box (bias.load_boxes columns), with
    area = box area / image area and n_boxes = how many boxes the image has."""
    t = boxes.assign(
        image_id=boxes.file.map(lambda f: Path(f).stem),
        area=(boxes.x1 - boxes.x0) * (boxes.y1 - boxes.y0) / (boxes.W * boxes.H),
    )
    n_boxes = t.groupby("image_id").size().rename("n_boxes")
    largest = t.sort_values(["image_id", "area"], ascending=[True, False]).drop_duplicates("image_id")
    return largest.set_index("image_id").join(n_boxes)


def photo_objects(images: Sequence[SourceImage], boxes: pd.DataFrame | None = None) -> pd.DataFrame:
    """Per photo: its largest box in the loaded photo's pixels (x0, y0, x1, y1), normalised centre (cx, cy),
    area, n_boxes, label. Raises KeyError naming the photos that have no val box."""
    big = largest_boxes(bias.load_boxes() if boxes is None else boxes)
    missing = [img.id for img in images if img.id not in big.index]
    if missing:
        raise KeyError(
            f"{len(missing)} photos have no ILSVRC2012 val box (e.g. {missing[0]!r}); the real-framing test "
            "needs val photos under their original names (ILSVRC2012_val_*.JPEG)"
        )
    rows = []
    for img in images:
        r = big.loc[img.id]
        x0, y0, x1, y1 = scale_box((r.x0, r.y0, r.x1, r.y1), (r.W, r.H), img.size)
        rows.append(
            {
                "image_id": img.id,
                "label": img.label,
                "x0": x0,
                "y0": y0,
                "x1": x1,
                "y1": y1,
                "cx": r.cx,
                "cy": r.cy,
                "area": r.area,
                "n_boxes": int(r.n_boxes),
            }
        )
    return pd.DataFrame(rows).set_index("image_id")


def _features(t: pd.DataFrame) -> np.ndarray:
    """(3, n) rows centre x, centre y, log area: gaussian_kde's layout."""
    return np.stack([t.cx.to_numpy(), t.cy.to_numpy(), np.log(t.area.to_numpy())])


def with_typicality(objects: pd.DataFrame, boxes: pd.DataFrame | None = None) -> pd.DataFrame:
    """objects (photo_objects) plus typicality (joint log density of centre and log area) and placement
    (log density of the centre given the log area), both from the largest boxes of all val images except
    these photos."""
    big = largest_boxes(bias.load_boxes() if boxes is None else boxes)
    reference = _features(big[~big.index.isin(objects.index)])
    query = _features(objects)
    out = objects.copy()
    out["typicality"] = gaussian_kde(reference).logpdf(query)
    out["placement"] = out.typicality - gaussian_kde(reference[2]).logpdf(query[2])
    return out


def framing_summary(
    tables: Mapping[tuple[str, str], pd.DataFrame], objects: pd.DataFrame, bins: int, n_boot: int = 1000
) -> pd.DataFrame:
    """P(top-1 change) and accuracy per quantile bin of each stratifier, per network and protocol, 95% CIs
    over photos. tables: {(model, protocol): pair table}. Long table: model, protocol, stratifier, bin,
    from, to, images, p_top1_change(_low/_high), accuracy(_low/_high)."""
    parts = []
    for (model, protocol), table in tables.items():
        for column in STRATIFIERS:
            b = metrics.by_quantile(
                table, objects[column], bins, metrics=("p_top1_change", "accuracy"), n_boot=n_boot
            )
            parts.append(b.assign(model=model, protocol=protocol, stratifier=column))
    cols = ["model", "protocol", "stratifier"]
    t = pd.concat(parts, ignore_index=True)
    return t[cols + [c for c in t.columns if c not in cols]]


def correlations(
    tables: Mapping[tuple[str, str], pd.DataFrame], objects: pd.DataFrame, n_boot: int = 1000
) -> pd.DataFrame:
    """Spearman rank correlation, over photos, of each stratifier with the photo's P(top-1 change), with a
    95% bootstrap CI over photos; and PARTIAL (placement typicality with the ranks of size partialled out:
    removes a monotone trend with size, not a U-shaped one). Columns: model, protocol, stratifier, rho,
    low, high, images."""
    rows = []
    for (model, protocol), table in tables.items():
        change = metrics.per_image(table, "p_top1_change")
        for column in (*STRATIFIERS, PARTIAL):
            x, control = (objects.placement, objects.area) if column == PARTIAL else (objects[column], None)
            rho, low, high = metrics.spearman_ci(x, change, control, n_boot=n_boot)
            rows.append(
                {
                    "model": model,
                    "protocol": protocol,
                    "stratifier": column,
                    "rho": rho,
                    "low": low,
                    "high": high,
                    "images": int(change.index.isin(objects.index).sum()),
                }
            )
    return pd.DataFrame(rows)


def overall(tables: Mapping[tuple[str, str], pd.DataFrame], n_boot: int = 1000) -> pd.DataFrame:
    """Per network and protocol over all photos: P(top-1 change) and accuracy (of the frames) with 95% CIs.
    Columns: model, protocol, metric, value, ci_low, ci_high, pairs, images."""
    s = metrics.summary_table(tables, n_boot=n_boot)
    return s[s.metric.isin(["p_top1_change", "accuracy"])].rename(columns={"condition": "protocol"})
