"""Notebook 10: the measures of a path on hand-made probabilities, the summary's pairing with the circular
figure, the seed-to-seed ranking agreement, loading the networks (and the error when a variant was never
trained), the black-canvas embedding being a circular shift, an untrained certified network under every
protocol, and the verdict's outcomes on hand-made sidecars. The certificate itself (APS with circular padding
against the stride-2 baseline) and APS against a naive per-image version: tests/kernels/test_polyphase.py."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch
from invariance.claims import certified as C
from invariance.training import weights


def probs_path(top: list[int], p_top: list[float], classes: int = 3) -> torch.Tensor:
    """(K, classes): frame k puts p_top[k] on class top[k] and splits the rest evenly."""
    out = torch.empty(len(top), classes)
    for k, (c, p) in enumerate(zip(top, p_top, strict=True)):
        out[k] = (1 - p) / (classes - 1)
        out[k, c] = p
    return out


def test_path_measures_on_hand_made_paths():
    a = probs_path([0, 0, 1, 1], [0.8, 0.6, 0.7, 0.9])  # one change in three steps
    b = probs_path([2, 2, 2, 2], [0.5, 0.5, 0.5, 0.5])  # no change, no probability change
    t = C.path_measures(torch.stack([a, b]))
    assert t.p_top1_change.tolist() == pytest.approx([1 / 3, 0.0])
    # MAC: |p_k[c_k] - p_k+1[c_k]| with c_k frame k's top class: |0.8-0.6|, |0.6-0.15|, |0.7-0.9|
    assert t.mac[0] == pytest.approx((0.2 + 0.45 + 0.2) / 3) and t.mac[1] == 0
    # consistency: two distinct frames of 4 agree when both are among the two 0s or the two 1s: 4 / 12
    assert t.consistency.tolist() == pytest.approx([4 / 12, 1.0])


def per_image_table(values: dict[tuple[str, int, str], list[float]]) -> pd.DataFrame:
    """Per-image rows {(variant, seed, protocol): p_top1_change per image}; mac = p / 10, consistency 1 - p,
    correct 1 on every image."""
    rows = []
    for (variant, seed, protocol), ps in values.items():
        for i, p in enumerate(ps):
            rows.append(
                {"variant": variant, "seed": seed, "protocol": protocol, "image_id": i, "p_top1_change": p}
                | {"mac": p / 10, "consistency": 1 - p, "correct": 1.0}
            )
    return pd.DataFrame(rows)


def test_summary_pairs_each_protocol_with_the_same_networks_circular_figure():
    t = per_image_table(
        {
            ("aps-circular", 0, C.CIRCULAR): [0, 0, 0, 0],
            ("aps-circular", 0, C.CROP): [0.5, 0, 0.25, 0.25],
            ("aps-circular", 1, C.CIRCULAR): [0, 0, 0, 0],
            ("aps-circular", 1, C.CROP): [0.25, 0.25, 0, 0],
            ("stride", 0, C.CIRCULAR): [0.5, 0.5, 0.5, 0.5],
            ("stride", 0, C.CROP): [0.5, 0.5, 0.5, 0.5],
        }
    )
    s = C.summary(t).set_index(["variant", "protocol"])
    r = s.loc[("aps-circular", C.CROP)]
    assert r.p_top1_change == pytest.approx(0.1875) and r.p_top1_change_minus_circular == pytest.approx(
        0.1875
    )
    assert r.p_top1_change_seed_min == pytest.approx(0.125) and r.p_top1_change_seed_max == 0.25
    # two seeds: the seed part (t with 1 degree of freedom) widens the interval, clipped to the values' range
    assert r.seeds == 2 and r.images == 4 and r.p_top1_change_low == 0 < 0.1875 < r.p_top1_change_high
    assert s.loc[("stride", C.CROP)].p_top1_change_minus_circular == 0
    assert s.loc[("aps-circular", C.CIRCULAR)].p_top1_change_high == 0  # all zeros: no width
    assert C.accuracy_table(t).set_index("variant").accuracy.tolist() == [1.0, 1.0]


def test_rank_agreement_is_kendalls_tau_between_seeds_and_nan_with_one_seed():
    def table(order_per_seed: dict[int, list[float]]) -> pd.DataFrame:
        return per_image_table(
            {
                (v, seed, p): [ps[j]] * 2
                for seed, ps in order_per_seed.items()
                for j, v in enumerate(("stride", "circular", "aps"))
                for p in C.REALISTIC + (C.RANDOM_WINDOWS,)
            }
        )

    same = C.rank_agreement(table({0: [0.3, 0.2, 0.1], 1: [0.6, 0.4, 0.2]}))
    assert same.kendall_tau.tolist() == pytest.approx([1.0] * 4) and same.seed_pairs.tolist() == [1] * 4
    reversed_ = C.rank_agreement(table({0: [0.3, 0.2, 0.1], 1: [0.1, 0.2, 0.3], 2: [0.3, 0.2, 0.1]}))
    assert reversed_.kendall_tau.iloc[0] == pytest.approx((-1 - 1 + 1) / 3) and reversed_.seed_pairs[0] == 3
    one = C.rank_agreement(table({0: [0.3, 0.2, 0.1]}))
    assert one.kendall_tau.isna().all() and one.seeds.tolist() == [1] * 4


def test_certificate_table_takes_the_worst_image_and_counts_those_within_rounding():
    certs = pd.DataFrame(
        {
            "variant": ["aps-circular"] * 3 + ["stride"] * 3,
            "seed": 0,
            "image_id": [0, 1, 2] * 2,
            "max_logit_change": [1e-7, 3e-6, 2e-4, 0.5, 0.2, 0.1],
            "logit_range": [4.0, 5.0, 6.0] * 2,
        }
    )
    t = C.certificate_table(certs).set_index("variant")
    assert t.loc["aps-circular", "certificate"] == 2e-4 and t.loc["aps-circular", "within_rounding"] == 2
    assert t.loc["stride", "median_change"] == 0.2 and t.loc["stride", "within_rounding"] == 0


def test_a_variant_never_trained_is_an_error_naming_make_weights(tmp_path):
    with pytest.raises(weights.WeightsError, match="No shipped network of variant 'aps'.*make weights"):
        C.load_networks(["aps"], folder=tmp_path)
    with pytest.raises(weights.WeightsError, match="make weights"):  # a requested seed that is missing
        C.load_networks(["stride"], seeds=[2], folder=tmp_path)
    with pytest.raises(ValueError, match="unknown variant"):
        C.load_networks(["maxpool"], pretrained=False)
    nets = C.load_networks(["stride", "aps-circular"], seeds=[0, 1], pretrained=False)
    assert [(n.variant, n.seed) for n in nets] == [
        ("stride", 0),
        ("stride", 1),
        ("aps-circular", 0),
        ("aps-circular", 1),
    ]
    assert all(not n.module.training and n.manifest_accuracy is None for n in nets)
    w0, w1 = (next(p for p in n.module.parameters() if p.dim() == 4 and p.requires_grad) for n in nets[:2])
    assert not torch.equal(w0, w1)  # init seeds give different networks
    assert C.network_labels(nets) == ["stride (init seeds 0, 1)", "aps-circular (init seeds 0, 1)"]


def test_moving_an_object_on_a_black_canvas_is_a_circular_shift_of_the_canvas():
    frames = C.embed_frames(torch.rand(2, 3, 32, 32), side=24, canvas=32, steps=8)
    for k in range(8):
        assert torch.equal(frames[:, k + 1], torch.roll(frames[:, k], (1, 1), dims=(-2, -1)))
    # not so for the window moving in the padded image: new content enters at a border
    crops = C.crop_shift_frames(torch.rand(2, 3, 32, 32), pad=4, steps=8)
    assert not torch.equal(crops[:, 1], torch.roll(crops[:, 0], (-1, -1), dims=(-2, -1)))


def test_an_untrained_certified_network_changes_under_no_circular_shift_and_no_black_canvas_move():
    torch.manual_seed(0)
    images, labels = torch.rand(4, 3, 32, 32), torch.randint(0, 10, (4,))
    nets = C.load_networks(["aps-circular", "stride"], pretrained=False)
    t = C.measure_networks(nets, images, labels, "random-4", steps=4)
    assert len(t) == 2 * len(C.PROTOCOLS) * 4
    cert = t[t.variant == "aps-circular"].set_index("protocol")
    for protocol in (C.CIRCULAR, C.EMBED):
        assert (cert.loc[protocol, "mac"] < 1e-6).all() and (cert.loc[protocol, "consistency"] == 1).all()
    stride = t[t.variant == "stride"].set_index("protocol")
    assert stride.loc[C.CIRCULAR, "mac"].max() > 1000 * cert.loc[C.CIRCULAR, "mac"].max()
    again = C.measure_networks(nets, images, labels, "random-4", steps=4)  # from the cache
    pd.testing.assert_frame_equal(t, again)
    c = C.certificate_table(C.certificates(nets[:1], images[:1], "random-4"))
    assert c.certificate[0] <= 1e-5 and c.within_rounding[0] == 1


def sidecar(aps: dict[str, tuple[float, float, float]], certificate: float, seeds: int = 1):
    """Values of a 10_certified_shifts sidecar: the certified variant's P(top-1 change) (mean, low, high) per
    protocol, the stride baseline at 0.2 everywhere, and the certified variant's certificate."""
    rows = []
    for variant, cells in (("aps-circular", aps), ("stride", {p: (0.2, 0.15, 0.25) for p in C.PROTOCOLS})):
        for protocol in C.PROTOCOLS:
            m, lo, hi = cells.get(protocol, (0.0, 0.0, 0.0))
            rows.append(
                {"variant": variant, "protocol": protocol, "images": 100, "p_top1_change": m}
                | {"p_top1_change_low": lo, "p_top1_change_high": hi, "p_top1_change_minus_circular": m}
                | {"p_top1_change_minus_circular_low": lo, "p_top1_change_minus_circular_high": hi}
            )
    certs = [
        {"variant": v, "seed": k, "certificate": c, "median_logit_range": 3.0, "images": 16}
        for v, c in (("aps-circular", certificate), ("stride", 0.4))
        for k in range(seeds)
    ]
    acc = [
        {"variant": v, "accuracy": 0.8, "accuracy_low": 0.77, "accuracy_high": 0.83}
        for v in ("aps-circular", "stride")
    ]
    ranks = [
        {
            "protocol": p,
            "kendall_tau": 1.0 if seeds > 1 else np.nan,
            "seed_pairs": seeds * (seeds - 1) // 2,
            "seeds": seeds,
        }
        for p in C.REALISTIC
    ]
    values = {"summary": rows, "certificates": certs, "accuracy": acc, "ranks": ranks}
    return lambda name: values


