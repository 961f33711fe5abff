"""Adaptive polyphase sampling against a naive per-image implementation, and the certificate it gives: a
network with APS and circular padding is invariant to every circular shift at logit level."""

from __future__ import annotations

import pytest
import torch
from invariance import certified, polyphase, training


def naive_aps(x: torch.Tensor) -> torch.Tensor:
    """One image at a time: the four components by slicing, their norms, the first largest."""
    out = []
    for img in x:
        comps = [img[:, i::2, j::2] for i in (0, 1) for j in (0, 1)]
        norms = [float(c.double().pow(2).sum()) for c in comps]
        out.append(comps[norms.index(max(norms))])
    return torch.stack(out)


def test_polyphase_components_are_the_strided_slices():
    x = torch.randn(2, 3, 6, 8)
    comps = polyphase.polyphase_components(x)
    assert comps.shape == (2, 4, 3, 3, 4)
    for k, (i, j) in enumerate([(0, 0), (0, 1), (1, 0), (1, 1)]):
        assert torch.equal(comps[:, k], x[..., i::2, j::2])


def test_aps_matches_the_naive_per_image_version():
    x = torch.randn(5, 4, 8, 8)
    x[1] = x[1].roll((1, 0), dims=(-2, -1))  # different images pick different components
    assert torch.equal(polyphase.aps_downsample(x), naive_aps(x))
    assert len(set(polyphase.aps_choice(torch.randn(64, 2, 4, 4)).tolist())) == 4


def test_aps_keeps_the_same_values_under_every_circular_shift():
    x = torch.randn(3, 2, 8, 8)
    y = polyphase.aps_downsample(x)
    for dy in range(8):
        for dx in range(8):
            z = polyphase.aps_downsample(torch.roll(x, (dy, dx), dims=(-2, -1)))
            # per image, the same coarse map, circularly shifted by (dy // 2, dx // 2) or one more
            for k in range(len(x)):
                assert any(
                    torch.equal(z[k], torch.roll(y[k], (a, b), dims=(-2, -1)))
                    for a in (dy // 2, (dy + 1) // 2)
                    for b in (dx // 2, (dx + 1) // 2)
                )


def test_aps_needs_sides_divisible_by_the_stride():
    with pytest.raises(ValueError, match="multiples of the stride"):
        polyphase.aps_downsample(torch.randn(1, 1, 7, 8))


def test_aps_with_circular_padding_is_certified_invariant_to_circular_shifts():
    torch.manual_seed(0)
    images = torch.rand(2, 3, 32, 32)
    change = {}
    for downsampling, padding in [
        ("aps", "circular"),
        ("stride", "zeros"),
        ("aps", "zeros"),
        ("stride", "circular"),
    ]:
        arch = training.Architecture(widths=(8, 16, 16, 16), downsampling=downsampling, padding=padding)
        net = training.make_network(arch).eval()
        change[downsampling, padding] = float(certified.circular_logit_change(net, images).max())
        with torch.inference_mode():
            spread = float(net(images).std())  # the logits' own scale, so "far more" means something
    assert change["aps", "circular"] <= 1e-5
    for other in [("stride", "zeros"), ("aps", "zeros"), ("stride", "circular")]:
        assert change[other] > 1e-3 * max(spread, 1.0) and change[other] > 1000 * change["aps", "circular"]
