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
