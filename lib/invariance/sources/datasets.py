"""Where the images come from: the offline ImageNet sample, a user's ImageNet validation folder, seeded
manifests that fix the image list of a run, and the download path for machines without a local copy.

Labels are ImageNet class indices in the standard sorted-wnid order (timm's ImageNetInfo).
Run `python -m invariance.apps.fetch` (or `make data`) to download missing data into data/.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
import shutil
import tempfile
import urllib.request
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from invariance.core import files, paths
from invariance.sources.images import SourceImage, load_images

SAMPLE_NAME = "imagenet-sample"
BOXES_NAME = "ilsvrc2012-val-boxes"
VAL227_NAME = "ilsvrc2012-val-227"  # 1,300 real val photos squashed to 227x227 (their README)
# Public sources, pinned to the commits the shared copy came from (see ../shared/data/README.md).
SAMPLE_URL = (
    "https://github.com/EliSchwartz/imagenet-sample-images/archive/"
    "bc69043e2862758a1906c6a24a792bb28c6bb2ff.zip"
)
BOXES_URL = (
    "https://raw.githubusercontent.com/clovaai/wsolevaluation/"
    "96f4b88679af41f005824661f47e6fe3628af2aa/metadata/ILSVRC/test/"
)
VAL227_URL = "https://raw.githubusercontent.com/VeriSilicon/acuity-dataset/aded2e9/ILSVRC2012_VAL_SET/"
BOXES_FILES = ("localization.txt", "image_sizes.txt", "class_labels.txt")
# Every download is checked against these. The box files are fetched as they are; GitHub builds the sample's
# zip on request (its bytes are not promised to stay the same), so what is checked is its content: the
# SHA-256 of the sorted lines "<file name>:<sha256 of the file>" of the extracted JPEGs (folder_digest).
BOXES_SHA256 = {
    "localization.txt": "c4a9929837b61e9c2a03524f5b963945782ddc9930c4f8ea764cc10004c5ee62",
    "image_sizes.txt": "dde3957c4bf3bdab41ec759386c6ebaa8bed2c1790891ec3465e3a235ed63f3e",
    "class_labels.txt": "a226044e3e00900291053ecb8e68640385a196c5521c793d242df9e084e898b6",
}
SAMPLE_CONTENT_SHA256 = "0ab125d014a2e788979320d1858749f7181626ab3aeda1348a6a5a82704061ca"
# `sha256sum images/*.JPEG | sha256sum` in the val-227 folder (the digest its README states): sha256sum_digest
VAL227_CONTENT_SHA256 = "209524a7ce00d83bba3db75a5933fb6175319b3c02a429c7a790f7932f8f4d9d"

_SAMPLE_FILE = re.compile(r"^(n\d{8})_.+\.jpe?g$", re.IGNORECASE)
_VAL_FILE = re.compile(r"^ILSVRC2012_val_\d{8}\.jpe?g$", re.IGNORECASE)
_WNID = re.compile(r"^n\d{8}$")


@dataclass(frozen=True)
class Entry:
    """One image of a data set: id (file stem), path, label (class index or -1)."""

    id: str
    path: Path
    label: int


@lru_cache(maxsize=1)
def wnids() -> tuple[str, ...]:
    """The 1,000 ImageNet wnids in class-index order (sorted)."""
    from timm.data import ImageNetInfo

    return tuple(ImageNetInfo().label_names())


@lru_cache(maxsize=1)
def class_names() -> tuple[str, ...]:
    """Human-readable class names in class-index order."""
    from timm.data import ImageNetInfo

    info = ImageNetInfo()
    return tuple(info.index_to_description(i) for i in range(info.num_classes()))


def label_of_wnid(wnid: str) -> int:
    try:
        return wnids().index(wnid)
    except ValueError:
        raise ValueError(f"{wnid!r} is not one of the 1,000 ImageNet-1k wnids") from None


def sample_entries(root: Path | None = None) -> list[Entry]:
    """The offline sample: files `<wnid>_<name>.JPEG`, label from the wnid, sorted by id."""
    root = Path(root) if root else paths.find_data(SAMPLE_NAME)
    entries = []
    for p in sorted(root.iterdir()):
        m = _SAMPLE_FILE.match(p.name)
        if m:
            entries.append(Entry(p.stem, p, label_of_wnid(m.group(1))))
    if not entries:
        raise FileNotFoundError(f"No <wnid>_<name>.JPEG files in {root}. Run `make data` to fetch them.")
    return entries


class NotValLayoutError(FileNotFoundError):
    """A folder is not laid out as ImageNet val (no wnid sub-folders, no ILSVRC2012_val_* files): callers may
    read it another way. Bad content in a val layout (labels, class folders) is a ValueError instead."""


N_CLASSES = 1000


def val_entries(folder: str | Path, labels_file: str | Path | None = None) -> list[Entry]:
    """ImageNet validation images, flat (`ILSVRC2012_val_*.JPEG` + labels file) or in wnid sub-folders.

    labels_file: lines `val/<file>,<index>`; default: class_labels.txt of the val boxes data set. Raises
    NotValLayoutError for a folder of another layout, ValueError naming the line or folder that is wrong.
    """
    folder = Path(folder).expanduser()
    if not folder.is_dir():
        raise FileNotFoundError(f"ImageNet validation folder not found: {folder}")
    subdirs = sorted(d for d in folder.iterdir() if d.is_dir() and _WNID.match(d.name))
    if subdirs:
        others = sorted(  # hidden and tool folders (.ipynb_checkpoints, __MACOSX) hold no classes
            d.name
            for d in folder.iterdir()
            if d.is_dir() and not _WNID.match(d.name) and not d.name.startswith((".", "__MACOSX"))
        )
        if others:  # a class folder with another name would silently lose its images
            raise ValueError(
                f"{folder} has ImageNet class folders (n########) and other folders beside them: "
                f"{', '.join(others[:5])}; move those out, or point at a folder of one layout"
            )
        classes = {d: label_of_wnid(d.name) for d in subdirs}  # every folder checked, empty ones too
        found = [
            (d, p)
            for d in subdirs
            for p in sorted(d.iterdir())
            if p.suffix.lower() in (".jpeg", ".jpg", ".png")
        ]
        stems = [p.stem for _, p in found]
        # ids are file names, or <wnid>/<file name> where two classes hold files of one name
        ids = stems if len(set(stems)) == len(stems) else [f"{d.name}/{p.name}" for d, p in found]
        return [Entry(i, p, classes[d]) for i, (d, p) in zip(ids, found, strict=True)]
    files = sorted(p for p in folder.iterdir() if _VAL_FILE.match(p.name))
    if not files:
        raise NotValLayoutError(f"{folder} holds neither wnid sub-folders nor ILSVRC2012_val_*.JPEG files.")
    labels_path = Path(labels_file) if labels_file else paths.find_data(BOXES_NAME) / "class_labels.txt"
    labels = read_labels(labels_path)
    missing = [p.name for p in files if p.name not in labels]
    if missing:
        raise ValueError(f"{len(missing)} images have no label in {labels_path}, e.g. {missing[0]}")
    return [Entry(p.stem, p, labels[p.name]) for p in files]


def read_labels(path: Path) -> dict[str, int]:
    """{file name: class index} from lines `<path>,<index>` (blank lines skipped); ValueError naming the first
    line that is not of that form or whose index is not a class (0-999)."""
    labels = {}
    for number, line in enumerate(Path(path).read_text().splitlines(), start=1):
        if not line.strip():
            continue
        name, _, idx = line.strip().rpartition(",")
        try:
            label = int(idx)
        except ValueError:
            label = -1
        if not name or not 0 <= label < N_CLASSES:
            raise ValueError(
                f"{path}, line {number}: {line.strip()!r} is not '<file>,<class index 0-{N_CLASSES - 1}>'"
            )
        labels[Path(name).name] = label
    return labels


def subset(entries: Sequence[Entry], n: int | None, seed: int) -> list[Entry]:
    """A seeded random subset of n entries (all when n is None or too large), kept in id order."""
    if n is None or n >= len(entries):
        return sorted(entries, key=lambda e: e.id)
    rng = np.random.default_rng(seed)
    picked = rng.choice(len(entries), size=n, replace=False)
    return sorted((entries[i] for i in picked), key=lambda e: e.id)


def write_manifest(entries: Sequence[Entry], path: Path, root: Path) -> Path:
    """Write `id,file,label` rows (file relative to root), atomically."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(["id", "file", "label"])
    for e in entries:
        writer.writerow([e.id, e.path.relative_to(root).as_posix(), e.label])
    files.atomic_write_text(path, buf.getvalue())
    return path


