"""Result cache: each run's tidy table stored under a name made from a hash of its configuration.

Layout: <cache>/<slug>-<hash>/
    chunk-00000-<sha>.csv ...  one per finished chunk (a rerun after an interruption resumes here); the
                               name holds the first 16 hex digits of the file's SHA-256
    schema.json                the columns and their types, while chunks exist
    table.csv                  the whole table, written once all chunks exist
    provenance.json            config, versions, device, git revision, wall time, and the table's rows,
                               column types and SHA-256
    lock                       locked (flock) by the process working in the folder
Every file is written to a temporary name and renamed, so an interrupted run never leaves a torn file;
every file is checked when read, so a file damaged later is detected, named, and recomputed. A process
works in a run folder only while it holds the folder's lock: a second process on the same key waits, then
reads the first one's table (it never deletes files the other is writing, nor takes them for damage), and
the temporary files that killed writes left are removed by whoever holds the lock next.
"""

from __future__ import annotations

import errno
import hashlib
import io
import json
import logging
import os
import shutil
import time
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import pandas as pd

from invariance.core import config, paths
from invariance.core.files import (
    atomic_write_bytes,
    atomic_write_json,
    exclusive_lock,
    provenance,
    remove_temporaries,
)

log = logging.getLogger(__name__)

T = TypeVar("T")
LOCK = "lock"  # the run folder's lock file (see the module docstring)


def run_dir(slug: str, key: Any) -> Path:
    safe = "".join(c if c.isalnum() or c in "-_." else "-" for c in slug)
    return paths.cache_dir() / f"{safe}-{config.config_hash([key, config.KERNEL_VERSION])}"


class DamagedCacheWarning(UserWarning):
    """A cached file failed its checks (checksum, columns, types, rows) and is being recomputed."""


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _signed(dtypes: dict[str, str], data: bytes) -> str:
    """The SHA-256 that names a chunk: of its schema and its bytes, so an edited schema.json fails too."""
    return _sha(json.dumps(dtypes).encode() + b"\n" + data)


def _read_checked(
    path: Path, dtypes: dict[str, str], expected_sha: str | None, signed: bool = False
) -> pd.DataFrame:
    """Parse a cached CSV after checking its bytes (signed: its schema and bytes) against a SHA-256 prefix;
    columns and types must match the schema. Raises ValueError (with the reason) when anything is off."""
    data = path.read_bytes()
    digest = _signed(dtypes, data) if signed else _sha(data)
    if expected_sha is None or not digest.startswith(expected_sha):
        raise ValueError("checksum mismatch" if expected_sha else "no checksum recorded (older cache format)")
    # Only empty numeric fields are missing values: ids such as "NA", "0001" or "" stay as written.
    text = {
        c: str for c, t in dtypes.items() if t in ("object", "str", "string")
    }  # converters skip NA parsing
    numbers = {c: t for c, t in dtypes.items() if c not in text}
    missing = {c: [""] for c in numbers}
    table = pd.read_csv(
        io.BytesIO(data), dtype=numbers, converters=text, keep_default_na=False, na_values=missing
    )
    if list(table.columns) != list(dtypes):
        raise ValueError(f"columns {list(table.columns)} != {list(dtypes)}")
    return table


def _damaged(path: Path, reason: str) -> None:
    warnings.warn(
        f"Cached file {path} is damaged ({reason}); it is recomputed. Delete the folder or pass refresh=True "
        "to recompute everything.",
        DamagedCacheWarning,
        stacklevel=3,
    )
    _remove(path)


def _remove(path: Path) -> None:
    """Delete a cache file, or a folder standing where a file should be."""
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    else:
        path.unlink(missing_ok=True)


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
    check: Callable[[pd.DataFrame, Sequence[T]], None] | None = None,
) -> pd.DataFrame:
    """compute(items) as one table, cached by key; computed chunk by chunk so an interrupted run resumes.

    key must capture everything the result depends on (model, protocol, image ids and pixels, numerics).
    Every cached file is checked when read (SHA-256 in its name or in provenance.json, columns, types, and
    check(part, chunk), which raises ValueError when a part does not answer its chunk); a file that fails
    is recomputed with a DamagedCacheWarning naming it. refresh=True recomputes everything.
    on_chunk(done, total) is called after each chunk (progress reporting). Another process on the same key
    is waited for (the run folder's lock), and its table is then read like any cached one.
    """
    if chunk_size < 1:
        raise ValueError(f"chunk_size must be at least 1, not {chunk_size}")
    folder = run_dir(slug, key)
    try:  # may this process write here (the lock file included)? A shared read-only cache may still be read
        folder.mkdir(parents=True, exist_ok=True)
        os.close(os.open(folder / LOCK, os.O_RDWR | os.O_CREAT, 0o666))
    except OSError as e:
        if e.errno not in (errno.EACCES, errno.EPERM, errno.EROFS) or refresh:
            raise
        return _read_only_table(folder, e)

    def waiting() -> None:
        log.warning("Waiting for another process computing the same result (%s)", paths.shown(folder))

    with exclusive_lock(folder / LOCK, on_wait=waiting):
        remove_temporaries(folder)  # left by killed writes: no other process writes here now
        if refresh:
            _clear(folder)
        return _locked_table(folder, key, items, compute, chunk_size, device, on_chunk, check)


