"""Kernels against the obvious slow implementations, and the conventions pinned on tiny images."""

import numpy as np
import pytest
import torch
from conftest import rand_image
from invariance.kernels import transforms
from PIL import Image


def naive_paste(src: np.ndarray, y: int, x: int, n: int, bg: float = 0.0) -> np.ndarray:
    """(3, h, w) pasted at (y, x) into an (3, n, n) canvas, one pixel at a time."""
    out = np.full((3, n, n), bg, dtype=src.dtype)
    for r in range(src.shape[1]):
        for c in range(src.shape[2]):
            if 0 <= y + r < n and 0 <= x + c < n:
                out[:, y + r, x + c] = src[:, r, c]
    return out


def test_convention_pinned_on_5x5():
    src = torch.tensor([[1.0, 2.0], [3.0, 4.0]]).expand(3, 2, 2)
    frames, covered = transforms.embed(src, torch.tensor([[1, 2], [2, 3]]), canvas=5)
    first = frames[0, 0]
    expected = torch.zeros(5, 5)
    expected[1, 2], expected[1, 3], expected[2, 2], expected[2, 3] = (
        1,
        2,
        3,
        4,
    )  # (y, x) = (row, col)
    assert torch.equal(first, expected)
    # a positive shift (1, 1) moves content down and right
    assert torch.equal(frames[1, 0, 1:, 1:], first[:-1, :-1])
    assert covered[0, 0].sum() == 4 and covered[0, 0, 1, 2] and not covered[0, 0, 0, 0]


@pytest.mark.parametrize("seed", range(4))
def test_embed_equals_naive_paste(seed):
    rng = np.random.default_rng(seed)
    h, w, n = rng.integers(1, 9), rng.integers(1, 9), 11
    src = rand_image(int(h), int(w), seed)
    pos = torch.tensor(rng.integers(-6, 12, size=(5, 2)))  # includes partly and wholly outside
    frames, covered = transforms.embed(src, pos, n, background=0.25)
    for k, (y, x) in enumerate(pos.tolist()):
        ref = naive_paste(src.numpy(), y, x, n, bg=0.25)
        assert np.array_equal(frames[k].numpy(), ref)
        assert np.array_equal(covered[k, 0].numpy(), naive_paste(np.ones((1, h, w)), y, x, n)[0] == 1)


def test_paste_puts_each_object_at_its_own_position():
    gen = torch.Generator().manual_seed(0)
    objects = torch.randint(1, 256, (7, 3, 5, 4), generator=gen, dtype=torch.uint8)
    pos = torch.tensor([[0, 0], [3, 2], [-2, 1], [8, 9], [11, 0], [-6, -6], [2, 7]])  # borders included
    frames, covered = transforms.paste(objects, pos, 10)
    assert frames.dtype == torch.uint8
    for i, (y, x) in enumerate(pos.tolist()):
        assert np.array_equal(frames[i].numpy(), naive_paste(objects[i].numpy(), y, x, 10))
        assert np.array_equal(covered[i, 0].numpy(), naive_paste(np.ones((1, 5, 4)), y, x, 10)[0] == 1)


def test_embed_equals_pil_paste():
    rng = np.random.default_rng(0)
    arr = rng.integers(0, 256, size=(7, 9, 3), dtype=np.uint8)
    src = torch.from_numpy(arr.transpose(2, 0, 1).copy()).float() / 255
    frames, _ = transforms.embed(src, torch.tensor([[3, 5]]), canvas=16)
    canvas = Image.new("RGB", (16, 16))
    canvas.paste(Image.fromarray(arr), (5, 3))  # PIL takes (x, y)
    assert torch.equal(
        frames[0], torch.from_numpy(np.asarray(canvas).transpose(2, 0, 1).copy()).float() / 255
    )


def test_shift_zero_is_identity():
    img = rand_image(12, 12)
    frames, covered = transforms.embed(img, torch.tensor([[0, 0]]), canvas=12)
    assert torch.equal(frames[0], img) and covered.all()
    assert torch.equal(transforms.windows_of_each(img[None], torch.tensor([[0, 0]]), 12)[0], img)


