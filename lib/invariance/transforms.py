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

import torch
import torch.nn.functional as F


def upload(tensor: torch.Tensor, device: torch.device | str) -> torch.Tensor:
    """tensor on `device`. To a GPU the copy goes through pinned memory without waiting (a plain copy would
    wait for the queued work), so the CPU can prepare the next images while the GPU runs the network."""
    device = torch.device(device)
    if device.type != "cuda" or tensor.device.type == "cuda":
        return tensor.to(device)
    return tensor.pin_memory().to(device, non_blocking=True)


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


def paste(
    objects: torch.Tensor,
    positions: torch.Tensor,
    canvas: int,
    background: float = 0.0,
    with_covered: bool = True,
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Paste objects (B, C, h, w), each at its position (B, 2), into N x N canvases of one background.

    Returns frames (B, C, N, N) in the objects' dtype, in channels_last memory layout (the layout the
    networks run in: no conversion later), and covered (B, 1, N, N) bool. Parts falling outside the canvas
    are cut. One slice copy per object: an index gather over the N x N canvas was about 10x slower.
    with_covered=False skips the mask (None) where the background needs none: on a GPU, fewer launches.
    """
    b, c, h, w = objects.shape
    layout = torch.channels_last if c in (3, 4) else torch.contiguous_format
    frames = torch.empty(
        (b, c, canvas, canvas), dtype=objects.dtype, device=objects.device, memory_format=layout
    )
    frames.fill_(background)
    pos = positions.to("cpu", torch.long)  # few numbers, read on the host for the slices
    for i, (y, x) in enumerate(pos.tolist()):  # one slice copy per object: no pixel loop
        y0, x0, y1, x1 = max(y, 0), max(x, 0), min(y + h, canvas), min(x + w, canvas)
        if y0 < y1 and x0 < x1:
            frames[i, :, y0:y1, x0:x1] = objects[i, :, y0 - y : y1 - y, x0 - x : x1 - x]
    if not with_covered:
        return frames, None
    # covered in a few whole-batch operations (on a GPU, one kernel per frame would cost more than the copy)
    grid = torch.arange(canvas, device=objects.device)
    pos = upload(pos, objects.device)
    rows = (grid >= pos[:, 0:1]) & (grid < pos[:, 0:1] + h)  # (B, N)
    cols = (grid >= pos[:, 1:2]) & (grid < pos[:, 1:2] + w)
    return frames, (rows[:, :, None] & cols[:, None, :])[:, None]


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


def windows(img: torch.Tensor, offsets: torch.Tensor, size: int) -> torch.Tensor:
    """(3, H, W) -> (K, 3, size, size): the windows whose top-left corners are offsets (K, 2)."""
    off = offsets.to(torch.long)
    h, w = img.shape[-2:]
    if (off < 0).any() or (off[:, 0] + size > h).any() or (off[:, 1] + size > w).any():
        raise ValueError(f"windows of {size}px at {off.tolist()} leave the {h}x{w} image")
    frames, _ = embed(img, -off, size, with_covered=False)
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
