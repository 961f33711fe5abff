"""Batched transformation kernels: resize, paste into a canvas, cut shifted windows.

Convention:
    Images are float32 in [0, 1] before model normalisation, channels first. A source is (3, H, W);
    the frames of one source are (K, 3, N, N), of a batch (B, K, 3, N, N). A position is (y, x) =
    (row, column) of the source's top-left pixel in canvas coordinates, y growing downwards and x to
    the right. A positive shift (dy, dx) moves the content down and right:
    frame_shifted[y + dy, x + dx] == frame[y, x]. A window at offset (y, x) of a larger image is the
    canvas obtained by pasting that image at position (-y, -x). Pasting copies pixels exactly (no
    resampling); canvas pixels the source does not cover are the background and are reported in a
    `covered` mask (K, 1, N, N), True where the source is.
All kernels run on the device of their inputs (CPU or GPU); none loops over pixels in Python (`paste`
loops over its objects, one slice copy each).
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence

import torch
import torch.nn.functional as F


def upload(tensor: torch.Tensor, device: torch.device | str) -> torch.Tensor:
    """tensor on `device`. To a GPU the copy goes through pinned memory without waiting (a plain copy would
    wait for the queued work), so the CPU can prepare the next images while the GPU runs the network."""
    device = torch.device(device)
    if device.type != "cuda" or tensor.device.type == "cuda":
        return tensor.to(device)
    return tensor.pin_memory().to(device, non_blocking=True)


def upload_sources(
    pixels: Sequence[torch.Tensor], device: torch.device | str, joined: bool | None = None
) -> list[torch.Tensor]:
    """uint8 sources (3, H_i, W_i) -> float32 in [0, 1] on `device`, one tensor per source (values equal
    `images.to_float`'s bit for bit). joined=None: to a GPU, two or more sources travel as one pinned
    buffer, one copy and one conversion (per-source copies cost two or three kernel launches each, which at
    a GPU's speed were a tenth of the runner's time; profile in benchmarks/logs/); elsewhere one source at a
    time. joined=True/False forces either way (the joined way is tested on the CPU too)."""
    device = torch.device(device)
    if joined is None:
        joined = device.type == "cuda" and len(pixels) > 1 and not any(p.is_cuda for p in pixels)
    if not joined:
        return [upload(p, device).to(torch.float32, copy=True).div_(255.0) for p in pixels]
    sizes = [p.numel() for p in pixels]
    buf = torch.empty(sum(sizes), dtype=torch.uint8, pin_memory=device.type == "cuda")
    torch.cat([p.reshape(-1).cpu() for p in pixels], out=buf)
    flat = upload(buf, device).to(torch.float32).div_(255.0)
    return [part.view(p.shape) for part, p in zip(flat.split(sizes), pixels, strict=True)]


def covered_masks(
    positions: torch.Tensor, sizes: torch.Tensor, canvas: int, device: torch.device | str
) -> torch.Tensor:
    """(M, 1, N, N) bool on `device`, True where an object of size sizes[i] = (h, w) pasted at positions[i] =
    (y, x) covers the canvas (both (M, 2) integer, any device): a few whole-batch operations, whatever M (on
    a GPU, one kernel per frame would cost more than the copy)."""
    box = torch.cat([positions.to("cpu", torch.long), sizes.to("cpu", torch.long)], dim=1)
    box = upload(box, device)  # one transfer
    grid = torch.arange(canvas, device=device)
    rows = (grid >= box[:, 0:1]) & (grid < box[:, 0:1] + box[:, 2:3])  # (M, N)
    cols = (grid >= box[:, 1:2]) & (grid < box[:, 1:2] + box[:, 3:4])
    return (rows[:, :, None] & cols[:, None, :])[:, None]


def shorter_side_size(height: int, width: int, side: int) -> tuple[int, int]:
    """(h, w) with min(h, w) == side and the aspect ratio kept (rounded)."""
    if height <= width:
        return side, max(1, round(width * side / height))
    return max(1, round(height * side / width)), side


def resize(img: torch.Tensor, size: tuple[int, int], interpolation: str = "bicubic") -> torch.Tensor:
    """(..., 3, H, W) -> (..., 3, h, w), antialiased when shrinking, clamped to [0, 1]."""
    lead = img.shape[:-3]
    x = img.reshape(-1, *img.shape[-3:])
    if interpolation not in ("bilinear", "bicubic"):  # a silent fallback would not match the cache key
        raise ValueError(f"interpolation must be 'bilinear' or 'bicubic', not {interpolation!r}")
    mode = interpolation
    out = F.interpolate(x, size=size, mode=mode, antialias=True, align_corners=False)
    return out.clamp_(0.0, 1.0).reshape(*lead, out.shape[-3], *size)


def resize_shorter(img: torch.Tensor, side: int, interpolation: str = "bicubic") -> torch.Tensor:
    """(3, H, W) -> (3, h, w) with shorter side `side`."""
    return resize(img, shorter_side_size(img.shape[-2], img.shape[-1], side), interpolation)


def center_square(img: torch.Tensor) -> torch.Tensor:
    """(3, H, W) -> (3, S, S), S = min(H, W): the central square (top-left biased by half a pixel)."""
    h, w = img.shape[-2:]
    s = min(h, w)
    y, x = (h - s) // 2, (w - s) // 2
    return img[..., y : y + s, x : x + s]


def paste_into(dst: torch.Tensor, obj: torch.Tensor, y: int, x: int) -> None:
    """Copy obj (C, h, w) into dst (C, H, W) with its top-left pixel at (y, x), cutting what falls outside."""
    h, w = obj.shape[-2:]
    y0, x0, y1, x1 = max(y, 0), max(x, 0), min(y + h, dst.shape[-2]), min(x + w, dst.shape[-1])
    if y0 < y1 and x0 < x1:
        dst[:, y0:y1, x0:x1] = obj[:, y0 - y : y1 - y, x0 - x : x1 - x]


def _canvases(m: int, c: int, height: int, width: int, like: torch.Tensor) -> torch.Tensor:
    """Uninitialised (M, C, H, W) in like's dtype and device, channels_last for images (the layout the
    networks run in: no conversion later)."""
    layout = torch.channels_last if c in (3, 4) else torch.contiguous_format
    return torch.empty((m, c, height, width), dtype=like.dtype, device=like.device, memory_format=layout)


Background = float | Sequence[float]  # one value for every channel, or one per channel


def fill(canvases: torch.Tensor, background: Background) -> torch.Tensor:
    """Fill canvases (M, C, H, W) in place with one value, or one value per channel; returns them."""
    if isinstance(background, numbers.Real):
        return canvases.fill_(background)
    if len(background) != canvases.shape[1]:
        raise ValueError(f"{len(background)} background values for {canvases.shape[1]} channels")
    for channel, value in enumerate(background):
        canvases[:, channel].fill_(float(value))
    return canvases


def paste_each(
    objects: Sequence[torch.Tensor],
    positions: torch.Tensor,
    canvas: int,
    background: Background = 0.0,
    with_covered: bool = True,
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Paste each object (C, h_i, w_i) at its position (M, 2) into its own N x N canvas of one background
    (a value, or one per channel).

    Returns frames (M, C, N, N) in the objects' dtype (channels_last for 3 or 4 channels), and covered
    (M, 1, N, N) bool; with_covered=False skips the mask (None) where the background needs none: on a GPU,
    fewer launches. Parts falling outside the canvas are cut. One fill for all canvases, one slice copy per
    object: an index gather over the N x N canvas was about 10x slower.
    """
    if not objects:
        raise ValueError("paste_each needs at least one object")
    frames = fill(_canvases(len(objects), objects[0].shape[0], canvas, canvas, objects[0]), background)
    pos = positions.to("cpu", torch.long)  # few numbers, read on the host for the slices
    for frame, obj, (y, x) in zip(frames, objects, pos.tolist(), strict=True):
        paste_into(frame, obj, y, x)
    if not with_covered:
        return frames, None
    return frames, covered_masks(pos, _sizes(objects, [1] * len(objects)), canvas, frames.device)