def test_windows_equal_slicing_and_reject_outside():
    img = rand_image(15, 17)
    offs = torch.tensor([[0, 0], [1, 1], [3, 5], [5, 7]])
    got = transforms.windows_of_each(img[None], offs, 10)
    for k, (y, x) in enumerate(offs.tolist()):
        assert torch.equal(got[k], img[:, y : y + 10, x : x + 10])
    with pytest.raises(ValueError, match="leave"):
        transforms.windows_of_each(img[None], torch.tensor([[6, 0]]), 10)


def test_paths():
    assert transforms.diagonal_positions((2, 3), 2).tolist() == [[2, 3], [3, 4], [4, 5]]
    assert transforms.line_positions((0, 4), 2, "vertical").tolist() == [[0, 4], [1, 4], [2, 4]]
    assert transforms.line_positions((4, 0), 1, "horizontal").tolist() == [[4, 0], [4, 1]]


def test_shorter_side_and_center_square():
    assert transforms.shorter_side_size(375, 500, 100) == (100, 133)
    assert transforms.shorter_side_size(500, 375, 100) == (133, 100)
    img = rand_image(6, 10)
    assert torch.equal(transforms.center_square(img), img[:, :, 2:8])


def test_resize_close_to_pil_bicubic_antialiased():
    rng = np.random.default_rng(0)
    # smooth image so that both resamplers' differences stay small
    yy, xx = np.mgrid[0:120, 0:160]
    arr = (
        (
            127
            + 60 * np.sin(xx / 9.0)[..., None]
            + 60 * np.cos(yy / 7.0)[..., None]
            + rng.integers(0, 3, size=(120, 160, 3))
        )
        .clip(0, 255)
        .astype(np.uint8)
    )
    ref = np.asarray(Image.fromarray(arr).resize((40, 30), Image.BICUBIC), dtype=np.float32) / 255
    ours = transforms.resize(torch.from_numpy(arr.transpose(2, 0, 1).copy()).float() / 255, (30, 40))
    diff = np.abs(ours.numpy().transpose(1, 2, 0) - ref)
    assert diff.mean() < 2 / 255 and diff.max() < 8 / 255


@pytest.mark.parametrize("path", ["diagonal", "vertical", "horizontal", "mixed"])
def test_paste_moving_equals_naive_paste_per_frame(path):
    """The group kernel (one paste into an enlarged canvas, then windows) against a pixel-by-pixel paste of
    every frame, with objects of different sizes partly and wholly outside the canvas; "mixed" gives each
    object its own relative path, which takes the per-frame fallback."""
    rng = np.random.default_rng(3)
    n, k = 12, 5
    objects = [rand_image(int(rng.integers(1, 9)), int(rng.integers(1, 9)), s) for s in range(4)]
    starts = [(-7, 2), (0, 0), (9, 10), (3, -4)]
    step = {"diagonal": (1, 1), "vertical": (1, 0), "horizontal": (0, 1)}
    pos = [
        torch.tensor([[y + j * dy, x + j * dx] for j in range(k)])
        for i, (y, x) in enumerate(starts)
        for dy, dx in [step.get(path, [(1, 1), (1, 0), (0, 1), (-1, 2)][i])]
    ]
    frames, covered = transforms.paste_moving(objects, pos, n)
    assert frames.shape == (4 * k, 3, n, n) and frames.is_contiguous(memory_format=torch.channels_last)
    for i, (obj, p) in enumerate(zip(objects, pos, strict=True)):
        for j, (y, x) in enumerate(p.tolist()):
            assert np.array_equal(frames[i * k + j].numpy(), naive_paste(obj.numpy(), y, x, n))
            ones = np.ones((1, *obj.shape[-2:]))
            assert np.array_equal(covered[i * k + j, 0].numpy(), naive_paste(ones, y, x, n)[0] == 1)
    alone, none = transforms.paste_moving(objects, pos, n, with_covered=False)
    assert torch.equal(alone, frames) and none is None
    # a background colour per channel (the mean-grey protocols): the same paste on that colour
    colour = (0.25, 0.5, 0.75)
    grey, _ = transforms.paste_moving(objects, pos, n, with_covered=False, background=colour)
    for i, (obj, p) in enumerate(zip(objects, pos, strict=True)):
        for j, (y, x) in enumerate(p.tolist()):
            want = naive_paste(obj.numpy(), y, x, n, bg=np.array(colour, dtype=np.float32)[:, None, None])
            assert np.array_equal(grey[i * k + j].numpy(), want)


