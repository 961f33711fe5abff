"""Real video clips for Figure 1's natural change: consecutive frames of a hand-held camera.

Two DAVIS 2016 clips (Perazzi et al., CVPR 2016; CC BY-NC 4.0) are staged in `video-frames/` on the data
search path: `dog` (60 frames, golden retriever) and `bear` (82 frames, brown bear), 854x480 JPEGs named
00000.jpg, 00001.jpg, ... `make data` fetches them from the public copy named in VIDEO_URL and checks them
against CLIP_SHA256. A folder of a user's own frames loads through the same call (`load_clip`).
"""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import torch

from invariance.core import paths
from invariance.sources import datasets
from invariance.sources.images import ImageDecodeError, SourceImage, load_rgb

VIDEO_NAME = "video-frames"
# The DAVIS authors' original 480p JPEGs, as committed in a public repository (see the data README).
VIDEO_URL = (
    "https://raw.githubusercontent.com/xmican10/KNN-project/"
    "80880aeb900a0a1a7b010f111d4f33d0a5d25e05/DAVIS/JPEGImages/480p/"
)
FRAME_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp")


@dataclass(frozen=True)
class ClipInfo:
    """A staged clip: its folder name, frame count and ImageNet class (index and wnid)."""

    name: str
    frames: int
    wnid: str
    label: int


CLIPS = {
    "dog": ClipInfo("dog", 60, "n02099601", 207),  # golden retriever
    "bear": ClipInfo("bear", 82, "n02132136", 294),  # brown bear
}
# datasets.folder_digest of each clip's folder: SHA-256 of the sorted lines "<file name>:<sha256 of file>".
CLIP_SHA256 = {
    "dog": "31eb258658c3fcadb3ff7c07fd6e20ab5dce766af5404eba62ab96cefc12b4d0",
    "bear": "cbb3e0ffa77c475ae0a8885172c3eea46eb004f1d4615adf469a004cadb08fd8",
}


@dataclass(frozen=True)
class Clip:
    """Consecutive frames of one clip (in order) and the class they show (-1: unknown)."""

    name: str
    frames: tuple[SourceImage, ...]
    label: int

    def __len__(self) -> int:
        return len(self.frames)


def frame_files(folder: Path) -> list[Path]:
    """The image files of a frame folder, in name order (zero-padded numbers sort as frame order)."""
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in FRAME_SUFFIXES)


def load_clip(clip: str | Path, *, label: int | None = None, n_frames: int | None = None) -> Clip:
    """A staged clip by name ('dog', 'bear'), or any folder of frames (sorted by file name).

    label: the class the frames show (default: the staged clip's; -1, unknown, for a folder of your own).
    n_frames: only the first n frames (None: all). Every frame must decode: a skipped frame would join two
    frames that are not consecutive, so a damaged one is an error naming the file.
    """
    info = CLIPS.get(str(clip))
    folder = paths.find_data(VIDEO_NAME) / info.name if info else Path(clip).expanduser()
    if not folder.is_dir():
        raise FileNotFoundError(
            f"No clip {clip!r}: it is neither a staged clip ({', '.join(CLIPS)}) nor a folder of frames."
        )
    found = frame_files(folder)
    if info and len(found) != info.frames:
        raise ValueError(
            f"{folder} holds {len(found)} frames, not the clip's {info.frames}: "
            "delete the folder and run `make data`."
        )
    if n_frames is not None:
        if not isinstance(n_frames, int) or n_frames < 2:
            raise ValueError(f"n_frames must be an integer >= 2 (or None for all), not {n_frames!r}")
        found = found[:n_frames]
    if len(found) < 2:
        raise FileNotFoundError(f"{folder} holds {len(found)} image files; a sequence needs at least two")
    if label is None:
        label = info.label if info else -1
    name = info.name if info else folder.name
    frames = []
    for path in found:
        try:
            rgb = load_rgb(path)
        except (ImageDecodeError, FileNotFoundError) as e:
            raise ImageDecodeError(f"Frame {path} of clip {name!r} does not decode ({e}); replace it.") from e
        pixels = torch.from_numpy(rgb.transpose(2, 0, 1).copy())
        frames.append(SourceImage(id=f"{name}/{path.stem}", label=label, pixels=pixels, path=path))
    return Clip(name, tuple(frames), label)


def fetch_clips(
    dest: Path | None = None, base_url: str = VIDEO_URL, sha256: dict[str, str] | None = CLIP_SHA256
) -> Path:
    """Download the staged clips' frames into dest/video-frames/<clip>/, each clip written only once its
    content digest matches sha256 (None: unchecked, for a source of your own)."""
    dest = Path(dest) if dest else paths.data_dir()
    target = dest / VIDEO_NAME
    target.mkdir(parents=True, exist_ok=True)
    for info in CLIPS.values():
        with tempfile.TemporaryDirectory(dir=target) as tmpdir:
            staging = Path(tmpdir) / info.name
            for k in range(info.frames):
                name = f"{k:05d}.jpg"
                datasets.download(f"{base_url}{info.name}/{name}", staging / name)
            digest = datasets.folder_digest(staging)
            if sha256 is not None and digest != sha256[info.name]:
                raise datasets.ChecksumError(
                    f"The {info.frames} frames of {info.name!r} from {base_url} have content SHA-256 "
                    f"{digest}, "
                    f"expected {sha256[info.name]}; nothing was written for this clip."
                )
            if (target / info.name).exists():
                shutil.rmtree(target / info.name)
            shutil.move(str(staging), target / info.name)
    return target
