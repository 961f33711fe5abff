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
