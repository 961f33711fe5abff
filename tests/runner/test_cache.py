"""The result cache: miss, hit, resume after an interruption, provenance."""

import json

import pandas as pd
import pytest
from invariance.core import files
from invariance.runner import cache


def make_compute(log):
    def compute(chunk):
        log.append(list(chunk))
        if "boom" in chunk:
            raise KeyboardInterrupt  # an interrupted run
        return pd.DataFrame({"item": list(chunk), "double": [2 * len(c) for c in chunk]})

    return compute


def test_miss_then_hit_and_key_change():
    log = []
    items = ["a", "bb", "ccc", "dddd", "e"]
    t1 = cache.cached_table("demo", {"k": 1}, items, make_compute(log), chunk_size=2)
    assert len(log) == 3 and t1.double.tolist() == [2, 4, 6, 8, 2]
    t2 = cache.cached_table("demo", {"k": 1}, items, make_compute(log), chunk_size=2)
    assert len(log) == 3 and t2.equals(t1)
    cache.cached_table("demo", {"k": 2}, items, make_compute(log), chunk_size=2)
    assert len(log) == 6
    folder = cache.run_dir("demo", {"k": 1})
    prov = json.loads((folder / "provenance.json").read_text())
    assert prov["config"] == {"k": 1} and prov["rows"] == 5 and "git" in prov and "device" in prov
    assert not list(folder.glob("*.tmp")) and not list(folder.glob("chunk-*"))


def test_interrupted_run_resumes_from_finished_chunks():
    log = []
    items = ["a", "b", "boom", "c"]
    with pytest.raises(KeyboardInterrupt):
        cache.cached_table("resume", "key", items, make_compute(log), chunk_size=2)
    folder = cache.run_dir("resume", "key")
    assert list(folder.glob("chunk-00000-*.csv")) and not (folder / "table.csv").exists()
    assert not [p for p in folder.iterdir() if p.name.startswith(".")]  # no half-written file
    log.clear()
    fixed = ["a", "b", "boom", "c"]

    def compute_ok(chunk):
        log.append(list(chunk))
        return pd.DataFrame({"item": list(chunk), "double": [0] * len(chunk)})

    table = cache.cached_table("resume", "key", fixed, compute_ok, chunk_size=2)
    assert log == [["boom", "c"]]  # the first chunk came from disk
    assert table.item.tolist() == fixed


def test_cached_once_computes_once_per_key():
    calls = []

    def compute():
        calls.append(1)
        return pd.DataFrame({"x": [1.5]})

    assert cache.cached_once("once", {"k": 1}, compute).x.tolist() == [1.5]
    assert cache.cached_once("once", {"k": 1}, compute).x.tolist() == [1.5]
    cache.cached_once("once", {"k": 2}, compute)
    assert len(calls) == 2
    # the same folder as a one-item chunked table: caches written before cached_once existed stay valid
    assert cache.run_dir("once", {"k": 1}).joinpath("table.csv").exists()


# --- damaged files are detected, named and recomputed (issue 10, item 2) ---------------------------------


def _ids_table(chunk):
    return pd.DataFrame({"image_id": list(chunk), "value": [float(len(c)) for c in chunk]})


def _check_ids(part, chunk):
    if part.image_id.tolist() != list(chunk):
        raise ValueError("ids do not match")


def test_ids_stay_strings():
    items = ["0001", "NA", "nan", "12", ""]
    first = cache.cached_table("ids", 1, items, _ids_table, chunk_size=2, check=_check_ids)
    again = cache.cached_table("ids", 1, items, _ids_table, chunk_size=2, check=_check_ids)
    assert first.image_id.tolist() == again.image_id.tolist() == items  # not 1.0 or NaN


