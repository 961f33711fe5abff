"""Real framing (notebook 08's main test): box scaling onto squashed photos, largest boxes, photographer
typicality without self-reference, stratification and rank correlations on hand-made tables."""

import numpy as np
import pandas as pd
import pytest
import torch
from invariance.claims import framing
from invariance.kernels import metrics
from invariance.sources.images import SourceImage
from scipy.stats import gaussian_kde


def photo(id_: str, h: int = 227, w: int = 227) -> SourceImage:
    return SourceImage(id_, 3, torch.zeros(3, h, w, dtype=torch.uint8))


def boxes_table(rows) -> pd.DataFrame:
    """bias.load_boxes()'s columns from (file, x0, y0, x1, y1, W, H, label) rows."""
    t = pd.DataFrame(rows, columns=["file", "x0", "y0", "x1", "y1", "W", "H", "label"])
    return t.assign(
        cx=(t.x0 + t.x1) / 2 / t.W,
        cy=(t.y0 + t.y1) / 2 / t.H,
        size=np.sqrt((t.x1 - t.x0) * (t.y1 - t.y0) / (t.W * t.H)),
    )


def test_a_box_scales_onto_the_squashed_photo():
    # a 400 x 200 original squashed to 227 x 227: x by 227/400, y by 227/200
    assert framing.scale_box((100, 50, 300, 150), (400, 200), (227, 227)) == pytest.approx(
        (56.75, 56.75, 170.25, 170.25)
    )
    # unsquashed (the loaded photo has the original size): unchanged
    assert framing.scale_box((1, 2, 3, 4), (640, 480), (480, 640)) == pytest.approx((1, 2, 3, 4))


def test_photo_objects_take_the_largest_box_in_the_loaded_pixels():
    boxes = boxes_table(
        [
            ("val/ILSVRC2012_val_00000001.JPEG", 0, 0, 100, 100, 400, 200, 5),
            ("val/ILSVRC2012_val_00000001.JPEG", 100, 50, 300, 150, 400, 200, 5),  # the larger one
            ("val/ILSVRC2012_val_00000002.JPEG", 0, 0, 50, 50, 100, 100, 7),
        ]
    )
    objects = framing.photo_objects([photo("ILSVRC2012_val_00000001")], boxes)
    r = objects.loc["ILSVRC2012_val_00000001"]
    assert (r.x0, r.y0, r.x1, r.y1) == pytest.approx((56.75, 56.75, 170.25, 170.25))
    assert r.n_boxes == 2 and r.area == pytest.approx(200 * 100 / (400 * 200))
    assert (r.cx, r.cy) == pytest.approx((0.5, 0.5))
    with pytest.raises(KeyError, match="no ILSVRC2012 val box"):
        framing.photo_objects([photo("ILSVRC2012_val_00000009")], boxes)


def test_typicality_is_high_at_the_crowd_and_never_counts_the_photo_itself():
    rng = np.random.default_rng(0)
    rows = []
    for i in range(400):  # the "photographers": objects near the centre, about a third of the width
        cx, cy = 200 + rng.normal(0, 20), 150 + rng.normal(0, 15)
        rows.append((f"val/ref_{i}.JPEG", cx - 60, cy - 50, cx + 60, cy + 50, 400, 300, 0))
    rows.append(("val/centre.JPEG", 140, 100, 260, 200, 400, 300, 0))  # typical: centred, typical size
    rows.append(("val/corner.JPEG", 0, 0, 20, 20, 400, 300, 0))  # atypical: small, in a corner
    rows.append(("val/aside.JPEG", 0, 0, 120, 100, 400, 300, 0))  # the typical size, placed in a corner
    boxes = boxes_table(rows)
    objects = framing.photo_objects([photo("centre"), photo("corner"), photo("aside")], boxes)
    typ = framing.with_typicality(objects, boxes)
    assert typ.loc["centre", "typicality"] > typ.loc["corner", "typicality"] + 5
    # placement given size: the same size, placed where that size sits, or not
    assert typ.loc["centre", "placement"] > typ.loc["aside", "placement"] + 5
    # and it is the joint density minus the size density: equal sizes, so their gaps agree
    gap = typ.loc["centre"] - typ.loc["aside"]
    assert gap.placement == pytest.approx(gap.typicality)
    # the corner photo would be its own only neighbour: a KDE that counted it gives it a far higher density
    big = framing.largest_boxes(boxes)
    with_self = gaussian_kde(np.stack([big.cx, big.cy, np.log(big.area)]))
    corner = objects.loc[["corner"]]
    assert with_self.logpdf(np.stack([corner.cx, corner.cy, np.log(corner.area)]))[0] > (
        typ.loc["corner", "typicality"] + 3
    )


