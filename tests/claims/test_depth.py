"""Depth under controls (notebook 03): pixel-matched sides, the all-correct subset, the verdicts."""

import pandas as pd
import pytest
import torch
from invariance.claims import depth
from invariance.runner import protocols
from invariance.sources.images import SourceImage


def test_pixel_matched_sides_give_the_same_object_on_every_canvas():
    path = protocols.Translation(path="vertical", shape="square", span=6)
    for canvas in (224, 240, 260, 299, 380):
        matched = depth.pixel_matched(path, 100, canvas)
        assert protocols.scaled(matched.side, canvas) == 100
        assert matched.span == 6 and matched.path == "vertical"  # everything else kept
        frames, _ = matched.make_frames(
            SourceImage("x", 3, torch.full((3, 50, 70), 200, dtype=torch.uint8)),
            canvas,
            "cpu",
            covered=False,
        )
        lit = (frames[0].sum(0) > 0).nonzero()
        assert lit[:, 1].max() - lit[:, 1].min() + 1 == 100  # a 100 px square on the canvas
    assert protocols.scaled(path.side, 260) == 116  # the unmatched object grows with the canvas


def test_all_correct_keeps_the_images_every_network_gets_right_on_frame_zero():
    def table(correct_first: set[str]) -> pd.DataFrame:
        rows = []
        for img in ("a", "b", "c"):
            for k in range(2):
                right = img in correct_first if k == 0 else False  # only frame 0 counts
                rows.append({"image_id": img, "label": 3, "frame_a": k, "top1_a": 3 if right else 4})
        return pd.DataFrame(rows)

    assert depth.all_correct({"n1": table({"a", "b"}), "n2": table({"b", "c"})}) == ["b"]
    assert depth.all_correct({}) == []


def changes(counts: list[int]) -> pd.DataFrame:
    """A pair table of 10 pairs per image: image i changes its top-1 on counts[i] of them."""
    rows = []
    for i, count in enumerate(counts):
        for k in range(10):
            rows.append({"image_id": f"i{i}", "label": 1, "top1_a": 1, "top1_b": 2 if k < count else 1})
    return pd.DataFrame(rows)


def test_differences_pair_the_images_and_name_the_verdict():
    base = [1, 3, 5, 2, 4, 0, 6, 3]
    more = [c + 1 for c in base]  # the deeper network changes one more pair in ten on every image
    comparisons = {
        "up": {"lite0": changes(base), "lite1": changes(base), "lite2": changes(more)},
        "down": {"lite0": changes(more), "lite2": changes(base)},
        "same": {"lite0": changes(base), "lite2": changes(base[::-1])},  # same mean, other images
        "alone": {"lite0": changes(base)},
    }
    d = depth.differences(comparisons).set_index("comparison")
    assert d.loc["up", "difference"] == pytest.approx(0.1) and d.loc["up", "verdict"] == "reproduced"
    # paired: a shift of 0.1 on every image is certain although the per-network CIs would overlap
    assert d.loc["up", "low"] == pytest.approx(0.1)
    assert d.loc["down", "verdict"] == "reversed"
    assert d.loc["same", "difference"] == pytest.approx(0.0) and d.loc["same", "verdict"] == "inconclusive"
    assert d.loc["alone", "verdict"] == "needs two networks"
    assert (d.loc["up", "shallower"], d.loc["up", "deeper"]) == ("lite0", "lite2")


def test_depth_verdict_says_which_way_overlapping_estimates_go():
    jag = [
        {"model": "lite0", "jaggedness": 0.22, "ci_low": 0.17, "ci_high": 0.27, "images": 64},
        {"model": "lite2", "jaggedness": 0.16, "ci_low": 0.12, "ci_high": 0.21, "images": 64},
    ]
    assert depth.verdict_depth(jag) == (
        "inconclusive (the CIs overlap; point estimates the other way: Lite2 below Lite0)"
    )
    jag[1] |= {"jaggedness": 0.25, "ci_high": 0.3}
    assert "the paper's way: Lite2 above Lite0" in depth.verdict_depth(jag)


def test_first_frame_split_and_its_sentence():
    # per network, 40 images: 20 correct first frames that never change, 20 wrong that always change; the
    # wrong ones are the near-ties (margin 0.01 vs 0.5)
    def table(model_shift: int) -> pd.DataFrame:
        n = 40
        right = [i < 20 for i in range(n)]
        return pd.DataFrame(
            {
                "image_id": [f"i{i}" for i in range(n)],
                "label": [1] * n,
                "top1_a": [1 if r else 2 for r in right],
                "top1_b": [1 if r else 3 + model_shift for r in right],
                "p_top_a": 0.5,
                "p_top_b": 0.5,
                "margin_a": [0.5 if r else 0.01 for r in right],
                "p_true_a": 0.5,
                "p_true_b": 0.5,
            }
        )

    comparisons = {
        "fraction": {"lite0": table(0), "lite2": table(1)},
        "pixels": {"lite0": table(0)},  # not split
        "photos": {"lite0": table(0), "lite2": table(1)},
    }
    t = depth.first_frame_table(comparisons, bins=2)
    assert sorted(set(t.condition)) == ["fraction", "photos"] and len(t) == 4 * 4
    text = depth.f03_first_frame(t.to_dict("records"))
    assert (
        "embedded path 0.00 when correct vs 1.00 when wrong, 1.00 in the half nearest a top-1/top-2 tie"
        in text
    )
    assert "CIs apart, in 4 of 4 network x comparison cases" in text
    fig = depth.plot_first_frame(t)
    assert [x.get_text() for x in fig.axes[0].get_xticklabels()] == ["embedded path", "real photos"]


def test_the_controlled_series_decides_the_claim_when_it_is_testable():
    maps = [
        {"model": "lite0", "jaggedness": 0.10, "ci_low": 0.08, "ci_high": 0.12, "images": 64},
        {"model": "lite2", "jaggedness": 0.11, "ci_low": 0.09, "ci_high": 0.13, "images": 64},
    ]
    band = [
        {
            "scope": "in band",
            "measure": m,
            "deeper": 4,
            "shallower": 2,
            "difference": 0.05,
            "low": lo,
            "high": 0.08,
        }
        for m, lo in (("p_top1_change", 0.02), ("p_top1_change_given_correct", -0.01))
    ]
    sidecars = {"03_jaggedness_maps": maps, "03_depth_series": {"table": [], "differences": band}}

    def read(name):
        if name not in sidecars:
            raise FileNotFoundError(name)
        return sidecars[name]

    text = depth.verdict(read)
    assert text.startswith("**reproduced**: in the controlled CIFAR-10 depth series, depth 4 minus depth 2")
    assert text.count("**") == 2 and "With EfficientNet-Lite0/1/2: inconclusive" in text
    series_headline = "CIFAR-10 CNN depth 4 minus depth 2, P(top-1 change): +0.050 [+0.020, +0.080]"
    assert depth.headline(read) == series_headline
    del sidecars["03_depth_series"]
    assert depth.verdict(read).startswith("**inconclusive**: no controls in this run")
    sidecars["03_depth_controls"] = {
        "differences": [
            {"deeper": "lite2", "shallower": "lite0", "comparison": "fraction"}
            | {"difference": -0.05, "low": -0.1, "high": 0.01}
        ]
    }
    assert depth.headline(read).startswith("Lite2 minus Lite0, P(top-1 change) (fraction): -0.050")
