"""The transformation protocols of the paper, each yielding K frames per image whose consecutive frames
(k, k + 1) are the one-pixel pairs. Built from the kernels in `transforms` and `inpaint`.

Every random choice (position, crop box) comes from a generator seeded by (protocol seed, image id), so an
image gets the same frames whatever batch, order or subset it is evaluated in.
See `transforms` for the axis and shift conventions. Sides are given for a 224 canvas and scale with N
(side 100 -> 133 at N = 299), so canvases are always built natively at the model's input size.
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import torch

from invariance.kernels import inpaint, transforms
from invariance.sources.images import SourceImage
from invariance.sources.models import LoadedModel

BACKGROUNDS = ("black", "mean", "inpaint")


def image_rng(seed: int, image_id: str) -> np.random.Generator:
    """Generator for one image's random choices, independent of batch composition."""
    return np.random.default_rng([seed, zlib.crc32(image_id.encode())])


def scaled(side: int, canvas: int) -> int:
    """A size given for a 224 canvas, at canvas N."""
    return round(side * canvas / 224)


def _start(rng: np.random.Generator, room: tuple[int, int], where: str) -> tuple[int, int]:
    """Top-left corner in [0, room] per axis (room < 0 -> 0): uniform at random, or centred."""
    ry, rx = max(room[0], 0), max(room[1], 0)
    if where == "center":
        return ry // 2, rx // 2
    return int(rng.integers(0, ry + 1)), int(rng.integers(0, rx + 1))


def _check(value: str, allowed: tuple[str, ...], what: str) -> None:
    if value not in allowed:
        raise ValueError(f"{what} must be one of {allowed}, not {value!r}")


def _positive(**values: object) -> None:
    """Sizes, step counts and seeds must be integers >= 1 (seeds >= 0); None passes (= default)."""
    for name, v in values.items():
        low = 0 if name == "seed" else 1
        if v is not None and (not isinstance(v, int) or isinstance(v, bool) or v < low):
            raise ValueError(f"{name} must be an integer >= {low}, not {v!r}")


# what make_group returns: frames (M, 3, N, N) and covered masks (M, 1, N, N), or None for no masks
Frames = tuple[torch.Tensor, torch.Tensor | None]
Background = transforms.Background


class _BuiltInGroups:
    """A protocol whose frames are built a group of images at a time (`make_group`, fewer kernel launches on
    a GPU); one image's frames are a group of one."""

    def make_group(
        self, images: Sequence[SourceImage], canvas: int, device: torch.device | str, covered: bool = True
    ) -> Frames:
        """Frames (B * K, 3, N, N) of B images, image-major, and covered (B * K, 1, N, N) (None with
        covered=False). The protocols that paste an object (Translation, Scale) also take `background`, the
        canvas colour outside the object (black by default)."""
        raise NotImplementedError

    def make_frames(
        self, img: SourceImage, canvas: int, device: torch.device | str, covered: bool = True
    ) -> Frames:
        """Frames (K, 3, N, N) and covered (K, 1, N, N) (None with covered=False) of one image."""
        return self.make_group([img], canvas, device, covered)