def _read_only_table(folder: Path, error: OSError) -> pd.DataFrame:
    """A complete, intact table.csv read without the lock, from a cache this process may not write (a
    shared read-only copy of someone's results); PermissionError naming INVARIANCE_CACHE otherwise."""
    try:
        record = json.loads((folder / "provenance.json").read_text())
        table = _read_checked(folder / "table.csv", record["dtypes"], record.get("table_sha256"))
        if len(table) != record["rows"]:
            raise ValueError(f"{len(table)} rows, provenance says {record['rows']}")
        return table
    except (OSError, ValueError, KeyError, TypeError, AttributeError, UnicodeDecodeError) as e:
        raise PermissionError(
            f"The result cache {paths.shown(folder)} is not writable ({error.strerror or error}) and holds "
            f"no complete, intact table for this run ({e}): point INVARIANCE_CACHE at a writable folder"
        ) from None


def _clear(folder: Path) -> None:
    """Delete a run folder's results (everything but its lock, which the caller holds)."""
    for path in folder.iterdir():
        if path.name != LOCK:
            _remove(path)


def _locked_table(
    folder: Path,
    key: Any,
    items: Sequence[T],
    compute: Callable[[Sequence[T]], pd.DataFrame],
    chunk_size: int,
    device: Any,
    on_chunk: Callable[[int, int], None] | None,
    check: Callable[[pd.DataFrame, Sequence[T]], None] | None,
) -> pd.DataFrame:
    """cached_table's work, with the run folder's lock held."""
    table_path, record_path, schema_path = (
        folder / "table.csv",
        folder / "provenance.json",
        folder / "schema.json",
    )
    if table_path.exists():
        try:
            record = json.loads(record_path.read_text())
            table = _read_checked(table_path, record["dtypes"], record.get("table_sha256"))
            if len(table) != record["rows"]:
                raise ValueError(f"{len(table)} rows, provenance says {record['rows']}")
            return table
        except (OSError, ValueError, KeyError, TypeError, AttributeError, UnicodeDecodeError) as e:
            _damaged(table_path, str(e))
            if record_path.is_dir():  # would block writing the new record
                _remove(record_path)
    dtypes: dict[str, str] | None = None
    if schema_path.exists():
        try:
            dtypes = json.loads(schema_path.read_text())
        except (OSError, ValueError) as e:
            _damaged(schema_path, str(e))
            for chunk_file in folder.glob("chunk-*.csv"):  # unverifiable without their schema
                chunk_file.unlink()
    started = time.perf_counter()
    chunks = [items[i : i + chunk_size] for i in range(0, len(items), chunk_size)]
    finished: dict[int, pd.DataFrame] = {}
    for i, chunk in enumerate(chunks):
        for chunk_path in sorted(folder.glob(f"chunk-{i:05d}-*.csv")):
            try:
                if dtypes is None:
                    raise ValueError("no schema.json")
                part = _read_checked(chunk_path, dtypes, chunk_path.stem.rsplit("-", 1)[1], signed=True)
                if check:
                    check(part, chunk)
                finished[i] = part
            except (OSError, ValueError, TypeError, AttributeError, UnicodeDecodeError) as e:
                # The chunk or the schema it was signed with is damaged: trust no finished chunk.
                _damaged(chunk_path, str(e))
                for other in [*folder.glob("chunk-*.csv"), schema_path]:
                    other.unlink(missing_ok=True)
                finished, dtypes = {}, None
                break
        if dtypes is None:
            break
    parts = []
    for i, chunk in enumerate(chunks):
        part = finished.get(i)
        if part is None:
            part = compute(chunk)
            if check:
                check(part, chunk)  # a wrong computation is a bug: fail loudly, cache nothing
            if dtypes is None:
                dtypes = {c: str(t) for c, t in part.dtypes.items()}
                atomic_write_json(schema_path, dtypes)
            data = part.to_csv(index=False).encode()
            name = folder / f"chunk-{i:05d}-{_signed(dtypes, data)[:16]}.csv"
            atomic_write_bytes(name, data)
            part = _read_checked(name, dtypes, _signed(dtypes, data)[:16], signed=True)
        parts.append(part)
        if on_chunk:
            on_chunk(i + 1, len(chunks))
    table = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()
    data = table.to_csv(index=False).encode()
    atomic_write_bytes(table_path, data)
    record = provenance(
        key,
        device,
        rows=len(table),
        dtypes=dtypes or {},
        table_sha256=_sha(data),
        wall_s=round(time.perf_counter() - started, 2),
    )
    atomic_write_json(record_path, record)
    for stale in [*folder.glob("chunk-*.csv"), schema_path]:
        stale.unlink(missing_ok=True)
    return table


def cached_once(slug: str, key: Any, compute: Callable[[], pd.DataFrame]) -> pd.DataFrame:
    """compute() as one table, computed once per key (a small result with no chunks to resume)."""
    return cached_table(slug, key, [None], lambda _: compute(), chunk_size=1)
