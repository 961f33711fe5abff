"""Inference-time remedies for one-pixel shifts: run a trained network differently, without retraining it.

Each remedy looks at windows of side M = N - 2r inside the network's N x N input frame (r = `radius`):

    centre   the window at offset (r, r): one forward of M x M. Not a remedy: the plain network at the
             remedies' input size, so that what a smaller input costs is not credited to a remedy.
    average  the softmax averaged over the windows at the offsets {0, r, 2r}^2 (9 forwards of M x M):
             test-time averaging over shifted views (a stated grid).
    select   canonical crop selection after Shifman & Weiss 2024 ("Lost in Translation", ECCV 2024: Robust
             Inference by Crop Selection): one window, at the offset in {0, ..., 2r}^2 whose centre
             maximises a score map computed from the frame's content; the score is the response of one
             fixed zero-mean 5 x 5 random filter (seed 0, unit norm) to the frame's channel mean, in float32.
             Because the score moves with the content, a view moved by (dy, dx) pixels chooses the same
             window of the scene whenever the best candidate lies in both views' candidate sets: an exact
             invariance then, not an approximate one. Their code was not public when this was written
             (github.com/ofirshifman/RICS held a placeholder), so the score is our reading of the idea.
             With circular=True every one of the N^2 circular offsets is a candidate (the score computed with
             circular padding, windows wrapping round), which makes the choice exactly invariant to integer
             circular shifts of the frame (tested); the realistic-shift remedy is circular=False.

`with_remedy` wraps a LoadedModel so that every runner (evaluate.run, the CLI's `--remedy`) uses it. The
wrapper sees the normalised input the runner hands the network and returns logits whose softmax is the
remedy's probabilities (for `average`, the log of the averaged softmax).
"""

from __future__ import annotations

import dataclasses

import torch
from torch import nn

from invariance.sources.models import LoadedModel

REMEDIES = ("centre", "average", "select")
FORWARDS = {"centre": 1, "average": 9, "select": 1}  # network evaluations per frame, each of M x M
REMEDY_VERSION = "1"  # bump when a remedy changes: it is part of the wrapped network's cache key
FILTER_SIZE = 5


def score_filter(size: int = FILTER_SIZE, seed: int = 0) -> torch.Tensor:
    """(1, 1, size, size) float32: a seeded Gaussian random filter with its mean removed and unit L2 norm."""
    w = torch.randn(size, size, generator=torch.Generator().manual_seed(seed), dtype=torch.float32)
    w = w - w.mean()
    return (w / w.norm()).view(1, 1, size, size)


def score_map(x: torch.Tensor, weight: torch.Tensor, circular: bool = False) -> torch.Tensor:
    """(B, C, N, N) -> (B, N, N) float32: the filter's response to the channel mean at every pixel (zero
    padding, or circular padding with circular=True)."""
    with torch.autocast(x.device.type, enabled=False):
        lum = x.float().mean(1, keepdim=True)
        pad = weight.shape[-1] // 2
        if circular:
            lum = nn.functional.pad(lum, (pad,) * 4, mode="circular")
            pad = 0
        return nn.functional.conv2d(lum, weight.to(lum.device), padding=pad)[:, 0]


def _check_radius(radius: int) -> None:
    if not isinstance(radius, int) or isinstance(radius, bool) or radius < 1:
        raise ValueError(f"radius must be a positive integer (pixels), not {radius!r}")


def window_side(n: int, radius: int) -> int:
    """M = N - 2 radius, checked: the windows must leave room for the score filter."""
    _check_radius(radius)
    m = n - 2 * radius
    if m < 2 * FILTER_SIZE:
        raise ValueError(
            f"radius {radius} leaves a {m}-px window of a {n}-px input: use a radius below {n // 4}"
        )
    return m


