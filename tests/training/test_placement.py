"""Placement distributions of the remedies experiment: where training puts objects on the canvas."""

from __future__ import annotations

import pytest
import torch
from invariance.training.placement import PlacementDistribution


def test_gaussian_placement_statistics():
    p = PlacementDistribution("gaussian", canvas=64, size=32, sigma=4.0)
    off = p.sample(40000, torch.Generator().manual_seed(0)).float()
    assert off.min() >= 0 and off.max() <= 32
    assert torch.allclose(off.mean(0), torch.tensor([16.0, 16.0]), atol=0.1)
    # rounding to integers adds variance 1/12
    assert torch.allclose(off.std(0), torch.tensor([(16 + 1 / 12) ** 0.5] * 2), rtol=0.03)
    beyond_3_sigma = ((off - 16).abs() >= 12).float().mean()
    assert beyond_3_sigma < 0.005


def test_uniform_and_centre_placement_statistics():
    gen = torch.Generator().manual_seed(0)
    off = PlacementDistribution("uniform").sample(33000, gen)
    counts = torch.bincount(off[:, 0], minlength=33)
    assert len(counts) == 33 and counts.min() > 850 and counts.max() < 1150  # 1000 expected per offset
    assert torch.allclose(off.float().mean(0), torch.tensor([16.0, 16.0]), atol=0.15)
    assert PlacementDistribution("centre").sample(3, gen).tolist() == [[16, 16]] * 3
    with pytest.raises(ValueError, match="placement kind"):
        PlacementDistribution("corner")
    with pytest.raises(ValueError, match="does not fit"):
        PlacementDistribution(canvas=16, size=32)
