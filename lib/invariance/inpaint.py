"""The official inpainting (Azulay & Weiss code, InpaintingFunction.py), batched over frames.

Normalised convolution with a separable binomial kernel of 12 taps ([0.5, 0.5] convolved with itself 10
times): filled = conv(image * mask) / conv(mask) outside the known pixels, known pixels kept. Passes repeat
while a frame has more than 200 pixels whose channel sum is exactly 0 and fewer than 80 passes ran; after the
first pass the mask becomes "every pixel whose channel sum is not 0", as in the official code.
"""

from __future__ import annotations

import numpy as np
import torch


def binomial_kernel(taps: int = 12) -> torch.Tensor:
    """(taps,) float64: [0.5, 0.5] convolved with itself taps - 2 times."""
    k = torch.tensor([0.5, 0.5], dtype=torch.float64)
    base = k.clone()
    for _ in range(taps - 2):
        k = torch.cat([k, k.new_zeros(1)]) * base[0] + torch.cat([k.new_zeros(1), k]) * base[1]
    return k


def band_matrix(n: int, kernel: torch.Tensor) -> torch.Tensor:
    """(n, n) matrix M with (x @ M)[j] = scipy convolve(x, kernel, 'same')[j] for x of length n.

    For an even kernel of length L, scipy keeps full-convolution indices from L//2 - 1 on, i.e. output j
    sums x[j - L//2 .. j + L//2 - 1] (zero outside); the kernel is symmetric, so no flip is needed.
    """
    taps = kernel.numel()
    i = torch.arange(n)[:, None]
    j = torch.arange(n)[None, :]
    t = i - j + taps // 2  # kernel tap linking input i to output j
    inside = (t >= 0) & (t < taps)
    return torch.where(inside, kernel[t.clamp(0, taps - 1)], torch.zeros((), dtype=kernel.dtype))


def _blur(x: torch.Tensor, kernel: torch.Tensor) -> torch.Tensor:
    """Separable 'same' convolution with zero padding of (M, C, H, W), as scipy convolve2d(..., 'same').

    Done as two matrix products with banded matrices: on CPUs and GPUs a dense (W x W) matmul is about ten
    times faster than a 12-tap single-channel convolution here.
    """
    h, w = x.shape[-2:]
    rows = band_matrix(w, kernel).to(x)
    cols = band_matrix(h, kernel).to(x)
    return cols.T @ (x @ rows)


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
    out = frames.clone()
    ids = torch.arange(frames.shape[0], device=frames.device)  # frames still being filled
    im, mask = frames, known.to(frames.dtype)
    nonzero = im.sum(dim=1, keepdim=True) != 0
    passes = 0  # every frame still being filled has had the same number of passes
    while True:
        unfilled = (~nonzero).flatten(1).sum(dim=1)
        active = (
            unfilled > max_unfilled if passes < max_passes else torch.zeros_like(unfilled, dtype=torch.bool)
        )
        if not active.all():  # finished frames never change again: store them, drop them from the work
            done = ~active
            out[ids[done]] = im[done]
            ids, im, mask = ids[active], im[active], mask[active]
            if len(ids) == 0:
                return out
        blurred = _blur(torch.cat([im * mask, mask], dim=1), kernel)  # one product for 4 planes
        num, den = blurred[:, :3], blurred[:, 3:]
        # den == 0 only where no known pixel is in reach, and there num == 0 too: 0 / tiny = 0, as the
        # official num / (den + (den == 0)); elsewhere den >= (1/2048)^2, so the clamp never bites.
        filled = num / den.clamp_min(1e-30)
        im = torch.where(mask.bool(), im, filled)  # = mask * im + (1 - mask) * filled, mask in {0, 1}
        nonzero = im.sum(dim=1, keepdim=True) != 0
        mask = nonzero.to(im.dtype)
        passes += 1


def official_fill(
    im: np.ndarray, mask: np.ndarray, max_unfilled: int = 200, max_passes: int = 80
) -> np.ndarray:
    """The official code's inpainting (InpaintingFunction.py), line by line, for one frame: the slow
    reference that `fill` is tested and benchmarked against. im (H, W, 3) float64, mask (H, W) of the
    pasted box (1 known, 0 hole). Uses SciPy's convolve2d, as the original."""
    from scipy.signal import convolve2d  # only the reference needs SciPy

    k = np.array([[0.5, 0.5]])
    for _ in range(10):
        k = convolve2d(k, np.array([[0.5, 0.5]]))
    im = im.copy()
    passes = 0
    while np.sum(im.sum(axis=2) == 0) > max_unfilled and passes < max_passes:
        passes += 1
        out = np.zeros_like(im)
        for ch in range(3):
            num = convolve2d(convolve2d(im[:, :, ch] * mask, k, "same"), k.T, "same")
            den = convolve2d(convolve2d(mask, k, "same"), k.T, "same")
            out[:, :, ch] = mask * im[:, :, ch] + (1 - mask) * num / (den + (den == 0))
        im = out
        mask = (im.sum(axis=2) != 0).astype(np.float64)
    return im
