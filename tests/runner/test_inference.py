"""Inference-time remedies: crop selection moves with the content, the batched choice equals a naive
per-image one, averaging averages softmaxes, and a wrapped network runs through the ordinary runner."""

import numpy as np
import pytest
import torch
from invariance.runner import evaluate, inference, protocols
from invariance.sources import models
from torch import nn


def naive_select(x: torch.Tensor, radius: int, circular: bool = False) -> list[torch.Tensor]:
    """The obvious way, one frame at a time: score every candidate window by the filter response at its
    centre (computed by hand, pixel by pixel, from the channel mean), take the first best, cut it out."""
    w = inference.score_filter()[0, 0]
    k = w.shape[0] // 2
    out = []
    for frame in x:
        n = frame.shape[-1]
        m = n - 2 * radius
        lum = frame.float().mean(0)
        candidates = range(n) if circular else range(2 * radius + 1)
        best, pick = None, None
        for oy in candidates:
            for ox in candidates:
                cy, cx = oy + m // 2, ox + m // 2
                total = 0.0
                for i in range(-k, k + 1):
                    for j in range(-k, k + 1):
                        y, xx = cy + i, cx + j
                        if circular:
                            y, xx = y % n, xx % n
                        elif not (0 <= y < n and 0 <= xx < n):
                            continue
                        total += float(w[i + k, j + k]) * float(lum[y, xx])
                if best is None or total > best + 1e-6:
                    best, pick = total, (oy, ox)
        rows = [(pick[0] + i) % n for i in range(m)]
        cols = [(pick[1] + j) % n for j in range(m)]
        out.append(frame[:, rows][:, :, cols])
    return out


def test_score_filter_is_zero_mean_unit_norm_and_fixed():
    w = inference.score_filter()
    assert w.shape == (1, 1, 5, 5)
    assert abs(float(w.sum())) < 1e-6 and abs(float(w.norm()) - 1) < 1e-6
    assert torch.equal(w, inference.score_filter())


@pytest.mark.parametrize("circular", [False, True])
def test_batched_selection_equals_the_naive_one(circular):
    x = torch.rand(3, 3, 20, 20, generator=torch.Generator().manual_seed(4))
    radius = 3
    m = 20 - 2 * radius
    got = inference.gather_windows(
        x, inference.select_offsets(x, radius, inference.score_filter(), circular), m, circular
    )
    want = naive_select(x, radius, circular)
    for g, w in zip(got, want, strict=True):
        assert torch.equal(g, w)


@pytest.mark.parametrize("shift", [(1, 1), (0, 5), (7, -3), (13, 2)])
def test_circular_selection_picks_the_same_content_under_any_integer_circular_shift(shift):
    x = torch.rand(2, 3, 24, 24, generator=torch.Generator().manual_seed(1))
    moved = torch.roll(x, shifts=shift, dims=(-2, -1))
    w, radius, m = inference.score_filter(), 4, 16
    a = inference.gather_windows(x, inference.select_offsets(x, radius, w, True), m, True)
    b = inference.gather_windows(moved, inference.select_offsets(moved, radius, w, True), m, True)
    assert torch.equal(a, b)
    # the plain centre window does not follow the content: the check can fail
    assert not torch.equal(x[..., 4:20, 4:20], moved[..., 4:20, 4:20])


def test_window_selection_follows_a_one_pixel_view_shift_when_the_best_candidate_is_in_both_views():
    """A hand-made scene with one bright dot: two views one pixel apart choose the same scene window."""
    scene = torch.zeros(1, 3, 40, 40)
    scene[..., 20, 21] = 1.0  # one bright pixel, well inside both views' candidates
    a_view, b_view = scene[..., 0:32, 0:32], scene[..., 1:33, 1:33]
    w, radius, m = inference.score_filter(), 4, 24
    oa = inference.select_offsets(a_view, radius, w)
    ob = inference.select_offsets(b_view, radius, w)
    assert torch.equal(oa, ob + 1)  # the same place in the scene
    assert torch.equal(inference.gather_windows(a_view, oa, m), inference.gather_windows(b_view, ob, m))


class Recorder(nn.Module):
    """A toy classifier: logits = (mean of each channel) @ W, and it records the sizes it sees."""

    num_classes = 4

    def __init__(self):
        super().__init__()
        self.w = nn.Parameter(torch.randn(3, 4, generator=torch.Generator().manual_seed(0)))
        self.sizes = []

    def forward(self, x):
        self.sizes.append(tuple(x.shape[-2:]))
        return x.mean((-2, -1)) @ self.w * 10


def test_average_is_the_mean_softmax_over_the_stated_grid():
    net = Recorder()
    x = torch.rand(2, 3, 16, 16, generator=torch.Generator().manual_seed(2))
    got = torch.softmax(inference.Remedy(net, "average", 3)(x), -1)
    want = torch.stack(
        [torch.softmax(net(x[..., oy : oy + 10, ox : ox + 10]), -1) for oy in (0, 3, 6) for ox in (0, 3, 6)]
    ).mean(0)
    assert torch.allclose(got, want, atol=1e-6)
    assert set(net.sizes) == {(10, 10)}


def test_centre_is_the_middle_window():
    net = Recorder()
    x = torch.rand(1, 3, 16, 16)
    assert torch.allclose(inference.Remedy(net, "centre", 3)(x), net(x[..., 3:13, 3:13]))


@pytest.mark.parametrize(
    "kind, radius, match",
    [("blur", 3, "unknown remedy"), ("select", 0, "positive integer"), ("select", 2.5, "positive integer")],
)
def test_bad_remedies_are_refused(kind, radius, match):
    with pytest.raises(ValueError, match=match):
        inference.Remedy(Recorder(), kind, radius)


def test_a_radius_too_large_for_the_input_is_refused():
    with pytest.raises(ValueError, match="radius 7 leaves a 2-px window"):
        inference.Remedy(Recorder(), "select", 7)(torch.rand(1, 3, 16, 16))


def test_a_wrapped_network_runs_through_the_runner_and_names_its_remedy(lite0, few_images):
    net = inference.with_remedy(lite0, "select", radius=16)
    assert net.name == "lite0+select-r16" and "remedy select-r16" in net.weights
    assert inference.remedy_name(net.label) == "select-r16" and inference.remedy_name("lite0") == "plain"
    assert net.cache_key() != lite0.cache_key()
    t = evaluate.run(net, protocols.Crop(steps=1), few_images[:2], cache=False, progress=False)
    assert len(t) == 2 and np.isfinite(t.p_top_a).all()
    assert isinstance(lite0.module, nn.Module) and not isinstance(lite0.module, inference.Remedy)
    assert models.display_name(net.label) == "EfficientNet-Lite0+select-r16"