def select_offsets(
    x: torch.Tensor, radius: int, weight: torch.Tensor, circular: bool = False
) -> torch.Tensor:
    """(B, C, N, N) -> (B, 2) int64 (row, column) offsets of the chosen M x M windows: the candidate whose
    centre (offset + M // 2) has the largest score (the first in row-major order on a tie). Candidates:
    {0, ..., 2 radius}^2, or every offset of {0, ..., N - 1}^2 with circular=True."""
    n = x.shape[-1]
    m = window_side(n, radius)
    s = score_map(x, weight, circular)
    if circular:
        c = s.flatten(1).argmax(1)
        centre = torch.stack([c // n, c % n], dim=1)
        return (centre - m // 2) % n
    k = 2 * radius + 1
    sub = s[:, m // 2 : m // 2 + k, m // 2 : m // 2 + k]
    i = sub.flatten(1).argmax(1)
    return torch.stack([i // k, i % k], dim=1)


def gather_windows(x: torch.Tensor, offsets: torch.Tensor, m: int, circular: bool = False) -> torch.Tensor:
    """(B, C, N, N) and (B, 2) offsets -> (B, C, M, M): each frame's window at its own offset (indices taken
    modulo N with circular=True), in x's memory layout."""
    b, ch, n, _ = x.shape
    ar = torch.arange(m, device=x.device)
    rows = offsets[:, 0, None].to(x.device) + ar
    cols = offsets[:, 1, None].to(x.device) + ar
    if circular:
        rows, cols = rows % n, cols % n
    out = x[
        torch.arange(b, device=x.device)[:, None, None, None],
        torch.arange(ch, device=x.device)[None, :, None, None],
        rows[:, None, :, None],
        cols[:, None, None, :],
    ]
    layout = (
        torch.channels_last if x.is_contiguous(memory_format=torch.channels_last) else torch.contiguous_format
    )
    return out.contiguous(memory_format=layout)


class Remedy(nn.Module):
    """A network run through one of REMEDIES (see the module docstring); input (B, C, N, N) square frames,
    output (B, classes) logits (for `average`, log-probabilities)."""

    def __init__(self, net: nn.Module, kind: str, radius: int, circular: bool = False):
        super().__init__()
        if kind not in REMEDIES:
            raise ValueError(f"unknown remedy {kind!r}: choose one of {', '.join(REMEDIES)}")
        if circular and kind != "select":
            raise ValueError("circular=True applies to the 'select' remedy only")
        _check_radius(radius)
        self.net, self.kind, self.radius, self.circular = net, kind, radius, circular
        self.num_classes = getattr(net, "num_classes", None)
        self.register_buffer("weight", score_filter(), persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n = x.shape[-1]
        if x.shape[-2] != n:
            raise ValueError(f"remedies take square frames (B, C, N, N), not {tuple(x.shape)}")
        r, m = self.radius, window_side(n, self.radius)
        if self.kind == "centre":
            return self.net(x[..., r : r + m, r : r + m])
        if self.kind == "select":
            offsets = select_offsets(x, r, self.weight, self.circular)
            return self.net(gather_windows(x, offsets, m, self.circular))
        total = None
        for oy in (0, r, 2 * r):
            for ox in (0, r, 2 * r):
                p = torch.softmax(self.net(x[..., oy : oy + m, ox : ox + m]).float(), dim=-1)
                total = p if total is None else total + p
        return (total / 9).log()


def with_remedy(model: LoadedModel, kind: str, radius: int = 16, circular: bool = False) -> LoadedModel:
    """The same network run through a remedy, as a LoadedModel every runner accepts; its name says which
    (e.g. "lite0+select-r16"), and its cache key holds the remedy and REMEDY_VERSION."""
    wrapped = Remedy(model.module, kind, radius, circular).to(model.device)
    tag = f"{kind}{'-circular' if circular else ''}-r{radius}"
    return dataclasses.replace(
        model,
        name=f"{model.name}+{tag}",
        module=wrapped,
        weights=f"{model.weights} | remedy {tag} v{REMEDY_VERSION}",
    )


def remedy_name(label: str) -> str:
    """The remedy part of a wrapped network's label ("lite0+select-r16" -> "select-r16"; "plain" if none)."""
    return label.split("+", 1)[1].removesuffix(" (untrained)") if "+" in label else "plain"
