"""The official inpainting (Azulay & Weiss code, InpaintingFunction.py), batched over frames.

Normalised convolution with a separable binomial kernel of 12 taps ([0.5, 0.5] convolved with itself 10
times): filled = conv(image * mask) / conv(mask) outside the known pixels, known pixels kept. Passes repeat
while a frame has more than 200 pixels whose channel sum is exactly 0 and fewer than 80 passes ran; after the
first pass the mask becomes "every pixel whose channel sum is not 0", as in the official code.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def binomial_kernel(taps: int = 12) -> torch.Tensor:
    """(taps,) float64: [0.5, 0.5] convolved with itself taps - 2 times."""
    k = torch.tensor([0.5, 0.5], dtype=torch.float64)
    base = k.clone()
    for _ in range(taps - 2):
        k = torch.cat([k, k.new_zeros(1)]) * base[0] + torch.cat([k.new_zeros(1), k]) * base[1]
    return k


def _blur(x: torch.Tensor, kernel: torch.Tensor) -> torch.Tensor:
    """Separable 'same' convolution with zero padding of (M, C, H, W), as scipy convolve2d(..., 'same').

    For an even kernel of length L scipy keeps full-convolution indices L//2-1 .. : pad L//2 before and
    L//2 - 1 after (the kernel is symmetric, so correlation equals convolution).
    """
    m, c, h, w = x.shape
    taps = kernel.numel()
    before, after = taps // 2, taps - 1 - taps // 2
    flat = x.reshape(m * c, 1, h, w)
    kx = kernel.to(x).view(1, 1, 1, taps)
    flat = F.conv2d(F.pad(flat, (before, after, 0, 0)), kx)
    flat = F.conv2d(F.pad(flat, (0, 0, before, after)), kx.view(1, 1, taps, 1))
    return flat.view(m, c, h, w)


def fill(
    frames: torch.Tensor,
    known: torch.Tensor,
    *,
    taps: int = 12,
    max_unfilled: int = 200,
    max_passes: int = 80,
) -> torch.Tensor:
    """Inpaint the unknown pixels of frames (M, 3, N, N) in [0, 1]; known (M, 1, N, N) bool.

    Each frame is inpainted on its own (its own stopping rule); returns (M, 3, N, N).
    """
    kernel = binomial_kernel(taps)
    im = frames.clone()
    mask = known.to(im.dtype)
    passes = torch.zeros(im.shape[0], dtype=torch.long, device=im.device)
    while True:
        unfilled = (im.sum(dim=1) == 0).flatten(1).sum(dim=1)
        active = (unfilled > max_unfilled) & (passes < max_passes)
        if not active.any():
            return im
        idx = active.nonzero().squeeze(1)
        a_im, a_mask = im[idx], mask[idx]
        num = _blur(a_im * a_mask, kernel)
        den = _blur(a_mask, kernel)
        filled = num / (den + (den == 0).to(den.dtype))
        a_im = a_mask * a_im + (1 - a_mask) * filled
        im[idx] = a_im
        mask[idx] = (a_im.sum(dim=1, keepdim=True) != 0).to(im.dtype)
        passes[idx] += 1