def read_manifest(path: Path, root: Path) -> list[Entry]:
    """Read a manifest written by write_manifest; files resolve against root and must stay inside it."""
    inside = Path(root).resolve()
    with open(path, newline="") as f:
        entries = [Entry(r["id"], root / r["file"], int(r["label"])) for r in csv.DictReader(f)]
    for e in entries:
        if not e.path.resolve().is_relative_to(inside):
            raise ValueError(
                f"Manifest {path} points outside {root}: {e.path}. Delete the manifest to rebuild it."
            )
    return entries


def manifest(name: str, entries: Sequence[Entry], root: Path, n: int | None, seed: int) -> list[Entry]:
    """The seeded subset of entries, fixed in data/manifests/<name>-n<n>-seed<seed>.csv.

    The first call writes the file; later calls (any network, any notebook) read the same list.
    n None means all; n must otherwise be at least 1.
    """
    if n is not None and (not isinstance(n, int) or n < 1):
        raise ValueError(f"n must be a positive number of images (or None for all), not {n!r}")
    path = paths.manifests_dir() / f"{name}-n{n if n else 'all'}-seed{seed}.csv"
    if path.exists():
        return read_manifest(path, root)
    return read_manifest(write_manifest(subset(entries, n, seed), path, root), root)


def load_sample(n: int | None = None, seed: int = 0) -> list[SourceImage]:
    """Decode n seeded images of the offline ImageNet sample (all 1,000 when n is None)."""
    root = paths.find_data(SAMPLE_NAME)
    chosen = manifest(SAMPLE_NAME, sample_entries(root), root, n, seed)
    images, _ = load_images((e.id, e.path, e.label) for e in chosen)
    return images