def _sizes(objects: Sequence[torch.Tensor], repeats: Sequence[int]) -> torch.Tensor:
    """(sum(repeats), 2) long: each object's (h, w), repeated once per frame it appears in."""
    return torch.tensor([list(o.shape[-2:]) for o, r in zip(objects, repeats, strict=True) for _ in range(r)])


def paste(
    objects: torch.Tensor,
    positions: torch.Tensor,
    canvas: int,
    background: float = 0.0,
    with_covered: bool = True,
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Paste objects (B, C, h, w), each at its position (B, 2), into N x N canvases: `paste_each` (B = 0
    gives empty frames and masks)."""
    b, c = objects.shape[:2]
    if b == 0:
        empty = _canvases(0, c, canvas, canvas, objects)
        mask = torch.zeros((0, 1, canvas, canvas), dtype=torch.bool, device=objects.device)
        return empty, mask if with_covered else None
    return paste_each(list(objects.unbind(0)), positions, canvas, background, with_covered)


def paste_moving(
    objects: Sequence[torch.Tensor],
    positions: Sequence[torch.Tensor],
    canvas: int,
    with_covered: bool = True,
    background: Background = 0.0,
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Each object (C, h_i, w_i) pasted at each of its K positions (K, 2) on N x N canvases of one background
    (black by default; a value, or one per channel).

    Returns frames (B * K, C, N, N), image-major, channels_last (3 or 4 channels), equal bit for bit to
    `embed` per object, and covered (B * K, 1, N, N) bool (None with with_covered=False).
    When every object moves along the same relative path (the protocols' diagonal and line paths), each
    object is pasted once into a canvas enlarged by the path's extent and the K frames are its K windows,
    cut for the whole group at once: B + K copies and one fill instead of B * K copies and B * K fills (on a
    GPU the launches were the cost). Other paths, and paths so long that the enlarged canvas would outgrow
    the K frames, paste every frame (`paste_each`).
    """
    if not objects:
        raise ValueError("paste_moving needs at least one object")
    pos = [p.to("cpu", torch.long) for p in positions]
    hi = [p.max(dim=0).values for p in pos]
    offsets = [h - p for h, p in zip(hi, pos, strict=True)]  # frame k's window corner in the enlarged canvas
    ey, ex = offsets[0].max(dim=0).values.tolist()
    same = all(o.shape == offsets[0].shape and torch.equal(o, offsets[0]) for o in offsets)
    if not same or (canvas + ey) * (canvas + ex) > len(offsets[0]) * canvas * canvas:
        each = [obj for obj, p in zip(objects, pos, strict=True) for _ in range(len(p))]
        return paste_each(each, torch.cat(pos), canvas, background, with_covered)
    big = fill(_canvases(len(objects), objects[0].shape[0], canvas + ey, canvas + ex, objects[0]), background)
    for dst, obj, (y, x) in zip(big, objects, (h.tolist() for h in hi), strict=True):
        paste_into(dst, obj, y, x)
    frames = windows_of_each(big, offsets[0], canvas)
    if not with_covered:
        return frames, None
    sizes = _sizes(objects, [len(p) for p in pos])
    return frames, covered_masks(torch.cat(pos), sizes, canvas, frames.device)


def embed(
    src: torch.Tensor,
    positions: torch.Tensor,
    canvas: int,
    background: float = 0.0,
    with_covered: bool = True,
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Paste src (3, h, w) at K positions (K, 2) into N x N canvases.

    Returns frames (K, 3, N, N) and covered (K, 1, N, N) bool (None with with_covered=False). Parts
    falling outside the canvas are cut.
    """
    return paste(src.expand(len(positions), -1, -1, -1), positions, canvas, background, with_covered)


def windows_of_each(imgs: torch.Tensor, offsets: torch.Tensor, size: int) -> torch.Tensor:
    """(B, C, H, W) -> (B * K, C, size, size), image-major, channels_last for 3 or 4 channels: for every
    image the windows whose top-left corners are offsets (K, 2); one copy per window position for the whole
    batch."""
    off = offsets.to("cpu", torch.long)
    b, c, h, w = imgs.shape
    if (off < 0).any() or (off[:, 0] + size > h).any() or (off[:, 1] + size > w).any():
        raise ValueError(f"windows of {size}px at {off.tolist()} leave the {h}x{w} image")
    frames = _canvases(b * len(off), c, size, size, imgs)
    grouped = frames.view(b, len(off), c, size, size)
    for j, (y, x) in enumerate(off.tolist()):
        grouped[:, j] = imgs[:, :, y : y + size, x : x + size]
    return frames


def diagonal_positions(start: tuple[int, int], steps: int) -> torch.Tensor:
    """(steps + 1, 2): start + (k, k), k = 0..steps."""
    k = torch.arange(steps + 1)
    return torch.stack([start[0] + k, start[1] + k], dim=1)


def line_positions(start: tuple[int, int], steps: int, axis: str) -> torch.Tensor:
    """(steps + 1, 2): start moved one pixel at a time down (axis="vertical") or right ("horizontal")."""
    k = torch.arange(steps + 1)
    zero = torch.zeros_like(k)
    if axis == "vertical":
        return torch.stack([start[0] + k, start[1] + zero], dim=1)
    if axis == "horizontal":
        return torch.stack([start[0] + zero, start[1] + k], dim=1)
    raise ValueError(f"axis must be 'vertical' or 'horizontal', not {axis!r}")
