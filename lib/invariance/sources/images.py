"""Robust image decoding: any common file -> RGB uint8, with bad files counted and named, never hidden.

Handled: grayscale, CMYK, palette and RGBA (composited on white), 16-bit PNG (scaled, not clipped), EXIF
orientation. A truncated or non-image file is skipped with a logged warning; an empty result is an error.
So is a file whose header declares more pixels than Pillow's limit (PIL.Image.MAX_IMAGE_PIXELS, a guard
against decompression bombs), before any of it is decoded.
"""

from __future__ import annotations

import hashlib
import logging
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageOps, UnidentifiedImageError

log = logging.getLogger(__name__)


class ImageDecodeError(ValueError):
    """A file could not be decoded as an image."""


class NoImagesError(RuntimeError):
    """Every requested image was missing or undecodable."""


@dataclass(frozen=True, eq=False)
class SourceImage:
    """One decoded source image.

    pixels: uint8 tensor (3, H, W), RGB in 0-255 (checked when made: see `check_pixels`). label: ImageNet
    class index, or -1 when unknown.
    """

    id: str
    label: int
    pixels: torch.Tensor = field(repr=False)
    path: Path | None = None

    def __post_init__(self) -> None:
        check_pixels(self.pixels, self.id)

    @property
    def size(self) -> tuple[int, int]:
        """(H, W)."""
        return int(self.pixels.shape[1]), int(self.pixels.shape[2])

    @cached_property
    def digest(self) -> str:
        """SHA-256 of the label, size and decoded pixels: what identifies the content (the id does not)."""
        h = hashlib.sha256(f"{self.label}|{tuple(self.pixels.shape)}|".encode())
        h.update(self.pixels.contiguous().numpy().tobytes())
        return h.hexdigest()


PIXELS = "a uint8 tensor (3, H, W), RGB in 0-255 (the library divides by 255 itself)"


def check_pixels(pixels: object, image_id: str = "") -> None:
    """ValueError unless pixels are a SourceImage's: PIXELS. The message names what was found and the
    conversion that fixes the usual mistakes (torchvision's float [0, 1], channels last, grey, RGBA)."""
    who = f"image {image_id!r}: " if image_id else ""
    if not isinstance(pixels, torch.Tensor):
        raise ValueError(f"{who}pixels must be {PIXELS}, not {type(pixels).__name__}")
    shape = tuple(pixels.shape)
    if pixels.dtype != torch.uint8:
        hint = ""
        if pixels.is_floating_point() and pixels.numel():
            low, high = float(pixels.min()), float(pixels.max())
            hint = f" with values {low:g}-{high:g}"
            if high <= 1.0:  # torchvision's ToTensor convention
                hint += ": for floats in [0, 1] pass (pixels * 255).round().to(torch.uint8)"
        raise ValueError(f"{who}pixels must be {PIXELS}, not {pixels.dtype} {shape}{hint}")
    if pixels.ndim == 3 and shape[-1] in (3, 4) and shape[0] not in (3, 4):
        raise ValueError(
            f"{who}pixels must be {PIXELS}, not {shape} (channels last): pass pixels.permute(2, 0, 1)"
        )
    if pixels.ndim == 2:
        raise ValueError(f"{who}pixels must be {PIXELS}, not {shape} (grey): pass pixels.expand(3, -1, -1)")
    if pixels.ndim != 3 or shape[0] != 3:
        raise ValueError(
            f"{who}pixels must be {PIXELS}, not {shape}"
            + (": drop or composite the alpha channel (RGBA)" if pixels.ndim == 3 and shape[0] == 4 else "")
        )
    if min(shape[1:]) < 1:
        raise ValueError(f"{who}pixels must be {PIXELS} with H, W >= 1, not {shape}")


def content_key(images: Sequence[SourceImage]) -> str:
    """One digest of a list of images' contents, in order: part of every cache key, so two different
    images with one name (two video folders, two copies of val) never share a cached result."""
    h = hashlib.sha256()
    for img in images:
        h.update(img.digest.encode())
    return h.hexdigest()[:32]


