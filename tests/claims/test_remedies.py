"""The remedies evaluation on hand-made networks whose answers are known for every position."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from invariance.claims import remedies
from invariance.kernels.transforms import paste
from invariance.sources.cifar import Split
from invariance.training.cnn import TrainConfig, Trained
from invariance.training.placement import PlacementDistribution


class CornerDetector(torch.nn.Module):
    """Class 0 when the canvas's top-left pixel is lit (object at offset (0, 0)), else class 1."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        lit = (x[:, :, 0, 0].sum(1) > 0).float()
        return torch.stack([lit * 5, (1 - lit) * 5, torch.zeros_like(lit)], dim=1)


def white_objects(n: int) -> Split:
    return Split(
        "test", torch.full((n, 3, 32, 32), 255, dtype=torch.uint8), torch.ones(n, dtype=torch.long), "w"
    )


def corner_run() -> Trained:
    return Trained(CornerDetector(), TrainConfig(), pd.DataFrame(), Path("corner"))


def test_zones_follow_the_photographers_sigma():
    z = remedies.zone(np.array([16, 12.5, 12.0, 19.5, 11.5, 4.5, 4.0, 28.0, 31.5]), centre=16, sigma=4)
    assert z.tolist() == [
        "centre",
        "centre",
        "centre",
        "centre",
        "between",
        "between",
        "edge",
        "edge",
        "edge",
    ]


def test_diagonal_pairs_on_a_hand_made_network():
    pairs = remedies.diagonal_pairs(corner_run(), white_objects(3))
    assert len(pairs) == 3 * 32  # 33 offsets, 32 one-pixel diagonal steps per object
    first = pairs[pairs.offset == 0]
    assert (first.top1_a == 0).all() and (first.top1_b == 1).all()  # the only change: leaving the corner
    rest = pairs[pairs.offset > 0]
    assert (rest.top1_a == 1).all() and (rest.top1_b == 1).all()
    assert (pairs.zone == "centre").sum() == 3 * 8 and (pairs.zone == "edge").sum() == 3 * 8
    table = remedies.remedies_table(pairs.assign(variant="corner", seed=0))
    value = table.set_index(["zone", "metric"]).value
    assert value["edge", "p_top1_change"] == pytest.approx(1 / 8)
    assert value["centre", "p_top1_change"] == 0
    assert value["edge", "accuracy"] == pytest.approx(7 / 8)  # frame (0, 0) says class 0, label is 1
    assert value["centre", "accuracy"] == 1
    soft = torch.softmax(torch.tensor([5.0, 0.0, 0.0]), 0)
    assert value["edge", "mac"] == pytest.approx(float(soft[0] - soft[1]) / 8, rel=1e-5)


def test_position_probs_equal_one_frame_at_a_time():
    torch.manual_seed(0)
    net = torch.nn.Sequential(
        torch.nn.Conv2d(3, 4, 3, 2),
        torch.nn.ReLU(),
        torch.nn.AdaptiveAvgPool2d(1),
        torch.nn.Flatten(),
        torch.nn.Linear(4, 3),
    ).eval()
    objects = torch.randint(0, 256, (3, 3, 8, 8), dtype=torch.uint8)
    offsets = torch.tensor([[0, 0], [1, 1], [4, 2]])
    batched = remedies.position_probs(net, objects, offsets, canvas=12, batch=4)
    with torch.no_grad():
        for i in range(3):
            for k in range(3):
                frame = paste(objects[i : i + 1], offsets[k : k + 1], 12)[0].float() / 255
                assert torch.allclose(batched[i, k], net(frame).softmax(1)[0], atol=1e-6)


def test_variants_and_their_configs():
    cfg = remedies.variant_config("uniform+blurpool", steps=5, seed=2, sigma=3.0)
    assert cfg.placement == PlacementDistribution("uniform", sigma=3.0)
    assert cfg.arch.downsampling == "blurpool" and cfg.steps == 5 and cfg.seed == 2
    assert remedies.variant_config("no subsampling").arch.downsampling == "none"
    with pytest.raises(ValueError, match="unknown variant"):
        remedies.variant_config("dropout")


def test_curves_and_wide_table():
    pairs = remedies.diagonal_pairs(corner_run(), white_objects(2)).assign(variant="corner", seed=0)
    curves = remedies.position_curves(pairs)
    assert curves.p_top1_change.tolist() == [1.0] + [0.0] * 31
    # every image changes at offset 0 and none elsewhere: the CIs collapse onto the values
    assert curves.p_top1_change_low.tolist() == curves.p_top1_change_high.tolist() == [1.0] + [0.0] * 31
    assert (curves.images == 2).all()
    wide = remedies.wide(remedies.remedies_table(pairs))
    assert list(wide.columns.get_level_values(0)) == ["accuracy"] * 2 + ["p_top1_change"] * 2 + ["mac"] * 2