@dataclass(frozen=True)
class Translation(_BuiltInGroups):
    """Embedding + translation: resize (shorter side `side`), paste, move one pixel per frame.

    path: "diagonal" (+1, +1 per frame, `steps` steps), or "vertical"/"horizontal": along a line of the
    canvas, the other coordinate centred; `span` steps of the line's centred segment, or (span=None) the
    whole line from edge to edge (steps is ignored for lines).
    shape: "aspect" keeps the aspect ratio; "square" takes the central square first (fixed extent).
    position: "random" (seeded, the whole path stays inside the canvas when it fits) or "center".
    """

    background: str = "black"
    side: int = 100
    steps: int = 8
    path: str = "diagonal"
    shape: str = "aspect"
    position: str = "random"
    span: int | None = None
    seed: int = 0

    def __post_init__(self) -> None:
        _check(self.background, BACKGROUNDS, "background")
        _check(self.path, ("diagonal", "vertical", "horizontal"), "path")
        _check(self.shape, ("aspect", "square"), "shape")
        _check(self.position, ("random", "center"), "position")
        _positive(side=self.side, steps=self.steps, span=self.span, seed=self.seed)
        if self.path != "diagonal" and self.shape != "square":
            raise ValueError("whole-line paths need shape='square' so every image has the same frame count")

    @property
    def name(self) -> str:
        return f"translation-{self.path}-{self.background}"

    def source(self, img: SourceImage, canvas: int, device: torch.device | str) -> torch.Tensor:
        """The object (3, h, w) this protocol moves, for one image."""
        return self._resized(transforms.upload_sources([img.pixels], device)[0], canvas)

    def _resized(self, x: torch.Tensor, canvas: int) -> torch.Tensor:
        """A float source (3, H, W) -> the object (3, h, w) this protocol moves."""
        if self.shape == "square":
            x = transforms.center_square(x)
        return transforms.resize_shorter(x, scaled(self.side, canvas))

    def positions(self, img: SourceImage, src_hw: tuple[int, int], canvas: int) -> torch.Tensor:
        h, w = src_hw
        if self.path == "diagonal":
            room = (canvas - h - self.steps, canvas - w - self.steps)
            start = _start(image_rng(self.seed, img.id), room, self.position)
            return transforms.diagonal_positions(start, self.steps)
        extent = h if self.path == "vertical" else w
        room = max(canvas - extent, 0)
        steps = room if self.span is None else self.span
        along, across = (room - steps) // 2, max(canvas - (w if self.path == "vertical" else h), 0) // 2
        start = (along, across) if self.path == "vertical" else (across, along)
        return transforms.line_positions(start, steps, self.path)

    def make_group(
        self,
        images: Sequence[SourceImage],
        canvas: int,
        device,
        covered: bool = True,
        background: Background = 0.0,
    ) -> Frames:
        """The frames of several images at once: (B * K, 3, N, N), image-major, and covered (B * K, 1, N, N)
        (None with covered=False); equal to `make_frames` image by image, in fewer kernel launches."""
        srcs = [
            self._resized(x, canvas) for x in transforms.upload_sources([i.pixels for i in images], device)
        ]
        pos = [
            self.positions(img, tuple(src.shape[-2:]), canvas) for img, src in zip(images, srcs, strict=True)
        ]
        return transforms.paste_moving(srcs, pos, canvas, with_covered=covered, background=background)


@dataclass(frozen=True)
class Scale(_BuiltInGroups):
    """Embedding + scale: shorter side side, side+1, ..., side+steps (at N = 224), top-left corner fixed."""

    background: str = "black"
    side: int = 100
    steps: int = 8
    position: str = "random"
    seed: int = 0

    def __post_init__(self) -> None:
        _check(self.background, BACKGROUNDS, "background")
        _check(self.position, ("random", "center"), "position")
        _positive(side=self.side, steps=self.steps, seed=self.seed)

    @property
    def name(self) -> str:
        return f"scale-{self.background}"

    def make_group(
        self,
        images: Sequence[SourceImage],
        canvas: int,
        device,
        covered: bool = True,
        background: Background = 0.0,
    ) -> Frames:
        """The frames of several images at once: (B * K, 3, N, N), image-major (see Translation's)."""
        base = scaled(self.side, canvas)
        objects, starts = [], []
        for img, x in zip(images, transforms.upload_sources([i.pixels for i in images], device), strict=True):
            largest = transforms.shorter_side_size(x.shape[-2], x.shape[-1], base + self.steps)
            room = (canvas - largest[0], canvas - largest[1])
            starts += [_start(image_rng(self.seed, img.id), room, self.position)] * (self.steps + 1)
            # One resize per size: each frame is a different resampling of the source. The group's objects
            # are all kept until the paste (16 images: about 27 MB), for one fill of all canvases.
            objects += [transforms.resize_shorter(x, base + k) for k in range(self.steps + 1)]
        return transforms.paste_each(objects, torch.tensor(starts), canvas, background, covered)


