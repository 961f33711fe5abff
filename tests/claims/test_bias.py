"""Photographer's bias: real box statistics, augmentation, typical vs atypical grid positions."""

import numpy as np
import pandas as pd
import pytest
from invariance.claims import bias


def test_boxes_and_augmentation_statistics():
    boxes = bias.load_boxes()
    assert len(boxes) > 80_000 and boxes.cx.between(0, 1).all() and (boxes["size"] <= 1.0001).all()
    terrier = bias.of_class(boxes, bias.TIBETAN_TERRIER)
    assert 40 <= len(terrier) <= 120  # about 50 val images of the class
    # a box covering the whole image is at least as large as any crop; crops away from the centre drop it
    whole = pd.DataFrame(
        {
            "x0": [0] * 500,
            "y0": [0] * 500,
            "x1": [400] * 500,
            "y1": [300] * 500,
            "W": [400] * 500,
            "H": [300] * 500,
        }
    )
    aug = bias.augmented_positions(whole, seed=1)
    assert 0 < len(aug) < 500 and (aug["size"] >= 1 - 1e-9).all() and aug.cx.between(0, 1).all()
    c = bias.centre_concentration(pd.DataFrame({"cx": np.full(9, 0.5), "cy": np.full(9, 0.5), "size": 1.0}))
    assert c["central_third"] == 1.0


def test_share_leaving_crop_counts_the_boxes_augmentation_drops():
    def boxes(x0, y0, x1, y1, n=300):
        cols = {"x0": x0, "y0": y0, "x1": x1, "y1": y1, "W": 400, "H": 300}
        return pd.DataFrame({k: [v] * n for k, v in cols.items()})

    # a box at the image centre leaves its crop far less often than a 2 px box in the top-left corner
    centred = bias.share_leaving_crop(boxes(190, 140, 210, 160), seed=3)
    corner = bias.share_leaving_crop(boxes(0, 0, 2, 2), seed=3)
    assert 0 <= centred < 0.5 < corner <= 1
    # the same draws as augmented_positions: what it keeps is exactly the rest
    b = boxes(0, 0, 100, 100)
    kept = len(bias.augmented_positions(b, seed=5))
    assert bias.share_leaving_crop(b, seed=5) == pytest.approx(1 - kept / len(b))
    placed = bias.crop_placements(b, seed=5)
    outside = ~placed.cx.between(0, 1) | ~placed.cy.between(0, 1)
    assert len(placed) == len(b) and (placed.inside == ~outside).all()


def test_typical_vs_atypical_picks_the_centre_and_corner_cells():
    rows = []
    for side in (60, 140):
        for r in range(3):
            for c in range(3):
                p = (
                    0.1
                    if (side == 140 and (r, c) == (1, 1))
                    else (0.5 if side == 60 and r != 1 and c != 1 else 0.3)
                )
                for metric, v in (("p_top1_change", p), ("accuracy", 1 - p)):
                    rows.append(
                        {"model": "net", "metric": metric, "value": v, "side": side, "row": r, "col": c}
                    )
    t = bias.typical_vs_atypical(pd.DataFrame(rows))
    assert t.loc[("net", "typical: large, centred"), "p_top1_change"] == pytest.approx(0.1)
    assert t.loc[("net", "atypical: small, in a corner"), "p_top1_change"] == pytest.approx(0.5)


def _boxes(bw, bh, cx, cy, files=None) -> pd.DataFrame:
    n = len(bw)
    return pd.DataFrame(
        {
            "bw": bw,
            "bh": bh,
            "cx": cx,
            "cy": cy,
            "file": files if files is not None else [f"im{i}" for i in range(n)],
        }
    ).assign(area=lambda t: t.bw * t.bh)