class SizeDetector(torch.nn.Module):
    """Class 0 when more than 1,200 canvas pixels are lit (objects larger than ~35 px), else class 1."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        big = ((x.sum(1) > 0).flatten(1).sum(1) > 1200).float()
        return torch.stack([big * 5, (1 - big) * 5, torch.zeros_like(big)], dim=1)


def test_size_pairs_resize_the_objects_and_stay_near_the_centre():
    run = Trained(SizeDetector(), TrainConfig(), pd.DataFrame(), Path("size"))
    pairs = remedies.size_pairs(run, white_objects(2), sizes=[24, 32, 40], steps=4).assign(
        variant="s", seed=0
    )
    assert len(pairs) == 3 * 2 * 4 and sorted(pairs["size"].unique()) == [24, 32, 40]
    table = remedies.size_table(pairs).set_index("size")
    assert table.accuracy.tolist() == [1.0, 1.0, 0.0]  # labels are 1: only the 40 px objects count as big
    assert (table.p_top1_change == 0).all()
    with pytest.raises(ValueError, match="do not fit"):
        remedies.size_pairs(run, white_objects(1), sizes=[62], steps=4)


def test_comparisons_flag_only_differences_that_hold_across_seeds():
    def variant(name: str, centre: dict[int, bool], edge: bool) -> pd.DataFrame:
        """20 images: a top-1 change at the centre for the seeds marked True, at the edge as given."""
        rows = []
        for seed, changed in centre.items():
            for i in range(20):
                for where, c in (("centre", changed), ("edge", edge)):
                    rows.append(
                        {
                            "variant": name,
                            "seed": seed,
                            "image_id": i,
                            "zone": where,
                            "top1_a": 0,
                            "top1_b": int(c),
                        }
                    )
        return pd.DataFrame(rows)

    pairs = pd.concat(
        [
            variant("photographer", {0: True, 1: True, 2: True}, edge=True),
            variant("steady", {0: False, 1: False, 2: False}, edge=True),  # fewer changes with every seed
            variant("flaky", {0: False, 1: True, 2: True}, edge=True),  # one seed disagrees
        ]
    )
    c = remedies.comparisons(pairs).set_index(["comparison", "zone"])
    assert c.loc[("steady - photographer", "centre"), "difference"] == -1.0
    assert c.loc[("steady - photographer", "centre"), "finding"]
    assert not c.loc[("flaky - photographer", "centre"), "finding"]  # a retraining could flip it
    assert c.loc[("steady: edge - centre", "both"), "difference"] == 1.0
    assert c.loc[("steady: edge - centre", "both"), "finding"]
    assert not c.loc[("photographer: edge - centre", "both"), "finding"]  # no gap at all


def test_display_names_follow_zhang_and_keep_the_table_keys_apart():
    assert remedies.display_name("uniform+blurpool") == "uniform + BlurPool"
    assert remedies.display_name("blurpool - photographer") == "BlurPool - photographer"
    assert remedies.display_name("photographer") == "photographer"


def test_size_and_stride_sentences_follow_the_intervals():
    size = [
        {"variant": v, "size": s, "accuracy": 0.5, "p_top1_change": p, "p_top1_change_low": p - 0.02,
         "p_top1_change_high": p + 0.02}
        for v, ps in (("photographer", (0.18, 0.14, 0.08)), ("blurpool", (0.11, 0.07, 0.07)))
        for s, p in zip((20, 32, 48), ps, strict=True)
    ]  # fmt: skip
    assert "below its value at the training size (CIs apart) for photographer (1 of 2 variants)" in (
        remedies.f09_size(size)
    )
    for r in size:
        r["p_top1_change_low"], r["p_top1_change_high"] = r["p_top1_change"] - 0.1, r["p_top1_change"] + 0.1
    assert (
        "the CIs overlap for every variant (point estimates lower at 48 px for 1 of 2)"
        in remedies.f09_size(size)
    )
    offsets = [
        {"variant": "photographer", "offset": o, "p_top1_change": 0.2 if o % 8 == 0 else 0.1,
         "p_top1_change_low": 0.05, "p_top1_change_high": 0.25}
        for o in range(32)
    ]  # fmt: skip
    text = remedies.f09_controlled(offsets)
    assert "(8, 16, 24; every variant that subsamples has it), the photographer network changes 0.20" in text
    assert "each offset's CI is about +/-0.10, and this difference is not tested." in text


def test_remedies_text_names_variants_as_the_figures_do():
    comparisons = [
        {"comparison": "uniform+blurpool - blurpool", "zone": "centre", "difference": 0.012, "low": -0.01,
         "high": 0.03, "finding": False},
        {"comparison": "blurpool - photographer", "zone": "edge", "difference": -0.05, "low": -0.07,
         "high": -0.03, "finding": True},
    ]  # fmt: skip
    text = remedies._held(pd.DataFrame(comparisons).set_index(["comparison", "zone"]))
    assert "uniform + BlurPool - BlurPool (centre) +0.012" in text
    assert "BlurPool - photographer (edge) -0.050" in text and "blurpool" not in text