def _to_rgb(im: Image.Image) -> np.ndarray:
    """PIL image of any mode -> (H, W, 3) uint8."""
    if im.mode in ("I;16", "I;16B", "I;16L", "I"):
        # 16-bit and 32-bit integer greyscale: PIL's convert("RGB") clips at 255, so scale by hand.
        arr = np.asarray(im, dtype=np.float64)
        top = 65535.0 if arr.max() > 255 or im.mode.startswith("I;16") else 255.0
        grey = np.clip(np.round(arr / top * 255.0), 0, 255).astype(np.uint8)
        return np.repeat(grey[..., None], 3, axis=2)
    if im.mode == "F":
        arr = np.asarray(im, dtype=np.float64)
        grey = np.clip(np.round(arr * 255.0 if arr.max() <= 1.0 else arr), 0, 255).astype(np.uint8)
        return np.repeat(grey[..., None], 3, axis=2)
    if im.mode == "P":
        im = im.convert("RGBA")
    if im.mode in ("RGBA", "LA", "PA"):
        # Transparent pixels are composited on white, the usual display convention.
        rgba = im.convert("RGBA")
        canvas = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        im = Image.alpha_composite(canvas, rgba)
    return np.asarray(im.convert("RGB"), dtype=np.uint8)


def load_rgb(path: str | Path) -> np.ndarray:
    """Decode one file to an (H, W, 3) uint8 RGB array, EXIF rotation applied.

    Raises FileNotFoundError for a missing path and ImageDecodeError for a corrupt/non-image file.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"Image file not found: {path}")
    try:
        with warnings.catch_warnings():
            # In force before Image.open, which reads the size from the header and warns (over the limit) or
            # raises (over twice the limit) there: as an error, nothing of an over-limit file is decoded.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path) as im:
                im.load()  # forces a full decode so truncation is caught here, not later
                im = ImageOps.exif_transpose(im)
                rgb = _to_rgb(im)
    except (Image.DecompressionBombWarning, Image.DecompressionBombError) as e:
        raise ImageDecodeError(
            f"Not decoded {path}: {e} (Pillow's limit PIL.Image.MAX_IMAGE_PIXELS; raise it to read this file)"
        ) from e
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as e:
        raise ImageDecodeError(f"Cannot decode {path}: {e}") from e
    if rgb.ndim != 3 or rgb.shape[2] != 3 or min(rgb.shape[:2]) < 1:
        raise ImageDecodeError(f"Unexpected decoded shape {rgb.shape} for {path}")
    return rgb


def load_images(
    entries: Iterable[tuple[str, Path, int]], *, strict_empty: bool = True
) -> tuple[list[SourceImage], list[tuple[Path, str]]]:
    """Decode (id, path, label) entries. Returns (images, skipped) where skipped = [(path, reason)].

    Each skipped file is logged as a warning naming it; the caller sees the count. Raises NoImagesError when
    nothing decodes (and strict_empty is set).
    """
    images: list[SourceImage] = []
    skipped: list[tuple[Path, str]] = []
    for image_id, path, label in entries:
        try:
            rgb = load_rgb(path)
        except (ImageDecodeError, FileNotFoundError) as e:
            log.warning("Skipping image %s: %s", path, e)
            warnings.warn(f"Skipping image {path}: {e}", stacklevel=2)
            skipped.append((Path(path), str(e)))
            continue
        # contiguous and writable: a tiny image's transpose can be a read-only view of PIL's buffer
        pixels = torch.from_numpy(np.require(rgb.transpose(2, 0, 1), requirements=["C", "W"]))
        images.append(SourceImage(id=image_id, label=int(label), pixels=pixels, path=Path(path)))
    if skipped:
        log.warning("Skipped %d of %d images (see warnings above)", len(skipped), len(images) + len(skipped))
    if strict_empty and not images:
        raise NoImagesError(
            f"No image could be decoded ({len(skipped)} skipped). Check the folder or manifest you gave."
        )
    return images, skipped


def to_float(pixels: torch.Tensor) -> torch.Tensor:
    """uint8 (..., 3, H, W) -> float32 in [0, 1]."""
    return pixels.to(torch.float32, copy=True).div_(255.0)  # copy: never divide the caller's tensor


def from_paths(paths: Sequence[str | Path], label: int = -1) -> list[SourceImage]:
    """Decode user files (e.g. video frames) in the given order; ids are the file stems."""
    images, _ = load_images((Path(p).stem, Path(p), label) for p in paths)
    return images
