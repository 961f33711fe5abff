"""The crop-rescale sweep (notebook 05): the U shape's arms as paired differences, and the sentence."""

import pandas as pd
from invariance.claims import crop_rescale


def pairs(changes: list[int]) -> pd.DataFrame:
    """One pair per image i0..; the top-1 changes where changes[i] is 1."""
    n = len(changes)
    return pd.DataFrame(
        {"image_id": [f"i{i}" for i in range(n)], "label": 1, "top1_a": 1, "top1_b": [1 + c for c in changes]}
        | {"p_top_a": 0.5, "p_top_b": 0.5, "margin_a": 0.1, "p_true_a": 0.5, "p_true_b": 0.5}
    )


def test_u_contrast_pairs_each_arm_with_the_middle_by_image():
    n = 20
    tables = {
        ("lite0", "crop|0.1"): pairs([1] * n),  # every image changes at the tiny crop
        ("lite0", "crop|0.4"): pairs([0] * n),
        ("lite0", "crop|1"): pairs([1] * (n // 2) + [0] * (n // 2)),  # middle: half of the images on one crop
        ("lite0", "crop shift-before-rescale|0.1"): pairs([0] * n),  # not part of the contrast
        ("lite0", "embed black|1.9"): pairs([0] * n),
        ("lite0", "embed black|1.3"): pairs([1] * n),  # not the smallest embedding
    }
    c = crop_rescale.u_contrast(tables, n_boot=200).set_index("contrast")
    tiny = c.loc["tiny crop (s = 0.1) minus crops s >= 0.4"]
    assert (tiny.end, tiny.middle, tiny.difference, tiny.images) == (1.0, 0.25, 0.75, n)
    assert tiny.low > 0
    emb = c.loc["smallest black embedding (224/1.9 px) minus crops s >= 0.4"]
    assert (emb.end, emb.difference) == (0.0, -0.25) and emb.high < 0

    rows = [
        {"model": "lite0", "metric": "p_top1_change", "variant": v, "scale": s, "value": x, "images": n}
        for v, s, x in (("crop", 0.1, 1.0), ("crop", 0.4, 0.0), ("crop", 1.0, 0.5))
        + (("crop shift-before-rescale", 0.1, 0.0), ("crop shift-before-rescale", 0.4, 0.0))
        + (("embed black", 1.9, 0.0),)
    ]
    text = crop_rescale.f05_sweep({"summary": rows, "contrast": c.reset_index().to_dict("records")})
    assert "tiny crop (s = 0.1) minus crops s >= 0.4 +0.750" in text
    assert "1 of 2 arms above the middle with CIs above 0: the U shape is not established" in text
    assert crop_rescale.f05_sweep(rows).endswith("the official code's U shape, with wide CIs at this n.")