@pytest.mark.parametrize(
    "aps, certificate, word",
    [
        ({C.CROP: (0.05, 0.03, 0.07), C.GROWTH: (0.08, 0.05, 0.1)}, 2e-6, "**reproduced**"),
        (
            {C.CROP: (0.05, 0.03, 0.07), C.GROWTH: (0.08, 0.05, 0.1)},
            0.3,
            "**inconclusive**: the premise fails",
        ),
        ({C.CROP: (0.01, 0.0, 0.03), C.GROWTH: (0.08, 0.05, 0.1)}, 2e-6, "**inconclusive**"),
        ({C.CROP: (0.002, 0.0, 0.006), C.GROWTH: (0.001, 0.0, 0.004)}, 2e-6, "**not reproduced**"),
        # the black-canvas move is a circular shift: changes there do not decide the verdict
        (
            {C.CROP: (0.002, 0.0, 0.006), C.GROWTH: (0.001, 0.0, 0.004), C.EMBED: (0.2, 0.1, 0.3)},
            2e-6,
            "**not reproduced**",
        ),
    ],
)
def test_the_verdict_needs_the_certificate_and_changes_under_both_non_cyclic_protocols(
    aps, certificate, word
):
    text = C.verdict(sidecar(aps, certificate))
    assert text.startswith(word) and "Shifman & Weiss: about 0.11" in text


def test_the_sentence_says_when_the_ranking_across_seeds_cannot_be_computed_yet():
    cells = {C.CROP: (0.05, 0.03, 0.07)}
    one = C.f10_certified(sidecar(cells, 2e-6, seeds=1)(""))
    assert "cannot be computed yet: 1 seed shared by every variant" in one
    assert "aps-circular: accuracy 0.800 [0.770, 0.830], certificate 2.0e-06" in one
    three = C.f10_certified(sidecar(cells, 2e-6, seeds=3)(""))
    assert "ranking between seeds: window moves in padded image +1.00 (3 seed pairs)" in three
