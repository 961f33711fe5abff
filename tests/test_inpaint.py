"""The batched inpainting against inpaint.official_fill, the line-by-line port of the official SciPy code."""

import numpy as np
import torch
from conftest import rand_image
from invariance import inpaint


def test_binomial_kernel():
    k = inpaint.binomial_kernel(12).numpy()
    ref = np.array([0.5, 0.5])
    for _ in range(10):
        ref = np.convolve(ref, [0.5, 0.5])
    assert k.shape == (12,) and np.allclose(k, ref, atol=0, rtol=1e-12) and np.isclose(k.sum(), 1)


def test_fill_matches_official_code():
    n, frames, known = 40, [], []
    for i, (y, x, h, w) in enumerate([(5, 7, 12, 15), (20, 2, 10, 10), (0, 0, 40, 8)]):
        src = rand_image(h, w, seed=i)
        canvas = torch.zeros(3, n, n)
        canvas[:, y : y + h, x : x + w] = src
        m = torch.zeros(1, n, n, dtype=torch.bool)
        m[:, y : y + h, x : x + w] = True
        frames.append(canvas)
        known.append(m)
    frames, known = torch.stack(frames), torch.stack(known)
    ours = inpaint.fill(frames, known, max_unfilled=20, max_passes=6)
    for i in range(3):
        ref = inpaint.official_fill(
            frames[i].numpy().transpose(1, 2, 0).astype(np.float64),
            known[i, 0].numpy().astype(np.float64),
            20,
            6,
        )
        assert np.abs(ours[i].numpy().transpose(1, 2, 0) - ref).max() < 1e-5


def test_fill_keeps_known_pixels_and_fills_background():
    canvas = torch.zeros(1, 3, 64, 64)
    canvas[:, :, 20:40, 10:30] = rand_image(20, 20)
    known = canvas.sum(1, keepdim=True) > 0
    out = inpaint.fill(canvas, known)
    assert torch.equal(out[known.expand_as(out)], canvas[known.expand_as(canvas)])
    assert (out.sum(1) == 0).sum() <= 200  # the official stopping rule


def test_bench_inpainting_section_agrees_with_the_official_code(few_images):
    from invariance import bench

    r = bench.inpaint_vs_official(
        few_images[:1], canvas=64, device=torch.device("cpu"), ref_frames=2, repeats=1
    )
    assert r["frames"] == 9 and r["official_frames"] == 2
    assert r["max_abs_diff"] < 1e-5 and r["ours_s_per_frame"] > 0 and r["official_s_per_frame"] > 0
