"""The sampling-theorem tools: exact Fourier shifts, the 1-D toy, circular padding, stage features."""

import numpy as np
import torch
from invariance import aliasing, models


def test_fourier_shift_integer_is_roll_and_lowpass_is_bandlimited():
    x = np.random.default_rng(0).standard_normal(32)
    assert np.allclose(aliasing.fourier_shift(x, 3), np.roll(x, 3))
    y = aliasing.lowpass(x, 0.2)
    assert np.abs(np.fft.fft(y)[np.abs(np.fft.fftfreq(32)) >= 0.2]).max() < 1e-9


def test_toy_is_invariant_exactly_when_shiftable():
    spread = aliasing.toy_spread(aliasing.toy_curves(shifts=np.linspace(0, 2, 9))).iloc[:, 0]
    assert spread["linear, band-limited input"] < 1e-10
    assert spread["ReLU, broadband input"] > 0.05
    assert spread["ReLU + blur before subsampling"] < spread["ReLU, broadband input"] / 3


def test_circular_padding_gives_periodicity_of_the_total_stride(lite0):
    x = torch.rand(1, 3, 64, 64)
    for module in (lite0.module, models.load("resnet50", pretrained=False).module):
        net = aliasing.circularize(module)
        with torch.inference_mode():
            base = net(x)
            at_stride = (net(torch.roll(x, (32, 32), (-2, -1))) - base).abs().max()
            off_stride = (net(torch.roll(x, (1, 1), (-2, -1))) - base).abs().max()
        assert at_stride < 1e-4 < 1e-3 < off_stride
    # the original keeps zero padding: circularize works on a copy
    assert type(lite0.module.conv_stem).__name__ == "Conv2dSame"


def test_stage_features(lite0):
    assert [s for _, s in aliasing.stage_modules(lite0.module)] == [2, 4, 8, 16, 32]
    feats = aliasing.pooled_stage_features(lite0, torch.rand(2, 3, 64, 64))
    assert [f.shape[0] for f in feats] == [2] * 5 and feats[-1].shape[1] == 320
    assert not any(m._forward_hooks for m in lite0.module.modules())  # hooks removed