def test_size_kept_expectation_on_hand_made_boxes():
    # a box wider than two thirds of the image has its centre in the central third along that axis
    p = bias.central_axis_probability(np.array([0.0, 0.5, 2 / 3, 0.9, 1.0, 1.3]))
    assert np.allclose(p, [1 / 3, 2 / 3, 1.0, 1.0, 1.0, 1.0])
    t = _boxes([0.9, 0.0, 0.5], [0.1, 0.0, 0.5], [0.5, 0.1, 0.5], [0.5, 0.5, 0.9])
    assert np.allclose(bias.central_expected(t), [1 * (1 / 3) / 0.9, 1 / 9, 4 / 9])
    assert list(bias.central_observed(t)) == [1.0, 0.0, 0.0]


def test_resampled_baseline_agrees_with_the_analytic_one():
    rng = np.random.default_rng(1)
    n = 40_000
    t = _boxes(rng.random(n), rng.random(n) * 0.5, np.full(n, 0.5), np.full(n, 0.5))
    drawn = bias.resampled_centres(t, seed=2)
    assert ((drawn.cx - drawn.bw / 2) >= 0).all() and ((drawn.cx + drawn.bw / 2) <= 1).all()
    assert abs(bias.central_observed(drawn).mean() - bias.central_expected(t).mean()) < 0.01


def test_excess_is_zero_for_boxes_placed_where_they_fit_and_positive_for_centred_ones():
    rng = np.random.default_rng(3)
    n = 6000
    t = _boxes(rng.random(n) * 0.3, rng.random(n) * 0.3, np.zeros(n), np.zeros(n))
    uniform = bias.excess(bias.resampled_centres(t, seed=4), n_boot=200, seed=0)
    assert uniform["excess_low"] < 0 < uniform["excess_high"]
    centred = bias.excess(t.assign(cx=0.5, cy=0.5), n_boot=200, seed=0)
    assert centred["observed"] == 1.0 and centred["excess_low"] > 0.5
    table = bias.excess_by_size({"s": t.assign(cx=0.5, cy=0.5)}, strata=4, n_boot=50)
    assert list(table.stratum) == [0, 1, 2, 3, 4] and (table.n.iloc[1:].sum() == n)


def test_density_ratio_spreads_each_box_over_where_it_fits():
    t = _boxes([1.0, 0.5], [1.0, 1.0], [0.5, 0.25], [0.55, 0.55])
    m = bias.density_ratio(t, bins=4)
    assert m["expected"].sum() == pytest.approx(2.0)
    # the full-width box's centre is always 0.5: all its x mass in the bin holding 0.5 (columns 2)
    # the half-width box spreads over [0.25, 0.75]: half each in columns 1 and 2; full height: row 2
    assert (
        np.allclose(m["expected"][2], [0, 0.5, 1.5, 0])
        and m["observed"][2, 1] == 1
        and m["observed"][2, 2] == 1
    )
    assert np.isnan(m["ratio"]).all()  # fewer than 5 boxes expected anywhere


def test_bias_verdict_comes_from_the_excess():
    def read_with(low, high):
        rows = [
            {"set": name, "stratum": 0, "observed": 0.54, "expected": 0.51, "excess": 0.03}
            | {"excess_low": low, "excess_high": high, "n": 100}
            for name in ("val boxes, all classes", "val boxes, Tibetan terrier", bias.AUGMENTED)
        ]
        rows.append(rows[0] | {"stratum": 1, "excess_low": 0.01, "excess_high": 0.05})
        values = {
            "06_bias_beyond_size": {"excess": rows},
            "06_photographers_bias": {"sets": [{"set": "val boxes, all classes", "central_third": 0.54}]},
        }
        return values.__getitem__

    assert bias.verdict(read_with(0.02, 0.04)).startswith("**reproduced**")
    assert bias.verdict(read_with(-0.01, 0.04)).startswith("**inconclusive**")
    assert bias.verdict(read_with(-0.05, -0.01)).startswith("**not reproduced**")
    assert "+3.0 points [+2.0, +4.0]" in bias.verdict(read_with(0.02, 0.04))


