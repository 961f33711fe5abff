"""The controlled depth series (notebook 03): loading, the pair table, the band, the contrast, the verdict."""

import numpy as np
import pandas as pd
import pytest
import torch
from invariance.claims import depth_series as D
from invariance.runner import evaluate
from invariance.training import weights


def test_names_loading_and_the_error_naming_make_weights(tmp_path):
    assert D.network_name(2, 1) == "c10-stride-seed1" and D.network_name(4, 0) == "depth4-seed0"
    with pytest.raises(weights.WeightsError, match="make weights"):
        D.load_networks([1], [0], folder=tmp_path)
    nets = D.load_networks([1, 3], [0, 1], pretrained=False)
    assert [(n.variant, n.seed) for n in nets] == [
        ("depth 1", 0),
        ("depth 1", 1),
        ("depth 3", 0),
        ("depth 3", 1),
    ]
    blocks = [sum(1 for k in n.module.state_dict() if k.endswith("_conv.weight")) for n in nets[::2]]
    assert blocks == [3, 9]  # three groups of 1 and of 3 conv blocks


def test_the_pair_table_of_an_untrained_network():
    (net,) = D.load_networks([1], [0], pretrained=False)
    torch.manual_seed(0)
    images, labels = torch.rand(5, 3, 32, 32), torch.tensor([0, 1, 2, 3, 4])
    t = D.measure_network(net, images, labels, "random-5")
    assert len(t) == 5 * D.STEPS and list(t.columns[: len(evaluate.COLUMNS)]) == evaluate.COLUMNS
    assert (
        (t.depth == 1).all() and (t.seed == 0).all() and t.label.tolist() == np.repeat(range(5), 8).tolist()
    )
    again = D.measure_network(net, images, labels, "random-5")  # from the cache
    pd.testing.assert_frame_equal(t, again)


def pairs_of(
    changes: dict[int, float], images: int = 60, seeds=(0, 1, 2), correct: float = 1.0
) -> pd.DataFrame:
    """Hand-made pair tables: per depth, image i changes its top-1 on its single pair when i < share * N
    (the same images in every seed, with a seed-to-seed wobble of one image); the first frame is correct for
    the first `correct` share of the images."""
    rows = []
    for depth, share in changes.items():
        for s in seeds:
            for i in range(images):
                changed = i < round(share * images) + (s - 1)
                right = i < correct * images
                rows.append({"image_id": i, "label": 1, "top1_a": 1 if right else 2})
                rows[-1] |= {"top1_b": rows[-1]["top1_a"] + int(changed), "depth": depth, "seed": s}
    return pd.DataFrame(rows).assign(p_top_a=0.5, p_top_b=0.5, margin_a=0.1, p_true_a=0.5, p_true_b=0.5)


def nets_with(acc: dict[int, float]):
    return [D.certified.C10Network(f"depth {d}", 0, None, "", "", a) for d, a in acc.items()]


def test_band_contrast_and_verdicts_of_every_outcome():
    acc = {1: 0.75, 2: 0.84, 3: 0.85, 4: 0.845}
    deeper = pairs_of({1: 0.1, 2: 0.2, 3: 0.3, 4: 0.5})
    table = D.series_table(deeper, nets_with(acc))
    assert table.set_index("depth").in_band.to_dict() == {1: False, 2: True, 3: True, 4: True}
    assert table.set_index("depth").p_top1_change[4] == pytest.approx(0.5)
    diffs = D.contrast(deeper, table)
    band = diffs[(diffs.scope == "in band") & (diffs.measure == "p_top1_change")].iloc[0]
    assert (band.deeper, band.shallower, band.difference) == (4, 2, pytest.approx(0.3))
    assert set(diffs.scope) == {"in band", "all depths"}

    def verdict(pairs):
        t = D.series_table(pairs, nets_with(acc))
        v = {"table": t.to_dict("records"), "differences": D.contrast(pairs, t).to_dict("records")}
        return D.verdict_series(v)[0], D.f03_series(v)

    assert verdict(deeper)[0] == "reproduced"
    word, sentence = verdict(pairs_of({1: 0.5, 2: 0.5, 3: 0.3, 4: 0.1}))
    assert word == "not reproduced" and "outside the band" in sentence and "depth 4 minus depth 2" in sentence
    assert verdict(pairs_of({1: 0.3, 2: 0.3, 3: 0.3, 4: 0.3}))[0] == "inconclusive"
    only_one = {1: 0.75, 2: 0.84, 3: 0.70, 4: 0.70}
    t = D.series_table(deeper, nets_with(only_one))
    v = {"table": t.to_dict("records"), "differences": D.contrast(deeper, t).to_dict("records")}
    assert D.verdict_series(v)[0] == "not testable offline" or D.verdict_series(v)[0].startswith(
        "not testable"
    )


def test_the_correct_frame_control_can_overturn_the_verdict():
    # 90 images, the first 30 classified correctly: depth 2 changes on exactly those, depth 4 on the other 60
    # -> over all steps depth 4 changes more (2/3 vs 1/3), from correct frames less (0 vs 1): inconclusive
    a = pairs_of({2: 0.0, 4: 0.0}, images=90, correct=1 / 3)
    changes = np.where(a.depth == 2, a.image_id < 30, a.image_id >= 30)
    a["top1_b"] = a.top1_a + changes.astype(int)
    acc = {2: 0.84, 4: 0.845}
    t = D.series_table(a, nets_with(acc))
    v = {"table": t.to_dict("records"), "differences": D.contrast(a, t).to_dict("records")}
    d = pd.DataFrame(v["differences"]).set_index(["scope", "measure"])
    assert d.loc[("in band", "p_top1_change"), "low"] > 0
    assert d.loc[("in band", "p_top1_change_given_correct"), "difference"] == -1.0
    assert D.verdict_series(v)[0] == "inconclusive"


def test_the_figure_marks_untrained_networks_and_the_band():
    acc = {1: 0.75, 2: 0.84, 3: 0.85}
    pairs = pairs_of({1: 0.1, 2: 0.2, 3: 0.3})
    t = D.series_table(pairs, nets_with(acc))
    fig = D.plot_series(t, D.contrast(pairs, t), untrained=True)
    texts = [x.get_text() for x in fig.axes[0].texts]
    assert "UNTRAINED" in texts
    assert "(outside the band)" in fig.axes[0].get_xticklabels()[0].get_text()


def test_a_depth_without_a_correct_first_frame_gives_nan_not_an_error():
    # untrained networks on a few images (the paper profile's dry run): no correct frame at depth 4
    a = pairs_of({2: 0.3, 4: 0.3}, images=20)
    a.loc[a.depth == 4, "top1_a"] = 2
    a.loc[a.depth == 4, "top1_b"] = 3
    t = D.series_table(a, nets_with({2: 0.84, 4: 0.845})).set_index("depth")
    assert np.isnan(t.p_top1_change_given_correct[4]) and np.isnan(t.p_top1_change_given_correct_low[4])
    assert t.p_top1_change_given_correct[2] == pytest.approx(0.3, abs=0.05)
    d = D.contrast(a, t.reset_index()).set_index(["scope", "measure"])
    assert np.isnan(d.loc[("in band", "p_top1_change_given_correct"), "difference"])
    assert d.loc[("in band", "p_top1_change"), "difference"] == pytest.approx(0.7)
