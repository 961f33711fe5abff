"""Result cache: each run's tidy table stored under a name made from a hash of its configuration.

Layout: <cache>/<slug>-<hash>/
    chunk-00000.csv ...   one per finished chunk of images (a rerun after an interruption resumes here)
    table.csv             the whole table, written once all chunks exist
    provenance.json       config, versions, device, git revision, wall time
Every file is written to a temporary name and renamed, so an interrupted run never leaves a corrupt file.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import pandas as pd

from . import config, paths

T = TypeVar("T")


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write to a temporary file beside path, then rename: readers see the old file or the whole new one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_text(path: Path, text: str) -> None:
    atomic_write_bytes(path, text.encode())


def atomic_write_csv(path: Path, table: pd.DataFrame) -> None:
    atomic_write_text(path, table.to_csv(index=False))


def git_revision() -> str:
    try:
        out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=paths.project_root(),
                             capture_output=True, text=True, timeout=5)  # fmt: skip
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=paths.project_root(), capture_output=True, text=True, timeout=5,
        )  # fmt: skip
        rev = out.stdout.strip() or "unknown"
        return rev + ("-dirty" if dirty.stdout.strip() else "")
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def device_name(device: Any = None) -> str:
    import torch

    dev = torch.device(device) if device is not None else torch.device("cpu")
    if dev.type == "cuda" and torch.cuda.is_available():
        return torch.cuda.get_device_name(dev)
    return f"cpu ({platform.processor() or platform.machine()}, {os.cpu_count()} cores)"


def provenance(cfg: Any, device: Any = None, **extra: Any) -> dict[str, Any]:
    """What produced a result: its config, library versions, device, git revision."""
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


def run_dir(slug: str, key: Any) -> Path:
    safe = "".join(c if c.isalnum() or c in "-_." else "-" for c in slug)
    return paths.cache_dir() / f"{safe}-{config.config_hash([key, config.KERNEL_VERSION])}"


def cached_table(
    slug: str,
    key: Any,
    items: Sequence[T],
    compute: Callable[[Sequence[T]], pd.DataFrame],
    *,
    chunk_size: int,
    device: Any = None,
    refresh: bool = False,
    on_chunk: Callable[[int, int], None] | None = None,
) -> pd.DataFrame:
    """compute(items) as one table, cached by key; computed chunk by chunk so an interrupted run resumes.

    key must capture everything the result depends on (model, protocol, image ids, numerics).
    on_chunk(done, total) is called after each chunk (progress reporting).
    """
    folder = run_dir(slug, key)
    table_path = folder / "table.csv"
    if table_path.exists() and not refresh:
        return pd.read_csv(table_path)
    folder.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    chunks = [items[i : i + chunk_size] for i in range(0, len(items), chunk_size)]
    parts = []
    for i, chunk in enumerate(chunks):
        chunk_path = folder / f"chunk-{i:05d}.csv"
        if chunk_path.exists() and not refresh:
            parts.append(pd.read_csv(chunk_path))
        else:
            part = compute(chunk)
            atomic_write_csv(chunk_path, part)
            parts.append(part)
        if on_chunk:
            on_chunk(i + 1, len(chunks))
    table = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()
    atomic_write_csv(table_path, table)
    record = provenance(key, device, rows=len(table), wall_s=round(time.perf_counter() - started, 2))
    atomic_write_text(folder / "provenance.json", json.dumps(record, indent=1, default=str))
    for stale in folder.glob("chunk-*.csv"):
        stale.unlink()
    return pd.read_csv(table_path)
