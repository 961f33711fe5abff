"""Where a small object sits in a larger black canvas: the training position distributions (the pasting
itself is `transforms.paste`).

Convention: an offset (row, col) is the canvas pixel of the object's top-left corner, integers in
[0, canvas - size]. The canvas centre is offset (canvas - size) / 2 in each axis.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

KINDS = ("gaussian", "uniform", "centre")


@dataclass(frozen=True)
class PlacementDistribution:
    """Random object offsets in a canvas.

    gaussian: a photographer's bias, centre + sigma * N(0, 1) per axis, rounded and clipped to the canvas;
    uniform: every offset equally likely (augmentation across the whole canvas); centre: always the centre
    (rounded down).
    """

    kind: str = "gaussian"
    canvas: int = 64
    size: int = 32
    sigma: float = 4.0

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"placement kind must be one of {KINDS}, not {self.kind!r}")
        if self.size > self.canvas:
            raise ValueError(f"a {self.size}px object does not fit a {self.canvas}px canvas")

    @property
    def max_offset(self) -> int:
        return self.canvas - self.size

    @property
    def centre(self) -> float:
        return self.max_offset / 2

    def sample(self, n: int, generator: torch.Generator) -> torch.Tensor:
        """(n, 2) int64 offsets (row, col)."""
        if self.kind == "uniform":
            return torch.randint(0, self.max_offset + 1, (n, 2), generator=generator)
        if self.kind == "centre":
            return torch.full((n, 2), int(self.centre), dtype=torch.long)
        noise = torch.randn(n, 2, generator=generator)
        return (self.centre + self.sigma * noise).round().clamp(0, self.max_offset).long()
