"""The official inpainting (Azulay & Weiss code, InpaintingFunction.py), batched over frames.

Normalised convolution with a separable binomial kernel of 12 taps ([0.5, 0.5] convolved with itself 10
times): filled = conv(image * mask) / conv(mask) outside the known pixels, known pixels kept. Passes repeat
while a frame has more than 200 pixels whose channel sum is exactly 0 and fewer than 80 passes ran; after the
first pass the mask becomes "every pixel whose channel sum is not 0", as in the official code.

In a pass only the unknown pixels with a known pixel within the kernel's reach change: elsewhere the
official code keeps the pixel (known) or computes 0 / (0 + 1) on a pixel that is already 0. Those pixels
form a ring about 6 px wide around the filled area, so `fill` cuts each canvas into 16 x 16 tiles and each
pass blurs only the tiles that hold such a pixel, each from its 27 x 27 input window (the tile plus the
kernel's reach). It is the official algorithm pixel for pixel, up to float rounding; the work is done in
float64, as the official code, which keeps it within ~3e-8 of `official_fill` on real frames (float32
accumulation drifts to ~7.5e-7 over ~20 passes, too close to the 1e-6 the tests allow).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

TILE = 16  # tile side (224 = 14 x 16); 11-12 and 24-32 were slower on CPU (more halo, resp. idle area)
CPU_CHUNK = 256  # tiles blurred at once on a CPU: keeps the temporaries in cache (~2x faster than all)


def binomial_kernel(taps: int = 12) -> torch.Tensor:
    """(taps,) float64: [0.5, 0.5] convolved with itself taps - 2 times."""
    k = torch.tensor([0.5, 0.5], dtype=torch.float64)
    base = k.clone()
    for _ in range(taps - 2):
        k = torch.cat([k, k.new_zeros(1)]) * base[0] + torch.cat([k.new_zeros(1), k]) * base[1]
    return k


def window_matrix(tile: int, kernel: torch.Tensor) -> torch.Tensor:
    """(tile + taps - 1, tile) matrix B with (w @ B)[j] = scipy convolve(x, kernel, 'same')[j0 + j] for
    the window w = x[j0 - taps//2 : j0 + tile + taps - 1 - taps//2] (zeros outside x).

    For an even kernel of length L, scipy keeps full-convolution indices from L//2 - 1 on, i.e. output j
    sums x[j - L//2 .. j + L//2 - 1]: window element i feeds output j through tap i - j. The kernel is
    symmetric, so no flip is needed.
    """
    taps = kernel.numel()
    i = torch.arange(tile + taps - 1)[:, None]
    t = i - torch.arange(tile)[None, :]
    inside = (t >= 0) & (t < taps)
    return torch.where(inside, kernel[t.clamp(0, taps - 1)], torch.zeros((), dtype=kernel.dtype))


@dataclass
class _Canvas:
    """Frames being filled, padded so that every tile's input window is a fixed pattern of row segments.

    x (A, 4, H, W): planes [image (3), mask]; image pixels are 0 wherever the mask is 0 (in [0, 1], a
    channel sum of 0 is a black pixel), so image * mask is the image itself. The N x N canvas sits at rows
    and columns [lo, lo + N), surrounded by zeros (the official zero padding): lo = taps // 2 above and
    left, at least taps - 1 - lo below and right. W is a multiple of the tile side, so in the flat storage
    every window row starts at T * (integer) and every tile row at lo + T * (integer): gathering or writing
    tiles is one index_select / index_copy_ over row segments (much faster than advanced indexing).
    """

    x: torch.Tensor
    n: int  # canvas side N
    tile: int  # T
    taps: int

    @classmethod
    def build(cls, frames: torch.Tensor, known: torch.Tensor, tile: int, taps: int, dtype) -> _Canvas:
        """Frames (A, 3, N, N) with unknown pixels set to 0, mask = known (A, 1, N, N)."""
        a, _, n, _ = frames.shape
        lo, tiles = taps // 2, -(-n // tile)
        x = frames.new_zeros((a, 4, lo + tiles * tile + taps - 1 - lo, (tiles + 1) * tile), dtype=dtype)
        core = x[:, :, lo : lo + n, lo : lo + n]
        torch.mul(frames, known, out=core[:, :3])
        core[:, 3:] = known
        return cls(x, n, tile, taps)

    @property
    def lo(self) -> int:
        return self.taps // 2

    @property
    def tiles(self) -> int:
        """Tiles per side, nT."""
        return -(-self.n // self.tile)

    @property
    def core(self) -> torch.Tensor:
        """(A, 4, N, N) view of the canvas."""
        return self.x[:, :, self.lo : self.lo + self.n, self.lo : self.lo + self.n]

    def mask_tiles(self) -> torch.Tensor:
        """(A, nT, nT, T, T) view of the mask plane by tile (the padding beyond N stays 0)."""
        t, s = self.tile, self.tiles * self.tile
        m = self.x[:, 3, self.lo : self.lo + s, self.lo : self.lo + s]
        return m.unflatten(1, (self.tiles, t)).unflatten(3, (self.tiles, t)).transpose(2, 3)

    def _segments(self, length: int, offset: int) -> torch.Tensor:
        """(count, length) view of the flat storage, overlapping where length > T: row i starts at
        offset + T * i."""
        flat, t = self.x.view(-1), self.tile
        return flat.as_strided(((flat.numel() - offset - length) // t + 1, length), (t, 1), offset)

    def _rows(self, a: torch.Tensor, ty: torch.Tensor, tx: torch.Tensor, rows: range) -> torch.Tensor:
        """(P * 4 * len(rows),) indices, into `_segments`, of rows `rows` (counted from the window's top)
        of the windows of tiles (a, ty, tx), all four planes, in (tile, plane, row) order."""
        h, per_row = self.x.shape[2], self.x.shape[3] // self.tile
        plane = torch.arange(4, device=a.device)[:, None] * h
        r = torch.as_tensor(rows, device=a.device)[None, :]
        start = ((a * 4 * h + ty * self.tile) * per_row + tx)[:, None, None]
        return (start + (plane + r) * per_row).flatten()

    def windows(self, a: torch.Tensor, ty: torch.Tensor, tx: torch.Tensor) -> torch.Tensor:
        """(P, 4, S, S) input windows of tiles (a, ty, tx): S = T + taps - 1 rows and columns from
        taps // 2 before the tile."""
        s = self.tile + self.taps - 1
        rows = self._rows(a, ty, tx, range(s))
        return self._segments(s, 0).index_select(0, rows).view(len(a), 4, s, s)

    def write(self, a: torch.Tensor, ty: torch.Tensor, tx: torch.Tensor, values: torch.Tensor) -> None:
        """Store values (P, 4, T, T) into tiles (a, ty, tx)."""
        t, lo = self.tile, self.lo
        rows = self._rows(a, ty, tx, range(lo, lo + t))  # the tile's rows: lo further down and right
        self._segments(t, lo).index_copy_(0, rows, values.reshape(-1, t))


def _reach_parts(mask: torch.Tensor, before: int, after: int) -> torch.Tensor:
    """(..., 3, 3) bool from mask tiles (..., T, T) of 0 / 1: [di + 1, dj + 1] says whether the part of the
    tile that its neighbour at offset (di, dj) reads holds a known pixel. A window reaches `before` pixels
    above (left of) its tile and `after` below (right): the tile below (di = 1) reads the last `before`
    rows, the one above (di = -1) the first `after` rows, the tile itself (di = 0) all; likewise columns."""
    t = mask.shape[-1]
    parts = (slice(0, after), slice(None), slice(t - before, t))  # read by the neighbour at -1, 0, +1
    rows = torch.stack([mask[..., r, :].amax(dim=-2) for r in parts], dim=-2)  # (..., 3, T)
    return torch.stack([rows[..., c].amax(dim=-1) for c in parts], dim=-1) > 0


def _in_reach(parts: torch.Tensor) -> torch.Tensor:
    """(A, nT, nT) bool: a known pixel in the tile's window, from `_reach_parts` (A, nT, nT, 3, 3).

    The window reaches less than a tile beyond its tile, so it sees the tile and parts of its 8 neighbours.
    """
    a, nt = parts.shape[:2]
    padded = torch.nn.functional.pad(parts.flatten(3).permute(0, 3, 1, 2), (1, 1, 1, 1))  # (A, 9, nT+2, nT+2)
    padded = padded.unflatten(1, (3, 3))
    reach = torch.zeros(a, nt, nt, dtype=torch.bool, device=parts.device)
    for di in (-1, 0, 1):
        for dj in (-1, 0, 1):
            # the neighbour at offset (di, dj) sees this tile at offset (-di, -dj): its part [1 - di, 1 - dj]
            reach |= padded[:, 1 - di, 1 - dj, 1 + di : 1 + di + nt, 1 + dj : 1 + dj + nt]
    return reach


def _tile_state(canvas: _Canvas) -> tuple[torch.Tensor, torch.Tensor]:
    """Known pixels per tile (A, nT, nT) and `_reach_parts` (A, nT, nT, 3, 3), from the whole mask."""
    m = canvas.mask_tiles()
    lo = canvas.lo
    return m.sum(dim=(-1, -2)), _reach_parts(m, lo, canvas.taps - 1 - lo)


def _pass_on_tiles(
    windows: torch.Tensor, band: torch.Tensor, lo: int, inside: torch.Tensor | None, out: torch.Tensor
) -> None:
    """One pass of the official update on tiles: windows (P, 4, S, S) [image, mask] -> out (P, 4, T, T)
    [new image, new mask = channel sum != 0]. inside (P, 1, T, T): 1 on the canvas, 0 beyond its edge."""
    t = band.shape[1]
    torch.matmul(band.T, windows @ band, out=out)  # (P, 4, T, T): num (3 planes), den
    im, den = out[:, :3], out[:, 3:]
    # den == 0 only where no known pixel is in reach, and there num == 0 too: 0 / tiny = 0, as the
    # official num / (den + (den == 0)); elsewhere den >= (1/2048)^2, so the clamp never bites.
    im.div_(den.clamp_min_(1e-30))
    old = windows[:, :, lo : lo + t, lo : lo + t]
    torch.where(old[:, 3:] != 0, old[:, :3], im, out=im)  # known pixels kept
    if inside is not None:
        im.mul_(inside)  # pixels beyond the canvas edge stay 0: they are the zero padding
    torch.ne(im.sum(dim=1, keepdim=True), 0, out=den)


def _canvas_tiles(n: int, tile: int, dtype: torch.dtype, device: torch.device) -> torch.Tensor:
    """(nT, nT, T, T): 1 on the N x N canvas, 0 where the last row or column of tiles goes past it."""
    nt = -(-n // tile)
    on = torch.zeros(nt * tile, nt * tile, dtype=dtype, device=device)
    on[:n, :n] = 1
    return on.unflatten(0, (nt, tile)).unflatten(2, (nt, tile)).transpose(1, 2)


def fill(
    frames: torch.Tensor,
    known: torch.Tensor,
    *,
    taps: int = 12,
    max_unfilled: int = 200,
    max_passes: int = 80,
    tile: int = TILE,
    chunk: int | None = None,
    dtype: torch.dtype = torch.float64,
) -> torch.Tensor:
    """Inpaint the unknown pixels of frames (M, 3, N, N) in [0, 1]; known (M, 1, N, N) bool.

    Each frame is inpainted on its own (its own stopping rule); returns (M, 3, N, N) in frames' dtype.
    Works in `dtype` (float64, as the official code). `chunk` tiles are blurred at once (default: 256 on
    a CPU, all of a pass on a GPU).
    """
    if tile < taps - 1:  # the canvas's right padding (tile - taps // 2) must cover the kernel's reach
        raise ValueError(f"tile must be at least taps - 1 = {taps - 1}, not {tile}")
    unfilled = (frames.sum(dim=1) == 0).flatten(1).sum(dim=1)
    ids = torch.nonzero(unfilled > max_unfilled)[:, 0] if max_passes > 0 else unfilled[:0]
    if len(ids) == 0:  # no pass at all: the official code returns the frames as they are
        return frames.clone()
    every = len(ids) == len(frames)
    # The first pass reads only the known pixels and overwrites every unknown one (with 0 where no known
    # pixel is in reach): the same as setting the unknown pixels to 0 first.
    todo = (frames, known) if every else (frames[ids], known[ids])
    canvas = _Canvas.build(*todo, tile, taps, dtype)
    _run_passes(canvas, max_unfilled, max_passes, chunk)
    filled = torch.empty_like(todo[0]).copy_(canvas.core[:, :3])
    if every:
        return filled
    out = frames.clone()
    out[ids] = filled
    return out


def _run_passes(canvas: _Canvas, max_unfilled: int, max_passes: int, chunk: int | None) -> None:
    """The official passes, on the tiles that can change, until each frame meets the stopping rule."""
    x, n, tile, lo = canvas.x, canvas.n, canvas.tile, canvas.lo
    after = canvas.taps - 1 - lo
    band = window_matrix(tile, binomial_kernel(canvas.taps)).to(x)
    on_canvas = _canvas_tiles(n, tile, x.dtype, x.device)
    pixels = on_canvas.sum(dim=(-1, -2))  # canvas pixels per tile
    ragged = n % tile != 0
    if chunk is None:
        chunk = CPU_CHUNK if x.device.type == "cpu" else pixels.numel() * len(x)
    counts, parts = _tile_state(canvas)
    running = torch.ones(len(x), dtype=torch.bool, device=x.device)
    for passes in range(1, max_passes + 1):
        # tiles that can change: an unknown pixel, and a known one within the kernel's reach
        todo = running[:, None, None] & (counts < pixels) & _in_reach(parts)
        a, ty, tx = torch.nonzero(todo, as_tuple=True)
        if passes > 1 and len(a) == 0:  # nothing can change any more: the remaining passes are no-ops
            return
        new = x.new_empty(len(a), 4, tile, tile)
        for s in range(0, len(a), chunk):
            part = slice(s, s + chunk)
            inside = on_canvas[ty[part], tx[part]].unsqueeze(1) if ragged else None
            _pass_on_tiles(canvas.windows(a[part], ty[part], tx[part]), band, lo, inside, new[part])
        canvas.write(a, ty, tx, new)  # only now: every tile was computed from the previous pass
        counts[a, ty, tx] = new[:, 3].sum(dim=(-1, -2))
        parts[a, ty, tx] = _reach_parts(new[:, 3], lo, after)
        if passes == 1:  # from now on the mask is "channel sum != 0", known pixels included
            core = canvas.core
            core[:, 3:] = core[:, :3].sum(dim=1, keepdim=True) != 0
            counts, parts = _tile_state(canvas)
        running &= n * n - counts.sum(dim=(1, 2)) > max_unfilled  # pixels with channel sum 0
        if not running.any():
            return


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
