"""Notebook 11's controls on hand-made tensors: the stated norms, the permutation's values, the half-pixel
shift's interpolation, and the verdict from the paired differences."""

import pandas as pd
import pytest
import torch
from invariance.claims import shift_controls as sc


def _pair(seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    x1 = torch.rand(2, 3, 8, 8, generator=g) * 0.2 + 0.4  # in [0.4, 0.6]: x1 plus any moved d stays in [0, 1]
    x2 = torch.roll(x1, shifts=(1, 1), dims=(2, 3))
    return x1, x2


def test_noise_and_permuted_controls_have_the_shifts_norm():
    x1, x2 = _pair()
    d = x2 - x1
    g = torch.Generator().manual_seed(1)
    noise = sc.noise_like(d, g)
    assert torch.allclose(noise.flatten(1).norm(dim=1), d.flatten(1).norm(dim=1), rtol=1e-5)
    perm = sc.permute_pixels(d, g)
    assert torch.allclose(perm.flatten(1).norm(dim=1), d.flatten(1).norm(dim=1), rtol=1e-6)
    for i in range(2):  # the same values per image, moved: each pixel's RGB triplet kept together
        assert torch.equal(perm[i].flatten().sort().values, d[i].flatten().sort().values)
        triplets = {tuple(v.tolist()) for v in d[i].reshape(3, -1).T}
        assert {tuple(v.tolist()) for v in perm[i].reshape(3, -1).T} == triplets
    assert not torch.equal(perm, d)  # and they did move


def test_control_frames_record_their_achieved_norms():
    x1, x2 = _pair()
    frames, norms = sc.control_frames(x1, x2, seed=3)
    assert set(frames) == set(sc.CONTROLS) and torch.equal(frames["shift"], x2)
    for name, f in frames.items():
        assert f.shape == x1.shape and f.min() >= 0 and f.max() <= 1
        assert torch.allclose(norms[name], (f - x1).flatten(1).norm(dim=1))
    # |d| <= 0.2: x1 plus the permuted d needs no clipping, so its norm is d's exactly
    assert torch.allclose(norms["permuted"], norms["shift"], rtol=1e-5)
    again, _ = sc.control_frames(x1, x2, seed=3)
    assert torch.equal(again["noise"], frames["noise"])  # seeded


def test_half_shift_is_the_mean_of_each_two_by_two_neighbourhood():
    x = torch.arange(16.0).reshape(1, 1, 4, 4).expand(1, 3, 4, 4) / 16
    h = sc.half_shift(x)
    assert h[0, 0, 0, 0] == pytest.approx((0 + 1 + 4 + 5) / 4 / 16)
    assert h[0, 0, 3, 3] == pytest.approx(15 / 16)  # last row and column replicated
    # a linear ramp moves by exactly half a step (away from the replicated edge)
    assert torch.allclose(h[0, 0, :3, :3], x[0, 0, :3, :3] + (0.5 * 4 + 0.5) / 16)


def test_jpeg_changes_a_textured_frame_a_little():
    x1, _ = _pair()
    j = sc.jpeg(x1)
    assert j.shape == x1.shape and 0 < (j - x1).abs().mean() < 0.1


def test_verdict_from_the_paired_differences():
    def read_with(lows, highs):
        rows = [
            {"model": "lite0", "condition": "crop", "control": c, "split": "all", "part": "all"}
            | {"difference": (lo + hi) / 2, "low": lo, "high": hi, "images": 100}
            for c, lo, hi in zip(sc.SIZE_MATCHED, lows, highs, strict=True)
        ]
        summary = [
            {"model": "lite0", "condition": "crop", "control": c, "split": "all", "norm": n}
            for c, n in (("shift", 2.0), ("noise", 1.9), ("permuted", 2.0))
        ]
        return {"11_shift_controls": {"differences": rows, "summary": summary}}.__getitem__

    assert sc.verdict(read_with([0.01, 0.02], [0.05, 0.06])).startswith("**reproduced**")
    assert "achieved norms are 0.95-1.00 of the shift's" in sc.verdict(read_with([0.01, 0.02], [0.05, 0.06]))
    assert sc.verdict(read_with([-0.3, -0.2], [-0.1, -0.05])).startswith("**not reproduced**")
    assert sc.verdict(read_with([-0.3, -0.01], [-0.1, 0.02])).startswith("**inconclusive**")


def test_summary_splits_by_margin_and_correctness():
    t = pd.DataFrame(
        {
            "image_id": ["a", "b", "c", "d"],
            "label": [1, 1, 2, -1],
            "top1": [1, 1, 1, 3],
            "p_top": [0.9, 0.5, 0.6, 0.4],
            "p_second": [0.05, 0.45, 0.3, 0.35],
        }
    )
    for c in sc.CONTROLS:  # only image b (the nearest tie) changes, under the shift only
        t[f"top1_{c}"] = [1, 2 if c == "shift" else 1, 1, 3]
        t[f"p_top_{c}"] = t.p_top
        t[f"norm_{c}"] = 1.0
    s = sc.summary({("lite0", "crop"): t}, bins=2, n_boot=50)
    shift = s[s.control == "shift"].set_index(["split", "part"])
    assert shift.loc[("all", "all"), "p_top1_change"] == 0.25
    assert shift.loc[("correctness", "correct"), "images"] == 2  # a and b right; c wrong; d unlabelled
    assert shift.loc[("margin", "0"), "p_top1_change"] == 0.5  # margins b 0.05, d 0.05: the low bin
    assert shift.loc[("margin", "1"), "p_top1_change"] == 0.0
    d = sc.shift_minus_controls({("lite0", "crop"): t}, bins=2, n_boot=50).set_index(["control", "part"])
    assert d.loc[("noise", "all"), "difference"] == 0.25


def test_matched_controls_reach_the_shifts_norm_on_a_black_canvas():
    x1 = torch.zeros(1, 3, 16, 16)
    x1[..., 4:12, 4:12] = 0.6  # an object on black: half of any noise on the black is clipped away
    x2 = torch.roll(x1, shifts=(1, 1), dims=(2, 3))
    frames, norms = sc.control_frames(x1, x2, seed=0)
    assert norms["noise"] == pytest.approx(norms["shift"], rel=0.02)
    assert norms["permuted"] == pytest.approx(norms["shift"], rel=0.05)  # values at +-0.6 saturate sooner
    naive = (x1 + sc.noise_like(x2 - x1, torch.Generator().manual_seed(0))).clamp(0, 1)
    assert (naive - x1).norm() < 0.9 * norms["shift"]  # what the rescaling makes up for
