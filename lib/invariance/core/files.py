"""Writing files safely, folder locks, and the provenance record written beside every result.

Every write goes to a uniquely named temporary file beside its target and is renamed over it, so a reader
(or a run killed mid-write) sees the old file or the whole new one, never a half-written one. Written files
get the mode the umask gives (not the temporary file's 0600). A write that fails for want of space names
the file. Folders that several processes may write (a run folder of the result cache, a CLI --out) are
guarded by `exclusive_lock`; whoever holds it may remove the temporaries that killed writers left.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import os
import platform
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import IO, Any

import pandas as pd

from invariance.core import config, paths

TMP_SUFFIX = ".tmp"  # of the temporary files atomic writes make (`.<name>.<random>.tmp`)


def _umask() -> int:
    mask = os.umask(0)  # read it the only way POSIX allows: set and restore
    os.umask(mask)
    return mask


@contextlib.contextmanager
def atomic_writer(path: Path) -> Iterator[IO[bytes]]:
    """A binary file to write path's new content into; renamed over path when the block ends without error
    (removed when it raises)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=TMP_SUFFIX)
    try:
        with os.fdopen(fd, "wb") as f:
            yield f
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    except OSError as e:
        Path(tmp).unlink(missing_ok=True)
        if e.errno in (errno.ENOSPC, errno.EDQUOT) and e.filename is None:
            # the write's own error names no file: say which folder is full
            raise OSError(e.errno, f"{e.strerror} (writing {path}; free space in {path.parent})") from e
        raise
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def remove_temporaries(folder: Path, targets: Sequence[str] = ("*",)) -> list[Path]:
    """Delete the temporary files that writes killed mid-way left in folder (`.<name>.<random>.tmp`), of the
    files whose names match a glob in targets (a folder shared with a user's own files: only ours).

    Only for a folder whose every writer holds its `exclusive_lock`, called with that lock held: then no
    temporary file there belongs to a live write. Returns the files removed."""
    removed = []
    for target in targets:
        for tmp in Path(folder).glob(f".{target}.*{TMP_SUFFIX}"):
            if tmp.is_file():
                tmp.unlink(missing_ok=True)
                removed.append(tmp)
    return removed


class FolderBusyError(OSError):
    """Another process holds the lock of a folder that only one process may write at a time."""


@contextlib.contextmanager
def exclusive_lock(
    path: Path, *, wait: bool = True, on_wait: Callable[[], None] | None = None
) -> Iterator[int]:
    """Hold an exclusive lock (flock) on the file path, created if missing, for the block; yields its
    descriptor (the holder may write a note into the file, e.g. who holds it).

    The kernel drops the lock when its process ends, however it ends (kill -9 included), so a lock file left
    by a dead process never blocks anyone: there are no stale locks to detect. wait=False: raise
    FolderBusyError at once when another process holds it; wait=True: call on_wait (say why we wait), then
    wait. The file is never deleted: deleting a lock file lets two processes lock two different files."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666 & ~_umask())
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            if not wait:
                raise FolderBusyError(f"{path} is locked by another process") from None
            if on_wait:
                on_wait()
            fcntl.flock(fd, fcntl.LOCK_EX)
        yield fd
    finally:
        os.close(fd)  # releases the lock


def rewrite_locked(fd: int, text: str) -> None:
    """Replace the content of a lock file held with `exclusive_lock` (in place: renaming a new file over it
    would leave the lock on the old one)."""
    os.ftruncate(fd, 0)
    os.pwrite(fd, text.encode(), 0)


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write data to path atomically (see the module docstring)."""
    with atomic_writer(path) as f:
        f.write(data)


def atomic_write_text(path: Path, text: str) -> None:
    atomic_write_bytes(path, text.encode())


def atomic_write_csv(path: Path, table: pd.DataFrame) -> None:
    atomic_write_text(path, table.to_csv(index=False))


def atomic_write_json(path: Path, record: Any) -> None:
    atomic_write_text(path, json.dumps(record, indent=1, default=str))


def _git(*args: str) -> str:
    out = subprocess.run(["git", *args], cwd=paths.project_root(), capture_output=True, text=True, timeout=5)
    return out.stdout.strip()


def git_revision() -> str:
    """Short commit of the checkout, with '-dirty' when tracked files changed; 'unknown' outside git.
    $INVARIANCE_GIT_REVISION, when set, is used instead (a copy of the tree whose .git is not its own)."""
    if os.environ.get("INVARIANCE_GIT_REVISION"):
        return os.environ["INVARIANCE_GIT_REVISION"]
    try:
        rev = _git("rev-parse", "--short", "HEAD") or "unknown"
        return rev + ("-dirty" if _git("status", "--porcelain", "--untracked-files=no") else "")
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def device_name(device: Any = None) -> str:
    """The GPU's name, or the CPU's kind and core count."""
    import torch

    dev = torch.device(device) if device is not None else torch.device("cpu")
    if dev.type == "cuda" and torch.cuda.is_available():
        return torch.cuda.get_device_name(dev)
    return f"cpu ({platform.processor() or platform.machine()}, {os.cpu_count()} cores)"


def provenance(cfg: Any, device: Any = None, **extra: Any) -> dict[str, Any]:
    """What produced a result: its config, library versions, numerics in force, device, git revision."""
    import numpy
    import timm

    return {
        "config": json.loads(config.to_json(cfg)),
        "config_hash": config.config_hash(cfg),
        "kernel_version": config.KERNEL_VERSION,
        "numerics": config.numerics_record(),
        "versions": {
            "timm": timm.__version__,
            "numpy": numpy.__version__,
            "python": platform.python_version(),
        },
        "device": device_name(device),
        "git": git_revision(),
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        **extra,
    }