@dataclass(frozen=True)
class Crop(_BuiltInGroups):
    """Crop-and-rescale (official code): a crop of area fraction `fraction` (seeded position; aspect 1, or
    log-uniform in [3/4, 4/3] with aspect="random") rescaled to (N + margin)^2; windows N x N at (c, c),
    c = 0..steps.

    shift_before_rescale=True: the crop box itself moves (c, c) pixels in the original image and each
    crop is rescaled to N x N (a camera pan with resampling).
    """

    fraction: float = 1.0
    aspect: str = "square"
    margin: int = 10
    steps: int = 8
    shift_before_rescale: bool = False
    interpolation: str = "bicubic"
    seed: int = 0
    background: str = "none"  # crops cover the whole canvas

    def __post_init__(self) -> None:
        _check(self.aspect, ("square", "random"), "aspect")
        if not 0 < self.fraction <= 1:
            raise ValueError(f"fraction must be in (0, 1], not {self.fraction}")
        _positive(steps=self.steps, seed=self.seed)
        if not isinstance(self.margin, int) or self.margin < 0:
            raise ValueError(f"margin must be an integer >= 0, not {self.margin!r}")
        if self.interpolation not in ("bilinear", "bicubic"):
            raise ValueError(f"interpolation must be 'bilinear' or 'bicubic', not {self.interpolation!r}")

    @property
    def name(self) -> str:
        return f"crop{'-shift-before-rescale' if self.shift_before_rescale else ''}-{self.fraction:g}"

    def box(self, img: SourceImage) -> tuple[int, int, int, int]:
        """(y, x, h, w) of the first crop in the original image."""
        rng = image_rng(self.seed, img.id)
        height, width = img.size
        room = self.steps if self.shift_before_rescale else 0
        area = self.fraction * height * width
        ratio = 1.0 if self.aspect == "square" else math.exp(rng.uniform(math.log(3 / 4), math.log(4 / 3)))
        h = min(round(math.sqrt(area / ratio)), height - room)
        w = min(round(math.sqrt(area * ratio)), width - room)
        if self.aspect == "square":
            h = w = min(h, w)
        if h < 1 or w < 1:
            need = f" and {self.steps} px to shift" if self.shift_before_rescale else ""
            raise ValueError(
                f"image {img.id!r} ({height}x{width} px) is too small for a crop of area fraction "
                f"{self.fraction:g}{need}: use a larger image or fraction"
            )
        y, x = _start(rng, (height - h - room, width - w - room), "random")
        return y, x, h, w

    def make_group(self, images: Sequence[SourceImage], canvas: int, device, covered: bool = True) -> Frames:
        """The frames of several images at once: (B * K, 3, N, N), image-major (see Translation's)."""
        if not self.shift_before_rescale and self.margin < self.steps:
            raise ValueError(f"margin {self.margin} < steps {self.steps}: windows would leave the crop")
        boxes = [self.box(img) for img in images]  # checks every image's size before any work
        xs = transforms.upload_sources([img.pixels for img in images], device)
        if self.shift_before_rescale:
            crops = [
                torch.stack([x[:, y0 + c : y0 + c + h, x0 + c : x0 + c + w] for c in range(self.steps + 1)])
                for x, (y0, x0, h, w) in zip(xs, boxes, strict=True)
            ]
            frames = torch.cat([transforms.resize(c, (canvas, canvas), self.interpolation) for c in crops])
        else:
            big = torch.stack(
                [
                    transforms.resize(
                        x[:, y0 : y0 + h, x0 : x0 + w], (canvas + self.margin,) * 2, self.interpolation
                    )
                    for x, (y0, x0, h, w) in zip(xs, boxes, strict=True)
                ]
            )
            frames = transforms.windows_of_each(
                big, transforms.diagonal_positions((0, 0), self.steps), canvas
            )
        if not covered:
            return frames, None
        return frames, torch.ones(frames.shape[0], 1, canvas, canvas, dtype=torch.bool, device=frames.device)


