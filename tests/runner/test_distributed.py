"""Sharding across torchrun ranks: every image once, and the merged table is a one-process run."""

import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import torch
from conftest import hand_made_pairs
from invariance.runner import distributed
from invariance.sources.images import SourceImage


def _images(ids):
    pixels = torch.zeros(3, 1, 1, dtype=torch.uint8)
    return [SourceImage(i, 1, pixels) for i in ids]  # only ids matter for sharding and merging


def test_shards_are_disjoint_and_merge_back_in_order():
    images = _images(["a", "b"])
    assert [i.id for i in distributed.shard(images, 0, 2)] == ["a"]
    assert [i.id for i in distributed.shard(images, 1, 2)] == ["b"]
    assert distributed.shard(images, 2, 3) == []
    pairs = hand_made_pairs()
    parts = [pairs[pairs.image_id == "b"], pairs[pairs.image_id == "a"]]  # ranks in any order
    merged = distributed.merge(parts, images)
    pd.testing.assert_frame_equal(merged, pairs.reset_index(drop=True))


def test_a_dropped_or_duplicated_shard_is_an_error():
    images = _images(["a", "b"])
    pairs = hand_made_pairs()
    with pytest.raises(RuntimeError, match="lost or invented"):
        distributed.merge([pairs[pairs.image_id == "a"]], images)  # rank 1 dropped
    with pytest.raises(RuntimeError, match="repeated"):
        distributed.merge([pairs, pairs[pairs.image_id == "b"]], images)  # b twice


@pytest.mark.slow
def test_two_gloo_processes_give_the_one_process_table(tmp_path):
    torchrun = Path(sys.executable).with_name("torchrun")
    args = ["-m", "invariance", "measure", "--model", "lite0", "--images", "sample", "--n-images", "3"]
    args += ["--steps", "1", "--protocol", "black"]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    subprocess.run(
        [str(torchrun), "--nproc_per_node", "2", *args, "--out", str(tmp_path / "two")],
        check=True,
        capture_output=True,
        env=env,
        timeout=300,
    )
    subprocess.run(
        [sys.executable, *args, "--out", str(tmp_path / "one")], check=True, capture_output=True, env=env
    )
    one, two = (
        pd.read_csv(tmp_path / d / "pairs-black.csv", dtype={"image_id": str}) for d in ("one", "two")
    )
    assert one.image_id.tolist() == two.image_id.tolist() and len(one) == 3
    assert (one.top1_a == two.top1_a).all() and (one.top1_b == two.top1_b).all()
    assert (one.p_top_a - two.p_top_a).abs().max() < 1e-5  # batch composition differs, results agree


@pytest.mark.slow
def test_an_interrupted_sharded_run_resumes_from_its_finished_chunks(tmp_path, monkeypatch):
    """Rank 0's shard is interrupted (KeyboardInterrupt) after its first finished chunk, in this process with
    the settings the command line uses; the 2-rank launch then finds that rank's cache folder (same key),
    reads the finished chunk instead of computing it, and the merged table is the one-process table."""
    from invariance.apps import cli
    from invariance.core import config
    from invariance.runner import evaluate, protocols
    from invariance.sources import models

    cache = tmp_path / "cache"
    monkeypatch.setenv("INVARIANCE_CACHE", str(cache))
    config.set_numerics(0)  # as `invariance measure --seed 0`
    model = models.load("lite0")
    images = cli.load_image_set("sample", 4, 0)
    black = protocols.table1_protocols(steps=1, seed=0)["black"]
    real = evaluate.evaluate_images
    calls = []

    def interrupted(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt  # Ctrl-C while rank 0 computes its second chunk
        return real(*args, **kwargs)

    monkeypatch.setattr(evaluate, "evaluate_images", interrupted)
    with pytest.raises(KeyboardInterrupt):
        evaluate.run(model, black, distributed.shard(images, 0, 2), chunk_images=1, progress=False)
    monkeypatch.setattr(evaluate, "evaluate_images", real)
    (left,) = list(cache.iterdir())
    assert [c.name[:11] for c in left.glob("chunk-*.csv")] == ["chunk-00000"] and not (
        left / "table.csv"
    ).exists()

    torchrun = Path(sys.executable).with_name("torchrun")
    args = ["-m", "invariance", "measure", "--model", "lite0", "--images", "sample", "--n-images", "4"]
    args += ["--steps", "1", "--protocol", "black", "--chunk-images", "1"]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "INVARIANCE_PROGRESS": "log"}
    done = subprocess.run(
        [str(torchrun), "--nproc_per_node", "2", *args, "--out", str(tmp_path / "two")],
        check=True,
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert (left / "table.csv").exists() and len(list(cache.iterdir())) == 2  # rank 0 finished its folder
    assert "2 of 2 img" in done.stdout and "1 from the cache" in done.stdout, done.stdout
    resumed = pd.read_csv(tmp_path / "two" / "pairs-black.csv", dtype={"image_id": str})
    whole = evaluate.run(model, black, images, cache=False, progress=False)
    assert resumed.image_id.tolist() == whole.image_id.astype(str).tolist()
    assert (resumed.top1_a.to_numpy() == whole.top1_a.to_numpy()).all()
    assert (resumed.p_top_a - whole.p_top_a).abs().max() < 1e-5


def test_more_processes_than_gpus_is_a_clear_error(monkeypatch):
    import torch

    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    distributed.check_gpus_for_ranks(0, 2)  # rank 0 has its GPU
    with pytest.raises(RuntimeError, match="has 1 GPU.*--nproc_per_node 1"):
        distributed.check_gpus_for_ranks(1, 2)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 0)
    with pytest.raises(RuntimeError, match="--device cpu"):
        distributed.check_gpus_for_ranks(0, 1)


def test_the_gpu_count_is_checked_before_a_rank_picks_its_gpu(monkeypatch):
    import torch

    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.setenv("LOCAL_WORLD_SIZE", "2")
    monkeypatch.setenv("LOCAL_RANK", "1")
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    with pytest.raises(RuntimeError, match="--nproc_per_node 1"):
        distributed.local_device("cuda")
    assert distributed.local_device("cpu") == "cpu"
