"""Adaptive polyphase sampling (APS; Chaman & Dokmanic, CVPR 2021): subsampling that is exactly equivariant
to circular shifts.

Subsampling a map by 2 keeps one of its four polyphase components (x[..., i::2, j::2], i, j in {0, 1}).
A fixed choice (0, 0), as in every strided layer, makes the output depend on the input's shift modulo 2.
APS keeps, per image, the component with the largest l2 norm. A circular shift of the input permutes the
components and carries their norms with them, so APS keeps the same values, circularly shifted on the
coarse grid: with circular padding everywhere and global pooling at the end, a network built from these
layers gives the same logits for every circular shift of its input, up to float rounding, unless two
components tie in norm. A tie goes to the lowest index, which a shift does not preserve; exact ties have
probability zero for generic inputs, and near ties can flip when a shift changes the rounding of the
norms, so the guarantee is checked, not assumed (certified.circular_logit_change). Zero padding, or new
content entering at a border, is outside it.
"""

from __future__ import annotations

import torch
from torch import nn


def polyphase_components(x: torch.Tensor, stride: int = 2) -> torch.Tensor:
    """The stride**2 polyphase components of x (B, C, H, W), H and W divisible by stride:
    (B, stride**2, C, H / stride, W / stride); component k = i * stride + j is x[..., i::stride, j::stride]
    """
    b, c, h, w = x.shape
    if h % stride or w % stride:
        raise ValueError(
            f"APS needs maps whose sides are multiples of the stride {stride}, got {h}x{w}; "
            "use an input size that is a multiple of the network's total stride"
        )
    parts = x.reshape(b, c, h // stride, stride, w // stride, stride)
    return parts.permute(0, 3, 5, 1, 2, 4).reshape(b, stride * stride, c, h // stride, w // stride)


def aps_choice(x: torch.Tensor, stride: int = 2) -> torch.Tensor:
    """Index (B,) of each image's polyphase component with the largest l2 norm (ties: the lowest index, which
    breaks equivariance for that image; see the module docstring)."""
    comps = polyphase_components(x, stride)
    norms = comps.flatten(2).double().pow(2).sum(-1)  # float64 sums: fewer near ties from float32 rounding
    return norms.argmax(dim=1)


def aps_downsample(x: torch.Tensor, stride: int = 2) -> torch.Tensor:
    """Adaptive polyphase subsampling: (B, C, H, W) -> (B, C, H / stride, W / stride), per image the
    polyphase component with the largest l2 norm."""
    comps = polyphase_components(x, stride)
    choice = aps_choice(x, stride)
    return comps[torch.arange(x.shape[0], device=x.device), choice]


class APSDownsample(nn.Module):
    """aps_downsample as a layer (no parameters)."""

    def __init__(self, stride: int = 2) -> None:
        super().__init__()
        self.stride = stride

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return aps_downsample(x, self.stride)

    def extra_repr(self) -> str:
        return f"stride={self.stride}"
