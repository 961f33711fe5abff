"""Notebook helpers on hand-made tables; profiles; photographer's-bias statistics; paper numbers."""

import numpy as np
import pandas as pd
import pytest
from invariance import bias, experiments, paper, profiles


def pairs_table():
    # image a: top-1 along frames 0..3 = [1, 1, 2, 2]; p_true = [.5, .6, .2, .3]; image b: constant
    return pd.DataFrame({
        "image_id": ["a"] * 3 + ["b"] * 3, "label": [1] * 6,
        "frame_a": [0, 1, 2] * 2, "frame_b": [1, 2, 3] * 2,
        "top1_a": [1, 1, 2, 1, 1, 1], "top1_b": [1, 2, 2, 1, 1, 1],
        "p_top_a": [0.5] * 6, "p_top_b": [0.5] * 6,
        "p_true_a": [0.5, 0.6, 0.2, 0.9, 0.9, 0.9], "p_true_b": [0.6, 0.2, 0.3, 0.9, 0.9, 0.9],
    })  # fmt: skip


def test_frame_table_and_path_matrix():
    f = experiments.frame_table(pairs_table())
    a = f[f.image_id == "a"]
    assert a.frame.tolist() == [0, 1, 2, 3] and a.top1.tolist() == [1, 1, 2, 2]
    assert a.p_true.tolist() == [0.5, 0.6, 0.2, 0.3]
    m = experiments.path_matrix(pairs_table())
    assert list(m.index) == ["b", "a"] and m.shape == (2, 4)  # sorted by mean P(correct), high first


def test_jaggedness_and_jumpiest():
    j = experiments.jaggedness_by_image(pairs_table())
    assert j["a"] == pytest.approx(1 / 3) and j["b"] == 0
    assert experiments.jumpiest(pairs_table(), 1) == ["a"]
    s = experiments.jaggedness_summary({"net": pairs_table()})
    assert s.loc["net", "jaggedness"] == pytest.approx(1 / 6)


def test_summary_wide_and_typicality():
    summary = experiments.summary_table({("net", "c"): pairs_table()}, n_boot=100)
    assert set(summary.metric) == {"p_top1_change", "mac", "mac_true", "accuracy"}
    assert "[" in experiments.wide(summary).iloc[0, 0]
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
    t = experiments.typical_vs_atypical(pd.DataFrame(rows))
    assert t.loc[("net", "typical: large, centred"), "p_top1_change"] == pytest.approx(0.1)
    assert t.loc[("net", "atypical: small, in a corner"), "p_top1_change"] == pytest.approx(0.5)


def test_sweep_conditions_follow_the_official_code():
    c = experiments.sweep_conditions((0.1, 1.0), (1.3,), steps=8)
    assert c["crop|0.1"].fraction == 0.1 and c["crop shift-before-rescale|1"].shift_before_rescale
    assert c["embed black|1.3"].side == int(224 / 1.3) == 172 and c["embed mean|1.3"].background == "mean"


def test_profiles_merge_and_refuse():
    s = profiles.settings("03_jaggedness_maps", "default", n_images=None, models=["lite0"])
    assert s.models == ("lite0",) and s.n_images == 64 and s.span == 48
    with pytest.raises(AttributeError):
        _ = s.no_such_setting
    with pytest.raises(ValueError, match="profile"):
        profiles.settings("03_jaggedness_maps", "fast")
    paper_s = profiles.settings("04_protocol_table", "paper")
    with pytest.raises(FileNotFoundError, match="val_dir"):
        profiles.load_images(paper_s)
    assert "UNTRAINED" in profiles.settings("04_protocol_table", "smoke", pretrained=False).describe()


def test_boxes_and_augmentation_statistics():
    boxes = bias.load_boxes()
    assert len(boxes) > 80_000 and boxes.cx.between(0, 1).all() and (boxes["size"] <= 1.0001).all()
    terrier = bias.of_class(boxes, bias.TIBETAN_TERRIER)
    assert 40 <= len(terrier) <= 120  # about 50 val images of the class
    # a box covering the whole image is at least as large as any crop; crops away from the centre drop it
    whole = pd.DataFrame({"x0": [0] * 500, "y0": [0] * 500, "x1": [400] * 500, "y1": [300] * 500,
                          "W": [400] * 500, "H": [300] * 500})  # fmt: skip
    aug = bias.augmented_placements(whole, seed=1)
    assert 0 < len(aug) < 500 and (aug["size"] >= 1 - 1e-9).all() and aug.cx.between(0, 1).all()
    c = bias.centre_concentration(pd.DataFrame({"cx": np.full(9, 0.5), "cy": np.full(9, 0.5), "size": 1.0}))
    assert c["central_third"] == 1.0


def test_paper_numbers():
    assert paper.table1("resnet50", "black", "p_top1_change") == 0.20
    assert paper.table1("resnet50", "black", "mac", "keras") == 0.093
    assert paper.table1("densenet121", "crop", "mac", "keras") is None


def test_protocol_summary_of_no_networks_is_an_empty_table():
    table = experiments.protocol_summary([], [])
    assert table.empty and list(table.columns[:3]) == ["model", "condition", "metric"]
