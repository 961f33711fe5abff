"""Result cache: each run's tidy table stored under a name made from a hash of its configuration.

Layout: <cache>/<slug>-<hash>/
    chunk-00000.csv ...   one per finished chunk of images (a rerun after an interruption resumes here)
    table.csv             the whole table, written once all chunks exist
    provenance.json       config, versions, device, git revision, wall time
Every file is written to a temporary name and renamed, so an interrupted run never leaves a corrupt file.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import pandas as pd

from . import config, paths
from .files import atomic_write_csv, atomic_write_json, provenance

T = TypeVar("T")


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
    atomic_write_json(folder / "provenance.json", record)
    for stale in folder.glob("chunk-*.csv"):
        stale.unlink()
    return pd.read_csv(table_path)


def cached_once(slug: str, key: Any, compute: Callable[[], pd.DataFrame]) -> pd.DataFrame:
    """compute() as one table, computed once per key (a small result with no chunks to resume)."""
    return cached_table(slug, key, [None], lambda _: compute(), chunk_size=1)
