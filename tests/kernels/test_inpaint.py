"""The batched inpainting against inpaint.official_fill, the line-by-line port of the official SciPy code."""

import numpy as np
import pytest
import torch
from conftest import rand_image
from invariance.kernels import inpaint


def official(frames: torch.Tensor, known: torch.Tensor, *args) -> torch.Tensor:
    """official_fill on each frame of (M, 3, N, N), known (M, 1, N, N): (M, 3, N, N) float64."""
    return torch.stack(
        [
            torch.from_numpy(
                inpaint.official_fill(
                    f.numpy().transpose(1, 2, 0).astype(np.float64), k[0].numpy().astype(np.float64), *args
                )
            ).permute(2, 0, 1)
            for f, k in zip(frames, known, strict=True)
        ]
    )


def pasted(n: int, boxes, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Frames (M, 3, n, n) on black with a random image at each box (y, x, h, w), cut at the canvas edge
    (y, x may be negative), and known (M, 1, n, n)."""
    frames, known = torch.zeros(len(boxes), 3, n, n), torch.zeros(len(boxes), 1, n, n, dtype=torch.bool)
    for i, (y, x, h, w) in enumerate(boxes):
        src = rand_image(h, w, seed=seed + i)
        y0, x0, y1, x1 = max(y, 0), max(x, 0), min(y + h, n), min(x + w, n)
        frames[i, :, y0:y1, x0:x1] = src[:, y0 - y : y1 - y, x0 - x : x1 - x]
        known[i, :, y0:y1, x0:x1] = True
    return frames, known


def assert_matches_official(frames, known, *args, atol=1e-6, **kw) -> torch.Tensor:
    ours = inpaint.fill(frames, known, **kw)
    assert ours.dtype == frames.dtype and ours.shape == frames.shape
    ref = official(frames, known, *args)
    assert (ours.double() - ref).abs().max() < atol
    return ours


def test_binomial_kernel():
    k = inpaint.binomial_kernel(12).numpy()
    ref = np.array([0.5, 0.5])
    for _ in range(10):
        ref = np.convolve(ref, [0.5, 0.5])
    assert k.shape == (12,) and np.allclose(k, ref, atol=0, rtol=1e-12) and np.isclose(k.sum(), 1)


def test_window_matrix_is_scipy_same_convolution():
    from scipy.signal import convolve

    kernel = inpaint.binomial_kernel(12)
    x = torch.rand(40, dtype=torch.float64)
    full = convolve(x.numpy(), kernel.numpy(), "same")
    padded = torch.cat([x.new_zeros(6), x, x.new_zeros(5 + 16)])
    band = inpaint.window_matrix(16, kernel)
    for j0 in (0, 16, 32):  # tiles of 16 outputs, the last one past the end of x
        got = (padded[j0 : j0 + 27] @ band).numpy()[: len(x) - j0]
        assert np.allclose(got, full[j0 : j0 + 16], atol=1e-15)


@pytest.mark.parametrize("tile", [11, 16, 32])
def test_fill_matches_official_code(tile):
    frames, known = pasted(40, [(5, 7, 12, 15), (20, 2, 10, 10), (0, 0, 40, 8)])
    assert_matches_official(frames, known, 20, 6, max_unfilled=20, max_passes=6, tile=tile)


def test_black_pixels_inside_the_image_are_filled_after_the_first_pass():
    frames, known = pasted(48, [(10, 12, 20, 24), (3, 30, 30, 15)])
    frames[0, :, 12:15, 14:17] = 0  # a black block, a black pixel and a black row inside the image
    frames[0, :, 25, 20] = 0
    frames[0, :, 29, 12:36] = 0
    frames[1, :, 3:33, 30] = 0  # a black column at the image's left edge
    frames[1, 0, 10, 35] = 0  # one channel 0: the pixel is not black
    ours = assert_matches_official(frames, known)
    # the first pass keeps them (known), later passes fill them: no black pixel left inside the images
    assert (ours[0, :, 10:30, 12:36].sum(0) != 0).all() and (ours[1, :, 3:33, 30:45].sum(0) != 0).all()


def test_images_cut_by_or_touching_the_canvas_edge():
    boxes = [(-5, 30, 15, 20), (28, 25, 12, 15), (10, -8, 20, 14), (30, 30, 30, 30), (0, 0, 9, 40)]
    frames, known = pasted(40, boxes)
    assert_matches_official(frames, known, 20, 80, max_unfilled=20)


def test_frame_that_hits_the_pass_limit():
    frames, known = pasted(64, [(30, 30, 4, 5)])
    ours = assert_matches_official(frames, known, 200, 3, max_passes=3)
    assert (ours.sum(1) == 0).sum() > 200  # stopped by the limit, not by the rule


def test_frames_finishing_after_different_numbers_of_passes():
    # passes needed: several, one, none (25 black pixels only: returned as it is), several, many
    boxes = [(20, 20, 8, 8), (2, 2, 44, 44), (0, 0, 48, 48), (5, 30, 15, 10), (0, 0, 1, 1)]
    frames, known = pasted(48, boxes)
    frames[2, :, 10:15, 10:15] = 0
    empty = torch.zeros(1, 3, 48, 48), torch.zeros(1, 1, 48, 48, dtype=torch.bool)  # nothing known
    noise = torch.rand(1, 3, 48, 48), torch.zeros(1, 1, 48, 48, dtype=torch.bool)  # unknown but not black
    noise[0][:, :, :30] = 0
    noise[1][:, :, 20:30, 20:30] = True
    frames = torch.cat([frames, empty[0], noise[0]])
    known = torch.cat([known, empty[1], noise[1]])
    ours = assert_matches_official(frames, known, 30, 80, max_unfilled=30)
    assert torch.equal(ours[2], frames[2])


def test_float32_work_and_one_chunk_for_the_whole_pass_agree():
    frames, known = pasted(48, [(5, 7, 20, 15), (20, 22, 10, 14)])
    ref = inpaint.fill(frames, known)
    assert torch.equal(inpaint.fill(frames, known, chunk=1_000_000), ref)  # the GPU default: one chunk
    assert (inpaint.fill(frames, known, dtype=torch.float32) - ref).abs().max() < 1e-6


def test_fill_keeps_known_pixels_and_fills_background():
    canvas = torch.zeros(1, 3, 64, 64)
    canvas[:, :, 20:40, 10:30] = rand_image(20, 20)
    known = canvas.sum(1, keepdim=True) > 0
    out = inpaint.fill(canvas, known)
    assert torch.equal(out[known.expand_as(out)], canvas[known.expand_as(canvas)])
    assert (out.sum(1) == 0).sum() <= 200  # the official stopping rule


def test_real_inpainting_protocol_frames_match_official_code(few_images):
    from invariance.runner.protocols import Translation

    frames, covered = Translation(background="inpaint").make_frames(few_images[0], 224, "cpu")
    frames, covered = frames[[0, -1]], covered[[0, -1]]
    assert_matches_official(frames, covered)


def test_bench_inpainting_section_agrees_with_the_official_code(few_images):
    from invariance.apps import bench

    r = bench.inpaint_vs_official(
        few_images[:1], canvas=64, device=torch.device("cpu"), ref_frames=2, repeats=1
    )
    assert r["frames"] == 9 and r["official_frames"] == 2
    assert r["max_abs_diff"] < 1e-5 and r["ours_s_per_frame"] > 0 and r["official_s_per_frame"] > 0
