"""Depth under controls (notebook 03): pixel-matched sides, the all-correct subset, the verdicts."""

import pandas as pd
import pytest
import torch
from invariance import depth, protocols
from invariance.images import SourceImage


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


@pytest.mark.parametrize(
    ("lows", "highs", "expected"),
    [
        ((0.10, 0.30), (0.20, 0.40), "reproduced"),  # deepest's CI above the shallowest's
        ((0.30, 0.10), (0.40, 0.20), "reversed"),
        ((0.10, 0.15), (0.20, 0.25), "no difference"),  # overlapping CIs
    ],
)
def test_verdict_compares_the_shallowest_and_deepest_cis(lows, highs, expected):
    rows = pd.DataFrame({"model": ["lite0", "lite2"], "ci_low": lows, "ci_high": highs})
    assert depth.verdict(rows) == expected
    assert depth.verdict(rows.iloc[:1]) == "needs two networks"
