"""Adaptive polyphase sampling against a naive per-image implementation, the certificate it gives (a network
with APS and circular padding is invariant to every circular shift at logit level), and the realistic
one-pixel shift protocols for 32x32 images against per-image numpy versions."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from invariance.claims import certified
from invariance.kernels import polyphase
from invariance.kernels.transforms import resize
from invariance.training import cnn as training


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


def test_a_tie_goes_to_the_lowest_index_and_is_not_shift_equivariant():
    # components (0,0) and (0,1) tie in norm (5): the first is kept; shifted by one column the
    # other one sits at index 0 and is kept instead, so the pooled sum changes (7 -> 5)
    x = torch.tensor([[[[3.0, 5.0, 4.0, 0.0], [0.0, 0.0, 0.0, 0.0]]]])
    assert polyphase.aps_choice(x).tolist() == [0]
    assert polyphase.aps_downsample(x).sum() == 7
    assert polyphase.aps_downsample(torch.roll(x, 1, dims=-1)).sum() == 5


def test_aps_needs_sides_divisible_by_the_stride():
    with pytest.raises(ValueError, match="multiples of the stride"):
        polyphase.aps_downsample(torch.randn(1, 1, 7, 8))


def test_aps_with_circular_padding_is_certified_invariant_to_circular_shifts():
    torch.manual_seed(0)
    images = torch.rand(2, 3, 32, 32)
    change, between = {}, {}
    variants = [("aps", "circular"), ("stride", "zeros"), ("aps", "zeros"), ("stride", "circular")]
    for downsampling, padding in variants:
        arch = training.Architecture(widths=(8, 16, 16, 16), downsampling=downsampling, padding=padding)
        net = training.make_network(arch).eval()
        change[downsampling, padding] = float(certified.circular_logit_change(net, images).max())
        with torch.inference_mode():  # how much the logits differ between two images: the scale of "moves"
            logits = net(images)
        between[downsampling, padding] = float((logits[0] - logits[1]).abs().max())
    certificate = change["aps", "circular"]
    assert certificate <= 1e-5 and certificate <= 1e-3 * between["aps", "circular"]
    for other in variants[1:]:
        assert change[other] > 0.3 * between[other] and change[other] > 1000 * certificate


def test_the_certificate_needs_eval_mode():
    net = training.make_network(training.Architecture(widths=(4, 8), downsampling="aps", padding="circular"))
    with pytest.raises(ValueError, match="eval mode"):
        certified.circular_logit_change(net.train(), torch.rand(1, 3, 8, 8))


# --- the realistic shift protocols for 32x32 images, against per-image numpy versions ---------------------


def test_crop_shift_and_circular_frames_match_numpy():
    images = torch.rand(2, 3, 8, 8)
    frames = certified.crop_shift_frames(images, pad=2, steps=4)
    assert frames.shape == (2, 5, 3, 8, 8)
    for n, img in enumerate(images.numpy()):
        padded = np.pad(img, ((0, 0), (2, 2), (2, 2)), mode="reflect")
        for k in range(5):
            assert np.array_equal(frames[n, k].numpy(), padded[:, k : k + 8, k : k + 8])
        assert np.array_equal(frames[n, 2].numpy(), img)  # k = pad: the image itself
        rolled = certified.circular_frames(images, steps=3)[n]
        for k in range(4):
            assert np.array_equal(rolled[k].numpy(), np.roll(img, (k, k), axis=(-2, -1)))
    with pytest.raises(ValueError, match="at most 4"):
        certified.crop_shift_frames(images, pad=2, steps=5)
    zeros = certified.crop_shift_frames(images, pad=2, steps=4, mode="constant")
    assert np.array_equal(zeros[0, 0].numpy(), np.pad(images[0].numpy(), ((0, 0), (2, 2), (2, 2)))[:, :8, :8])
    for square_only in (certified.crop_shift_frames, certified.random_crop_pairs):
        with pytest.raises(ValueError, match="square images; got 8x6"):
            square_only(torch.rand(1, 3, 8, 6))


def test_embed_and_growth_frames_place_the_resized_object_on_black():
    images = torch.rand(2, 3, 32, 32)
    frames = certified.embed_frames(images, side=20, canvas=32, steps=4)
    objects = resize(images, (20, 20)).numpy()
    start = (32 - 20 - 4) // 2
    for n in range(2):
        for k in range(5):
            want = np.zeros((3, 32, 32), np.float32)
            want[:, start + k : start + k + 20, start + k : start + k + 20] = objects[n]
            assert np.array_equal(frames[n, k].numpy(), want)
    grown = certified.growth_frames(images, sizes=(20, 21, 22), canvas=32)
    for j, side in enumerate((20, 21, 22)):
        at = (32 - side) // 2
        want = np.zeros((2, 3, 32, 32), np.float32)
        want[..., at : at + side, at : at + side] = resize(images, (side, side)).numpy()
        assert np.array_equal(grown[:, j].numpy(), want)
    with pytest.raises(ValueError, match="do not fit"):
        certified.embed_frames(images, side=30, canvas=32, steps=4)
    with pytest.raises(ValueError, match="do not fit"):
        certified.growth_frames(images, sizes=(30, 33), canvas=32)


def test_random_crop_pairs_are_windows_of_the_padded_image_at_seeded_offsets():
    images = torch.rand(3, 3, 8, 8)
    pairs = certified.random_crop_pairs(images, pad=2, generator=torch.Generator().manual_seed(5))
    offsets = torch.randint(0, 5, (3, 2, 2), generator=torch.Generator().manual_seed(5))
    assert pairs.shape == (3, 2, 3, 8, 8)
    for n, img in enumerate(images.numpy()):
        padded = np.pad(img, ((0, 0), (2, 2), (2, 2)), mode="reflect")
        for j in range(2):
            y, x = offsets[n, j].tolist()
            assert np.array_equal(pairs[n, j].numpy(), padded[:, y : y + 8, x : x + 8])