def test_placement_contrast_pairs_corner_and_inner_cells_by_image():
    # a 3 x 3 grid: corners (0,0) (0,2) (2,0) (2,2), inner (1,1); two images; image "a" changes its top-1
    # in every corner and never inside, image "b" never changes: differences +1 and 0, mean 0.5
    tables = {}
    for r in range(3):
        for c in range(3):
            corner = r in (0, 2) and c in (0, 2)
            tables[("net", f"60|{r}|{c}")] = pd.DataFrame(
                {
                    "image_id": ["a", "b"],
                    "label": [1, 1],
                    "top1_a": [1, 2],
                    "top1_b": [3 if corner else 1, 2],
                    "p_top_a": 0.5,
                    "p_top_b": 0.5,
                }
            )
    t = bias.placement_contrast(tables, n_boot=200).set_index("metric")
    p = t.loc["p_top1_change"]
    assert (p.corner, p.inner, p.difference, p.images) == (0.5, 0.0, 0.5, 2)
    assert p.low <= 0.5 <= p.high
    acc = t.loc["accuracy"]  # image a correct everywhere, b wrong everywhere: no difference
    assert acc.difference == 0.0
    given = t.loc["p_top1_change_given_correct"]  # only image a's first frames are correct
    assert (given.corner, given.inner, given.difference, given.images) == (1.0, 0.0, 1.0, 1)
    assert bias.placement_contrast({k: v for k, v in tables.items() if k[1][3] != "1"}).empty  # no inner


def test_placement_sentence_compares_corners_and_inner_cells_within_each_size():
    rows = [
        {"model": "lite0", "metric": metric, "side": side, "row": r, "col": c, "images": 40,
         "value": (0.5 if (r, c) != (1, 1) else 0.3) / (side // 60) if metric == "p_top1_change" else 0.4}
        for metric in ("p_top1_change", "accuracy") for side in (60, 120) for r in range(3) for c in range(3)
    ]  # fmt: skip
    text = bias.f06_placement(rows)  # an older sidecar: the grid only, point estimates per size
    assert "per object size: 60 px 0.50 vs 0.30 (accuracy 0.40 vs 0.40); 120 px 0.25 vs 0.15" in text
    contrast = [
        {"model": "lite0", "side": side, "metric": m, "corner": 0.5, "inner": 0.3, "difference": 0.2}
        | {"low": low, "high": 0.3, "images": 40}
        for side, low in ((60, 0.1), (120, -0.05))
        for m in ("p_top1_change", "accuracy")
    ]
    paired = bias.f06_placement({"grid": rows, "contrast": contrast})
    assert "60 px 0.50 vs 0.30, difference +0.20 [+0.10, +0.30]" in paired
    assert "CI above 0, at 60 px of 2 interpretable sizes" in paired
    low = [r | {"value": 0.1} if r["metric"] == "accuracy" and r["side"] == 60 else r for r in rows]
    assert "60 px" not in bias.f06_placement({"grid": low, "contrast": contrast}).split("CI above 0, at")[1]


def test_first_frame_table_pools_the_cells_of_each_size():
    def pairs(margins, changes):
        return pd.DataFrame(
            {"image_id": ["a", "b"], "label": [1, 1], "top1_a": [1, 2]}
            | {"top1_b": [1 + changes[0], 2 + changes[1]]}
            | {"p_top_a": 0.5, "p_top_b": 0.5, "margin_a": margins, "p_true_a": 0.5, "p_true_b": 0.5}
        )

    tables = {
        ("net", "60|0|0"): pairs([0.1, 0.2], [1, 0]),
        ("net", "60|0|1"): pairs([0.3, 0.4], [0, 0]),
        ("net", "100|0|0"): pairs([0.5, 0.6], [0, 0]),
    }
    t = bias.first_frame_table(tables, bins=2).set_index(["condition", "split", "part"])
    assert t.loc[("60 px", "correctness", "correct"), "pairs"] == 2  # image a in both 60 px cells
    assert t.loc[("60 px", "correctness", "correct"), "p_top1_change"] == 0.5
    assert t.loc[("60 px", "margin", 0), "p_top1_change"] == 0.5  # margins 0.1 (changes) and 0.2
    assert t.loc[("100 px", "margin", 1), "pairs"] == 1
    fig = bias.plot_first_frame(t.reset_index())
    assert [x.get_text() for x in fig.axes[0].get_xticklabels()] == ["60 px", "100 px"]
