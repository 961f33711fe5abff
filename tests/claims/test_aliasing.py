"""The sampling-theorem tools: exact Fourier shifts, the 1-D toy, circular padding, stage features."""

import numpy as np
import pandas as pd
import torch
from invariance.apps import profiles
from invariance.claims import aliasing
from invariance.kernels import metrics
from invariance.sources import models


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


def test_toy_spread_over_random_signals_brackets_the_plotted_one():
    shifts = np.linspace(0, 2, 9)
    spread = aliasing.toy_spread(aliasing.toy_curves(shifts=shifts), signals=4)
    lo, hi = spread["min over 4 signals"], spread["max over 4 signals"]
    # the draws use the shifts of the plotted curves, so seed 0's spread is one of the four
    assert ((lo <= spread.iloc[:, 0]) & (spread.iloc[:, 0] <= hi)).all()
    assert hi["linear, band-limited input"] < 1e-10 < lo["ReLU, band-limited input"]
    assert (lo < hi).loc[["ReLU, broadband input", "linear, broadband input"]].all()  # draws differ


def test_stage_summary_pools_init_seeds_and_keeps_one_network_per_image():
    rows = [
        {"model": m, "seed": seed, "stage": "s1", "stride": 2, "image_id": img, "change": value}
        for m, seeds in (("net", [-1]), ("arch (untrained)", [0, 1, 2]))
        for seed in seeds
        for img in ("a", "b", "c", "d")
        for value in (0.1 * (seed + 2) + 0.01 * ord(img), 0.2)
    ]
    pairs = pd.DataFrame(rows)
    out = aliasing.stage_summary(pairs).set_index("model")
    one = pairs[pairs.model == "net"]
    assert out.loc["net", "seeds"] == 1
    assert np.allclose(
        out.loc["net", ["change", "ci_low", "ci_high"]].to_numpy(float),
        metrics.bootstrap_ci(one.change.to_numpy(), one.image_id.to_numpy(), n_boot=500),
    )
    arch = pairs[pairs.model == "arch (untrained)"]
    assert out.loc["arch (untrained)", "seeds"] == 3
    assert np.allclose(
        out.loc["arch (untrained)", ["change", "ci_low", "ci_high"]].to_numpy(float),
        metrics.seed_image_ci(arch.change, arch.seed, arch.image_id),
    )
    # per-seed means 0.1*(seed+2)/2 + ...: the range of seed means is 0.1 wide
    assert np.isclose(out.loc["arch (untrained)", "seed_high"] - out.loc["arch (untrained)", "seed_low"], 0.1)


def test_periodicity_summary_judges_an_architecture_by_its_worst_seed():
    t = pd.DataFrame(
        {
            "shift": [0, 1, 32, 0, 1, 32],
            "max_abs_logit_diff": [0.0, 0.5, 1e-7, 0.0, 0.02, 3e-7],
            "top1_changes": 0,
            "seed": [0, 0, 0, 1, 1, 1],
        }
    )
    out = aliasing.periodicity_summary({"arch (untrained)": t, "net": t[t.seed == 0].assign(seed=-1)})
    assert out.loc["arch (untrained)"].tolist() == [3e-7, 0.02, 2]
    assert out.loc["net"].tolist() == [1e-7, 0.5, 0]


def test_untrained_architectures_come_one_per_init_seed():
    s = profiles.settings("07_sampling_theorem", "smoke", init_seeds=(0, 1))
    nets = profiles.load_architectures(s)
    assert [(n.label, n.seed) for n in nets] == [("resnet50 (untrained)", 0), ("resnet50 (untrained)", 1)]
    w0, w1 = (next(n.module.parameters()) for n in nets)
    assert not torch.equal(w0, w1) and nets[0].cache_key() != nets[1].cache_key()


def test_a_network_listed_twice_is_counted_once():
    net = models.load("resnet50", pretrained=False, seed=0)
    again = models.load("resnet50", pretrained=False, seed=0)
    other = models.load("resnet50", pretrained=False, seed=1)
    assert aliasing._distinct([net, again, other]) == [net, other]