@dataclass(frozen=True)
class Zoom(_BuiltInGroups):
    """One-pixel growth of a whole photo, no embedding (its natural framing): frame k is the photo with its
    shorter side rescaled to N + margin + 2k and the central N x N window, so the view closes in by one
    pixel at every edge per frame and an object filling a share a of the width grows by about 2a pixels.
    Exactly centred for square photos (val-227); on a non-square photo the long axis's window offset is
    rounded, so some of its steps add a half-pixel shift along that axis."""

    margin: int = 10
    steps: int = 8
    interpolation: str = "bicubic"
    seed: int = 0  # no random choice; kept so that every protocol takes a seed
    background: str = "none"  # the photo covers the whole canvas

    def __post_init__(self) -> None:
        _positive(steps=self.steps, seed=self.seed)
        if not isinstance(self.margin, int) or self.margin < 0 or self.margin % 2:
            raise ValueError(f"margin must be an even integer >= 0 (centred windows), not {self.margin!r}")
        if self.interpolation not in ("bilinear", "bicubic"):
            raise ValueError(f"interpolation must be 'bilinear' or 'bicubic', not {self.interpolation!r}")

    @property
    def name(self) -> str:
        return "zoom"

    def make_group(self, images: Sequence[SourceImage], canvas: int, device, covered: bool = True) -> Frames:
        """(B * K, 3, N, N), image-major: K resamplings per photo, nothing shared between photos."""
        frames = []
        for x in transforms.upload_sources([img.pixels for img in images], device):
            for k in range(self.steps + 1):
                big = transforms.resize_shorter(x, canvas + self.margin + 2 * k, self.interpolation)
                y0, x0 = (big.shape[-2] - canvas) // 2, (big.shape[-1] - canvas) // 2
                frames.append(big[:, y0 : y0 + canvas, x0 : x0 + canvas])
        out = torch.stack(frames).contiguous(memory_format=torch.channels_last)
        if not covered:
            return out, None
        return out, torch.ones(out.shape[0], 1, canvas, canvas, dtype=torch.bool, device=out.device)