def pair_rows(image_id: str, changed: list[bool], correct: bool = True, label: int = 1) -> list[dict]:
    """Pair-table rows of one image: top-1 of frame k and k + 1 differ where changed."""
    rows = []
    for k, c in enumerate(changed):
        top_a = label if correct else 0
        rows.append(
            {
                "image_id": image_id,
                "label": label,
                "k": k,
                "top1_a": top_a,
                "top1_b": top_a + 1 if c else top_a,
                "p_top_a": 0.9,
                "p_top_b": 0.5 if c else 0.9,
                "p_true_a": 0.9,
                "p_true_b": 0.5 if c else 0.9,
            }
        )
    return rows


def test_stratification_of_a_hand_made_table():
    # photos 0-3 (small objects) change on every pair and are wrong; photos 4-7 never change and are right
    rows = []
    for i in range(8):
        rows += pair_rows(f"p{i}", [i < 4] * 3, correct=i >= 4)
    table = pd.DataFrame(rows)
    area = pd.Series([0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8], index=[f"p{i}" for i in range(8)])
    b = metrics.by_quantile(table, area, bins=2, metrics=("p_top1_change", "accuracy"), n_boot=200)
    assert b.bin.tolist() == [0, 1] and b.images.tolist() == [4, 4]
    assert b.p_top1_change.tolist() == [1.0, 0.0] and b.accuracy.tolist() == [0.0, 1.0]
    assert b["from"].iloc[0] == pytest.approx(0.1) and b["to"].iloc[1] == pytest.approx(0.8)
    assert (b.p_top1_change_low <= b.p_top1_change).all() and (b.p_top1_change <= b.p_top1_change_high).all()
    # through the framing summary: every stratifier, and the correlations with CIs
    objects = pd.DataFrame({"area": area, "typicality": area * 10, "placement": -area})
    tables = {("net", "crop"): table}
    s = framing.framing_summary(tables, objects, bins=2, n_boot=200)
    assert set(s.stratifier) == set(framing.STRATIFIERS) and len(s) == 6
    c = framing.correlations(tables, objects, n_boot=200).set_index("stratifier")
    # ranks 1..8 against two tied groups of four (average ranks 2.5 and 6.5): rho = -32 / sqrt(42 * 32)
    assert c.loc["area", "rho"] == pytest.approx(-np.sqrt(32 / 42), abs=1e-9)
    assert c.loc["placement", "rho"] == pytest.approx(np.sqrt(32 / 42), abs=1e-9)
    assert c.loc["area", "high"] < 0 and c.loc["area", "images"] == 8


def test_spearman_and_its_partial_version():
    rng = np.random.default_rng(1)
    z = pd.Series(rng.normal(size=400))
    x = z + 0.01 * pd.Series(rng.normal(size=400))
    y = z + 0.01 * pd.Series(rng.normal(size=400))
    rho, low, high = metrics.spearman_ci(x, y, n_boot=200)
    assert rho > 0.99 and low > 0.98
    # x and y agree only through z: with z held fixed the partial correlation is near zero
    rho, low, high = metrics.spearman_ci(x, y, z, n_boot=200)
    assert abs(rho) < 0.15 and low < 0 < high
    perfect = pd.Series(np.arange(20.0))
    assert metrics.spearman_ci(perfect, -perfect, n_boot=50) == pytest.approx((-1.0, -1.0, -1.0))


def test_spearman_ci_says_when_resamples_have_no_rank_order(caplog):
    x = pd.Series(np.arange(40.0))
    rare = pd.Series(
        np.where(np.arange(40) % 8 == 0, 1.0, 0.0)
    )  # 5 of 40 items change: a few resamples miss all
    with caplog.at_level("WARNING", logger="invariance.kernels.metrics"):
        rho, low, high = metrics.spearman_ci(x, rare, n_boot=1000)
    assert np.isfinite([rho, low, high]).all()
    assert "resamples with a constant series left out" in caplog.text
    caplog.clear()
    once = pd.Series(np.where(np.arange(40) == 3, 1.0, 0.0))  # one item changes: most resamples miss it
    with caplog.at_level("WARNING", logger="invariance.kernels.metrics"):
        rho, low, high = metrics.spearman_ci(x, once, n_boot=1000)
    assert np.isfinite(rho) and np.isnan(low) and np.isnan(high)
    assert "CI not given" in caplog.text