def load_val(folder: str | Path, n: int, seed: int = 0) -> list[SourceImage]:
    """Decode n seeded images of a user's ImageNet validation folder (paper profile)."""
    folder = Path(folder).expanduser()
    entries = val_entries(folder)
    # The manifest is tied to this folder and its contents: another folder, or this one grown, gets its own.
    tie = hashlib.sha256(str(folder.resolve()).encode())
    for e in entries:
        tie.update(f"{e.id},{e.label};".encode())
    chosen = manifest(f"ilsvrc2012-val-{tie.hexdigest()[:12]}", entries, folder, n, seed)
    images, _ = load_images((e.id, e.path, e.label) for e in chosen)
    return images


def val227_entries(root: Path | None = None) -> list[Entry]:
    """The 1,300 squashed val photos: images/ILSVRC2012_val_*.JPEG, labels from labels.txt, sorted by id."""
    root = Path(root) if root else paths.find_data(VAL227_NAME)
    return val_entries(root / "images", root / "labels.txt")


def load_val227(n: int | None = None, seed: int = 0) -> list[SourceImage]:
    """Decode n seeded images of the squashed val set (all 1,300 when n is None)."""
    root = paths.find_data(VAL227_NAME)
    chosen = manifest(VAL227_NAME, val227_entries(root), root, n, seed)
    images, _ = load_images((e.id, e.path, e.label) for e in chosen)
    return images


def sample_image(id_prefix: str) -> SourceImage:
    """One sample image by id or wnid prefix, e.g. 'n02104029' (kuvasz)."""
    root = paths.find_data(SAMPLE_NAME)
    hits = [e for e in sample_entries(root) if e.id.startswith(id_prefix)]
    if not hits:
        raise KeyError(f"No sample image id starts with {id_prefix!r}")
    images, _ = load_images([(hits[0].id, hits[0].path, hits[0].label)])
    return images[0]


# --- downloads (for machines without ../shared/data) ---------------------------------------------


class ChecksumError(ValueError):
    """A download's SHA-256 is not the recorded one; nothing was written."""


def download(url: str, dest: Path, sha256: str | None = None) -> Path:
    """Fetch url (http(s) or file://) to dest atomically; with sha256, only if the bytes match it."""
    try:
        with urllib.request.urlopen(url, timeout=60) as r, files.atomic_writer(dest) as f:
            digest = hashlib.sha256()
            for block in iter(lambda: r.read(1 << 20), b""):
                digest.update(block)
                f.write(block)
            if sha256 is not None and digest.hexdigest() != sha256:
                raise ChecksumError(
                    f"Download of {url} has SHA-256 {digest.hexdigest()}, expected {sha256}: the source "
                    "changed or the transfer was damaged. Nothing was written; fetch it by hand and compare."
                )
    except OSError as e:
        raise OSError(f"Download of {url} failed: {e}. Check the network or fetch it by hand.") from e
    return dest


def folder_digest(folder: Path) -> str:
    """The content digest of a folder of files (SAMPLE_CONTENT_SHA256, video.CLIP_SHA256): SHA-256 of the
    sorted lines "<file name>:<sha256 of the file>"."""
    return _lines_digest(folder, lambda name, sha: f"{name}:{sha}")


