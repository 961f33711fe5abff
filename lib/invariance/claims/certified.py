"""Certified versus realistic shift invariance (notebook 10): how far a network's output moves under circular
shifts of its input, where exact invariance can be built in (polyphase.APSDownsample with circular padding),
measured at logit level.

Argmax agreement alone certifies nothing (an untrained network may predict one class for every input), so
the certificate is the largest change of any logit.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn
from torch.nn import functional as F

from invariance.kernels.transforms import diagonal_positions, paste, resize


def all_shifts(height: int, width: int) -> list[tuple[int, int]]:
    """Every circular shift (dy, dx) of an H x W image except (0, 0)."""
    return [(dy, dx) for dy in range(height) for dx in range(width) if dy or dx]


def circular_logit_change(
    model: nn.Module,
    images: torch.Tensor,
    shifts: Sequence[tuple[int, int]] | None = None,
    chunk: int = 256,
) -> torch.Tensor:
    """Per image, max over circular shifts and classes of |logit(roll(x, shift)) - logit(x)|.

    model: maps (B, 3, H, W) to logits (B, K), in eval mode; images: (B, 3, H, W); shifts: (dy, dx) pairs,
    default all_shifts(H, W). Returns (B,) float64. Shifts are evaluated `chunk` frames at a time."""
    if model.training:
        raise ValueError(
            "circular_logit_change needs the model in eval mode (model.eval()): in training mode "
            "BatchNorm ties each output to the rest of its batch"
        )
    b, _, h, w = images.shape
    shifts = list(shifts) if shifts is not None else all_shifts(h, w)
    worst = torch.zeros(b, dtype=torch.float64)
    with torch.inference_mode():
        base = model(images).double()
        per_chunk = max(1, chunk // b)
        for start in range(0, len(shifts), per_chunk):
            group = shifts[start : start + per_chunk]
            frames = torch.cat([torch.roll(images, s, dims=(-2, -1)) for s in group])
            out = model(frames).double().view(len(group), b, -1)
            worst = torch.maximum(worst, (out - base).abs().amax(dim=(0, 2)).cpu())
    return worst


# --- realistic shifts of small square images (new content enters at a border; nothing wraps around) -------


def _square(images: torch.Tensor) -> int:
    h, w = images.shape[-2:]
    if h != w:
        raise ValueError(f"these protocols take square images; got {h}x{w}")
    return int(h)


def circular_frames(images: torch.Tensor, steps: int = 8) -> torch.Tensor:
    """(N, C, H, W) -> (N, steps + 1, C, H, W): the images rolled diagonally by k pixels, k = 0..steps
    (what wraps out at one border re-enters at the other: the shift APS is built for)."""
    return torch.stack([torch.roll(images, (k, k), dims=(-2, -1)) for k in range(steps + 1)], dim=1)


def crop_shift_frames(
    images: torch.Tensor, pad: int = 4, steps: int = 8, mode: str = "reflect"
) -> torch.Tensor:
    """A CIFAR stand-in for Zhang's (ICML 2019) shift protocol, which crops real pixels of a larger photo:
    a 32 px image has none around it, so it is padded by `pad` on every side (reflect: mirrored content
    enters, as in RandomCrop(32, padding=4, padding_mode="reflect"); constant: zeros) and an S x S window
    moves one pixel diagonally from the top-left corner, k = 0..steps (k = pad is the image itself).
    (N, C, S, S) -> (N, steps + 1, C, S, S)."""
    s = _square(images)
    if steps > 2 * pad:
        raise ValueError(f"{steps} one-pixel steps leave an image padded by {pad} (at most {2 * pad})")
    padded = F.pad(images, (pad, pad, pad, pad), mode=mode)
    return torch.stack([padded[..., k : k + s, k : k + s] for k in range(steps + 1)], dim=1)


def embed_frames(images: torch.Tensor, side: int = 24, canvas: int = 32, steps: int = 8) -> torch.Tensor:
    """The paper's protocol on a small canvas: (N, C, H, W) in [0, 1] resized to side x side (antialiased
    bicubic) on a black canvas x canvas, moved one pixel diagonally k = 0..steps around the centre:
    (N, steps + 1, C, canvas, canvas)."""
    if side + steps > canvas:
        raise ValueError(f"{side}px objects moved {steps}px do not fit a {canvas}px canvas")
    objects = resize(images, (side, side))
    start = (canvas - side - steps) // 2
    n, k = len(images), steps + 1
    positions = diagonal_positions((start, start), steps).repeat(n, 1)
    frames, _ = paste(objects.repeat_interleave(k, dim=0), positions, canvas, with_covered=False)
    return frames.contiguous().view(n, k, *frames.shape[1:])


def growth_frames(
    images: torch.Tensor, sizes: Sequence[int] = tuple(range(20, 29)), canvas: int = 32
) -> torch.Tensor:
    """One-pixel growth: (N, C, H, W) in [0, 1] resized to each side in sizes (antialiased bicubic), centred
    on a black canvas: (N, len(sizes), C, canvas, canvas). The top-left corner is (canvas - side) // 2, so
    with odd and even sides alternating it moves by 0 or 1 pixel per step: the object grows by one pixel
    at the bottom-right or at the top-left, as the paper's scale protocol grows it at one corner."""
    if max(sizes) > canvas:
        raise ValueError(f"objects of {max(sizes)}px do not fit a {canvas}px canvas")
    out = []
    for side in sizes:
        at = (canvas - side) // 2
        pos = torch.tensor([[at, at]]).repeat(len(images), 1)
        frames, _ = paste(resize(images, (side, side)), pos, canvas, with_covered=False)
        out.append(frames.contiguous())
    return torch.stack(out, dim=1)


def random_crop_pairs(
    images: torch.Tensor, pad: int = 4, generator: torch.Generator | None = None, mode: str = "reflect"
) -> torch.Tensor:
    """Zhang's consistency protocol on the padded image of crop_shift_frames: per image two S x S windows at
    independent uniformly random offsets (0..2 * pad on each axis), as his two random shifts are
    independent (they coincide 1 time in (2 * pad + 1) ** 2, and count as agreeing): (N, 2, C, S, S)."""
    n, s = len(images), _square(images)
    padded = F.pad(images, (pad, pad, pad, pad), mode=mode)
    offsets = torch.randint(0, 2 * pad + 1, (n, 2, 2), generator=generator)
    rows = offsets[..., 0, None] + torch.arange(s)  # (N, 2, S)
    cols = offsets[..., 1, None] + torch.arange(s)
    i = torch.arange(n)[:, None, None, None, None]
    c = torch.arange(images.shape[1])[None, None, :, None, None]
    return padded[i, c, rows[:, :, None, :, None], cols[:, :, None, None, :]]