@dataclass(frozen=True)
class GridTranslation(Translation):
    """A square embedding whose first frame sits in cell (row, col) of a grid x grid lattice spanning the
    free room of the canvas (0 = top/left edge, grid - 1 = bottom/right edge), moved `steps` diagonal
    one-pixel steps. Used to measure invariance at typical and atypical positions."""

    KEY_NAME: ClassVar[str] = "Placement"  # its name before; keeps the cached results' keys
    shape: str = "square"
    steps: int = 1
    cell: tuple[int, int] = (0, 0)
    grid: int = 1

    def __post_init__(self) -> None:
        super().__post_init__()
        _positive(grid=self.grid)
        if len(self.cell) != 2 or not all(isinstance(c, int) and 0 <= c < self.grid for c in self.cell):
            raise ValueError(
                f"cell must be (row, col) with 0 <= row, col < grid = {self.grid}, not {self.cell!r}"
            )

    @property
    def name(self) -> str:
        return f"placement-{self.side}-r{self.cell[0]}c{self.cell[1]}-of-{self.grid}-{self.background}"

    def positions(self, img: SourceImage, src_hw: tuple[int, int], canvas: int) -> torch.Tensor:
        room = (max(canvas - src_hw[0] - self.steps, 0), max(canvas - src_hw[1] - self.steps, 0))
        last = max(self.grid - 1, 1)
        start = (room[0] * self.cell[0] // last, room[1] * self.cell[1] // last)
        return transforms.diagonal_positions(start, self.steps)


Protocol = Translation | Scale | Crop | Zoom


def build_frames(
    protocol: Protocol,
    images: Sequence[SourceImage],
    canvas: int,
    mean: Sequence[float] = (0.5, 0.5, 0.5),
    device: torch.device | str = "cpu",
) -> torch.Tensor:
    """All frames of a protocol for a batch of images: (B, K, 3, N, N) in [0, 1] on `device`. Backgrounds:
    black (and crops, which cover the canvas) as pasted; the model's mean colour painted on the canvases
    before the paste (no covered masks, no second pass); inpainting fills the uncovered pixels afterwards."""
    check_fits(protocol, canvas)
    if not images:
        raise ValueError("build_frames needs at least one image")
    if protocol.background == "mean":
        frames, _ = protocol.make_group(images, canvas, device, covered=False, background=tuple(mean))
    else:
        inpainted = protocol.background == "inpaint"  # the only background that needs the covered masks
        frames, covered = protocol.make_group(images, canvas, device, covered=inpainted)
        if inpainted:
            frames = inpaint.fill(frames, covered)
    return frames.view(len(images), -1, *frames.shape[1:])


def check_fits(protocol: Protocol, canvas: int) -> None:
    """Raise ValueError when a protocol's frames would leave an N x N canvas (frames partly or wholly off
    the canvas would be measured as if they were one-pixel changes)."""
    if isinstance(protocol, Crop | Zoom):
        return
    side = scaled(protocol.side, canvas)
    if isinstance(protocol, Translation) and protocol.path != "diagonal":
        room = canvas - side
        if room < 1 or (protocol.span is not None and protocol.span > room):
            raise ValueError(
                f"{protocol.name}: a {side} px object (side {protocol.side} at 224) on a {canvas} px "
                f"canvas leaves room for {max(room, 0)} one-pixel steps along the line; "
                f"span {protocol.span} does not fit"
            )
        return
    if side + protocol.steps > canvas:
        raise ValueError(
            f"{protocol.name}: a {side} px object (side {protocol.side} at 224) moved or grown "
            f"{protocol.steps} px does not fit a {canvas} px canvas; at most {max(canvas - side, 0)} steps "
            + (
                f"fit, or a side of at most {(canvas - protocol.steps) * 224 // canvas}"
                if protocol.steps < canvas
                else "fit (no object could move that far)"
            )
        )


def n_frames(protocol: Protocol, canvas: int) -> int:
    """K, the number of frames per image (K - 1 pairs)."""
    if isinstance(protocol, Translation) and protocol.path != "diagonal":
        if protocol.span is not None:
            return protocol.span + 1
        return canvas - scaled(protocol.side, canvas) + 1
    return protocol.steps + 1


def center_crop_frames(model: LoadedModel, images: Sequence[SourceImage]) -> torch.Tensor:
    """A network's standard eval frames (B, 3, N, N) in [0, 1] on its device: shorter side ->
    round(N / crop_pct) with the model's interpolation (antialiased), then the central N x N crop."""
    cfg = model.data_config
    side = round(cfg.input_size / cfg.crop_pct)
    out = []
    for x in transforms.upload_sources([img.pixels for img in images], model.device):
        x = transforms.resize_shorter(x, side, cfg.interpolation)
        y0, x0 = (x.shape[1] - cfg.input_size) // 2, (x.shape[2] - cfg.input_size) // 2
        out.append(x[:, y0 : y0 + cfg.input_size, x0 : x0 + cfg.input_size])
    return torch.stack(out)


# --- protocol sets --------------------------------------------------------------------------------------


def geometry(models: Sequence[LoadedModel], protocol: Translation) -> dict[str, str]:
    """Per network (label): its canvas side N and the embedded object's side at N, as figure text, e.g.
    {"lite1": "240 px canvas, object 107 px"} (sides are given for 224 and scale with N)."""
    shape = " square" if protocol.shape == "square" else " (shorter side)"
    out = {}
    for m in models:
        n = m.data_config.input_size
        out[m.label] = f"{n} px canvas, object {scaled(protocol.side, n)} px{shape}"
    return out


def table1_protocols(steps: int = 8, seed: int = 0) -> dict[str, Protocol]:
    """The protocols of the quantification (Table 1 and beyond)."""
    return {
        "crop": Crop(steps=steps, seed=seed),
        "black": Translation(background="black", steps=steps, seed=seed),
        "mean": Translation(background="mean", steps=steps, seed=seed),
        "inpaint": Translation(background="inpaint", steps=steps, seed=seed),
        "scale": Scale(background="black", steps=steps, seed=seed),
    }


def sweep_conditions(
    crop_fractions: Sequence[float], embed_scales: Sequence[float], steps: int = 8, seed: int = 0
) -> dict[str, Protocol]:
    """The official object-scale sweep: crops of area fraction s, and centred square embeddings of
    int(224 / s) px on black and on the mean colour; plus the shift-before-rescale crop variant.
    Names are 'variant|scale' (see metrics.split_condition)."""
    out: dict[str, Protocol] = {}
    for s in crop_fractions:
        out[f"crop|{s:g}"] = Crop(fraction=s, steps=steps, seed=seed)
        out[f"crop shift-before-rescale|{s:g}"] = Crop(
            fraction=s, steps=steps, seed=seed, shift_before_rescale=True
        )
    for s in embed_scales:
        for bg in ("black", "mean"):
            out[f"embed {bg}|{s:g}"] = Translation(
                background=bg, side=int(224 / s), shape="square", position="center", steps=steps, seed=seed
            )
    return out


def grid_conditions(sides: Sequence[int], grid: int, seed: int = 0) -> dict[str, Protocol]:
    """One-pixel diagonal pairs of a square embedding at grid x grid positions for each side length.

    Condition names are 'side|row|col' with row/col the grid cell (0 = top/left)."""
    out: dict[str, Protocol] = {}
    for side in sides:
        for r in range(grid):
            for c in range(grid):
                out[f"{side}|{r}|{c}"] = GridTranslation(side=side, cell=(r, c), grid=grid, seed=seed)
    return out