@pytest.mark.parametrize(
    "damage",
    [
        lambda b: b[: len(b) // 2],  # cut in half
        lambda b: b + b"garbage,1\nmore,2\nthird,3\n",  # three lines of garbage
        lambda b: bytes(range(256)) * 4,  # random bytes (was a UnicodeDecodeError naming no file)
    ],
    ids=["truncated", "garbage-lines", "random-bytes"],
)
@pytest.mark.parametrize("which", ["table", "chunk"])
def test_damaged_files_are_recomputed_with_a_warning(damage, which):
    items = ["a", "bb", "ccc", "dddd"]
    good = cache.cached_table("dmg", 1, items, _ids_table, chunk_size=2, check=_check_ids)
    folder = cache.run_dir("dmg", 1)
    if which == "chunk":  # an interrupted run: chunks on disk, no table yet
        (folder / "table.csv").unlink()
        (folder / "provenance.json").unlink()
        data = good.iloc[:2].to_csv(index=False).encode()
        schema = {"image_id": "object", "value": "float64"}
        name = f"chunk-00000-{cache._signed(schema, data)[:16]}.csv"
        (folder / name).write_bytes(damage(data))
        files.atomic_write_json(folder / "schema.json", schema)
        target = folder / name
    else:
        target = folder / "table.csv"
        target.write_bytes(damage(target.read_bytes()))
    calls = []
    with pytest.warns(cache.DamagedCacheWarning, match=target.name):
        again = cache.cached_table(
            "dmg", 1, items, lambda c: calls.append(c) or _ids_table(c), chunk_size=2, check=_check_ids
        )
    assert again.equals(good) and calls  # recomputed, same answer


def test_refresh_recomputes_and_bad_chunk_sizes_are_refused():
    calls = []
    compute = lambda c: calls.append(c) or _ids_table(c)  # noqa: E731
    cache.cached_table("r", 1, ["a"], compute, chunk_size=1)
    cache.cached_table("r", 1, ["a"], compute, chunk_size=1, refresh=True)
    assert len(calls) == 2
    with pytest.raises(ValueError, match="chunk_size"):
        cache.cached_table("r", 2, ["a"], compute, chunk_size=0)


@pytest.mark.parametrize("edited", [{"image_id": "object", "value": "int64"}, ["image_id", "value"]])
def test_an_edited_schema_invalidates_its_chunks(edited):
    """A schema.json edited to other valid JSON must not reinterpret the finished chunks."""
    items = ["a", "bb"]

    def interrupted(chunk):
        if chunk == ["bb"]:
            raise KeyboardInterrupt
        return _ids_table(chunk)

    with pytest.raises(KeyboardInterrupt):
        cache.cached_table("schema", 1, items, interrupted, chunk_size=1)
    folder = cache.run_dir("schema", 1)
    files.atomic_write_json(folder / "schema.json", edited)
    calls = []
    with pytest.warns(cache.DamagedCacheWarning):
        table = cache.cached_table(
            "schema", 1, items, lambda c: calls.append(c) or _ids_table(c), chunk_size=1
        )
    assert table.value.tolist() == [1.0, 2.0] and table.value.dtype == float and ["a"] in calls


@pytest.mark.parametrize("name", ["table.csv", "provenance.json"])
def test_a_folder_standing_for_a_cache_file_is_damage_not_a_crash(name):
    good = cache.cached_table("dir", 1, ["a", "bb"], _ids_table, chunk_size=1)
    target = cache.run_dir("dir", 1) / name
    target.unlink()
    target.mkdir()
    (target / "inside").write_text("x")
    with pytest.warns(cache.DamagedCacheWarning):
        again = cache.cached_table("dir", 1, ["a", "bb"], _ids_table, chunk_size=1)
    assert again.equals(good) and target.is_file()


# --- concurrent processes (issue 29, item 8) ----------------------------------------------------------------


def _racer(items, log_path, barrier) -> None:
    """One of two processes computing the same key at once (fork: the test's cache folder is inherited)."""
    import os
    import time
    import warnings

    def compute(chunk):
        with open(log_path, "a") as f:
            f.write(f"{os.getpid()} {chunk}\n")
        time.sleep(0.1)  # long enough for the other process to arrive mid-run
        return _ids_table(chunk)

    barrier.wait()
    with warnings.catch_warnings():
        warnings.simplefilter("error", cache.DamagedCacheWarning)  # a false alarm fails the process
        table = cache.cached_table("race", 1, items, compute, chunk_size=1, check=_check_ids)
    assert table.equals(_ids_table(items))


def test_two_processes_on_one_key_take_turns(tmp_path):
    """Without a lock, the second process's clean-up deleted the first one's chunks between write and
    read-back (FileNotFoundError), or took them for damage and deleted a good table; both computed."""
    import multiprocessing

    ctx = multiprocessing.get_context("fork")
    items = ["a", "bb", "ccc", "dddd"]
    log_path = tmp_path / "computed.txt"
    barrier = ctx.Barrier(2)
    racers = [ctx.Process(target=_racer, args=(items, log_path, barrier)) for _ in range(2)]
    for r in racers:
        r.start()
    for r in racers:
        r.join(60)
    assert [r.exitcode for r in racers] == [0, 0]
    assert len(log_path.read_text().splitlines()) == len(items)  # each chunk computed once, by one process
    assert cache.cached_table("race", 1, items, _ids_table, chunk_size=1).equals(_ids_table(items))


def test_temporaries_of_killed_writes_are_removed():
    cache.cached_table("tmp", 1, ["a"], _ids_table, chunk_size=1)
    folder = cache.run_dir("tmp", 1)
    left = folder / ".table.csv.k3j9x.tmp"  # what a write killed before its rename leaves
    left.write_text("half")
    cache.cached_table("tmp", 1, ["a"], _ids_table, chunk_size=1)
    assert not left.exists()


def test_a_read_only_cache_is_read_when_complete_and_named_when_not(monkeypatch):
    """A cache this process may not write (a shared read-only copy; simulated: the tests run as root, for
    whom permissions do not bite) serves its complete tables without the lock, else says what to do."""
    import errno
    import os

    log = []
    items = ["a", "bb", "ccc"]
    written = cache.cached_table("ro", "key", items, make_compute(log), chunk_size=2)
    real_open = os.open

    def refuse(path, flags, *args):
        if str(path).endswith(cache.LOCK) and flags & os.O_CREAT:
            raise OSError(errno.EROFS, "Read-only file system", str(path))
        return real_open(path, flags, *args)

    monkeypatch.setattr(cache.os, "open", refuse)
    assert cache.cached_table("ro", "key", items, make_compute(log), chunk_size=2).equals(written)
    assert len(log) == 2  # nothing recomputed
    with pytest.raises(PermissionError, match="not writable.*INVARIANCE_CACHE"):
        cache.cached_table("ro", "other key", items, make_compute(log), chunk_size=2)
    table = cache.run_dir("ro", "key") / "table.csv"
    table.write_text(table.read_text().replace("bb", "xx"))  # damaged: never used, even read-only
    with pytest.raises(PermissionError, match="no complete, intact table"):
        cache.cached_table("ro", "key", items, make_compute(log), chunk_size=2)
