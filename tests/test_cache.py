"""The result cache: miss, hit, resume after an interruption, provenance."""

import json

import pandas as pd
import pytest
from invariance import cache


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
    assert (folder / "chunk-00000.csv").exists() and not (folder / "table.csv").exists()
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