def _lines_digest(folder: Path, line: Callable[[str, str], str]) -> str:
    """SHA-256 of one line per file of folder (sorted by name): line(name, sha256 of the file) + newline."""
    h = hashlib.sha256()
    for p in sorted(folder.iterdir(), key=lambda p: p.name):
        h.update(f"{line(p.name, paths.file_sha256(p))}\n".encode())
    return h.hexdigest()


def fetch_sample(
    dest: Path | None = None, url: str = SAMPLE_URL, content_sha256: str | None = SAMPLE_CONTENT_SHA256
) -> Path:
    """Download the sample archive and extract its `<wnid>_<name>.JPEG` files into dest/imagenet-sample,
    once their content digest matches content_sha256 (None: unchecked, for a source of your own)."""
    dest = Path(dest) if dest else paths.data_dir()
    target = dest / SAMPLE_NAME
    with tempfile.TemporaryDirectory(dir=dest if dest.exists() else None) as tmpdir:
        archive = download(url, Path(tmpdir) / "sample.zip")
        staging = Path(tmpdir) / SAMPLE_NAME
        staging.mkdir()
        with zipfile.ZipFile(archive) as z:
            for member in z.namelist():
                name = Path(member).name
                if _SAMPLE_FILE.match(name):
                    (staging / name).write_bytes(z.read(member))
        count = len(list(staging.iterdir()))
        if count == 0:
            raise ValueError(f"The archive at {url} holds no <wnid>_<name>.JPEG files")
        if content_sha256 is not None and folder_digest(staging) != content_sha256:
            raise ChecksumError(
                f"The {count} images from {url} are not the recorded sample (content SHA-256 "
                f"{folder_digest(staging)}, expected {content_sha256}); nothing was written."
            )
        dest.mkdir(parents=True, exist_ok=True)
        if target.exists():
            shutil.rmtree(target)
        shutil.move(str(staging), target)
    return target


def fetch_boxes(
    dest: Path | None = None, base_url: str = BOXES_URL, sha256: dict[str, str] | None = BOXES_SHA256
) -> Path:
    """Download the ILSVRC2012 val box metadata (three text files) into dest/ilsvrc2012-val-boxes, each
    checked against its recorded SHA-256 (sha256=None: unchecked, for a source of your own)."""
    dest = Path(dest) if dest else paths.data_dir()
    target = dest / BOXES_NAME
    for name in BOXES_FILES:
        download(base_url + name, target / name, sha256[name] if sha256 else None)
    return target


def sha256sum_digest(folder: Path, prefix: str = "images/") -> str:
    """What `sha256sum <prefix>* | sha256sum` prints for the files of folder (names sorted), i.e. the
    SHA-256 of the lines "<sha256>  <prefix><name>"."""
    return _lines_digest(folder, lambda name, sha: f"{sha}  {prefix}{name}")


def fetch_val227(
    dest: Path | None = None, base_url: str = VAL227_URL, content_sha256: str | None = VAL227_CONTENT_SHA256
) -> Path:
    """Download the 1,300 squashed val photos into dest/ilsvrc2012-val-227 (images/, labels.txt): the
    source's `dataset.txt` (lines `./data/<file>, <index>`) names the files, each fetched from `data/`;
    written only once the images' digest matches content_sha256 (None: unchecked, for your own source)."""
    dest = Path(dest) if dest else paths.data_dir()
    target = dest / VAL227_NAME
    dest.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=dest) as tmpdir:
        staging = Path(tmpdir) / VAL227_NAME
        listing = download(base_url + "dataset.txt", Path(tmpdir) / "dataset.txt").read_text()
        labels = []
        for line in listing.splitlines():
            name, _, idx = line.strip().partition(",")
            name = Path(name.strip()).name
            if not _VAL_FILE.match(name) or not idx.strip().isdigit():
                if line.strip():
                    raise ValueError(f"{base_url}dataset.txt: unexpected line {line!r}")
                continue
            download(base_url + "data/" + name, staging / "images" / name)
            labels.append(f"{name},{int(idx)}\n")
        if not labels:
            raise ValueError(f"{base_url}dataset.txt names no ILSVRC2012_val_*.JPEG files")
        got = sha256sum_digest(staging / "images")
        if content_sha256 is not None and got != content_sha256:
            raise ChecksumError(
                f"The {len(labels)} images from {base_url} are not the recorded set (digest {got}, "
                f"expected {content_sha256}); nothing was written."
            )
        files.atomic_write_text(staging / "labels.txt", "".join(labels))
        if target.exists():
            shutil.rmtree(target)
        shutil.move(str(staging), target)
    return target