def test_paste_each_objects_of_different_sizes():
    objects = [rand_image(3, 5, 0), rand_image(6, 2, 1), rand_image(1, 1, 2)]
    pos = torch.tensor([[-1, 8], [4, 4], [9, 0]])
    frames, covered = transforms.paste_each(objects, pos, 10, background=0.5)
    for i, (y, x) in enumerate(pos.tolist()):
        assert np.array_equal(frames[i].numpy(), naive_paste(objects[i].numpy(), y, x, 10, bg=0.5))
        ones = np.ones((1, *objects[i].shape[-2:]))
        assert np.array_equal(covered[i, 0].numpy(), naive_paste(ones, y, x, 10)[0] == 1)


def test_fill_takes_one_value_or_one_per_channel():
    canvases = torch.empty(2, 3, 4, 4)
    assert (transforms.fill(canvases, 0.5) == 0.5).all()
    transforms.fill(canvases, (0.1, 0.2, 0.3))
    assert torch.equal(canvases[1, :, 2, 3], torch.tensor([0.1, 0.2, 0.3]))
    with pytest.raises(ValueError, match="2 background values for 3 channels"):
        transforms.fill(canvases, (0.1, 0.2))


def test_windows_of_each_is_image_major():
    imgs = torch.stack([rand_image(9, 11, s) for s in range(3)])
    offs = torch.tensor([[0, 0], [2, 1], [3, 5]])
    got = transforms.windows_of_each(imgs, offs, 6)
    for i in range(3):
        for j, (y, x) in enumerate(offs.tolist()):
            assert torch.equal(got[i * 3 + j], imgs[i, :, y : y + 6, x : x + 6])


def test_upload_sources_equals_per_image_conversion():
    gen = torch.Generator().manual_seed(0)
    pixels = [torch.randint(0, 256, (3, h, w), generator=gen, dtype=torch.uint8) for h, w in [(4, 5), (7, 2)]]
    devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    for device in devices:
        for joined in (None, True, False):  # True: the one-buffer way a GPU takes, here on the CPU too
            for got, p in zip(transforms.upload_sources(pixels, device, joined), pixels, strict=True):
                assert torch.equal(got.cpu(), p.float() / 255) and got.shape == p.shape
    assert pixels[0].dtype == torch.uint8  # the caller's tensors are left alone


def test_paste_moving_edge_cases():
    """One frame (K = 1), an object larger than the canvas, one channel in uint8: still the naive paste."""
    gen = torch.Generator().manual_seed(1)
    big = torch.randint(1, 256, (1, 15, 13), generator=gen, dtype=torch.uint8)
    small = torch.randint(1, 256, (1, 3, 4), generator=gen, dtype=torch.uint8)
    for k in (1, 3):
        pos = [
            torch.tensor([[-2 + j, -3 + j] for j in range(k)]),
            torch.tensor([[5 + j, 6 + j] for j in range(k)]),
        ]
        frames, covered = transforms.paste_moving([big, small], pos, 10)
        assert frames.dtype == torch.uint8 and frames.shape == (2 * k, 1, 10, 10)
        for i, obj in enumerate([big, small]):
            for j, (y, x) in enumerate(pos[i].tolist()):
                ref = naive_paste(obj.numpy(), y, x, 10)[:1]  # the naive paste makes 3 channels
                assert np.array_equal(frames[i * k + j].numpy(), ref)
                ones = np.ones((1, *obj.shape[-2:]))
                assert np.array_equal(covered[i * k + j, 0].numpy(), naive_paste(ones, y, x, 10)[0] == 1)


def test_paste_of_no_objects_is_empty():
    frames, covered = transforms.paste(torch.zeros(0, 3, 4, 4), torch.zeros(0, 2, dtype=torch.long), 8)
    assert frames.shape == (0, 3, 8, 8) and covered.shape == (0, 1, 8, 8)
    with pytest.raises(ValueError, match="at least one object"):
        transforms.paste_moving([], [], 8)
