"""The bench's one-process-vs-torchrun comparison: skipped with a reason where it cannot run, and a failed
launch recorded without losing the rest of the bench's results."""

import subprocess

import torch
from invariance.apps import bench


def test_shard_comparison_is_skipped_with_a_reason_where_it_cannot_run(monkeypatch):
    assert bench.shard_skip_reason(torch.device("cpu"), 2) is None
    assert "nothing to compare" in bench.shard_skip_reason(torch.device("cpu"), 1)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    assert (
        bench.shard_skip_reason(torch.device("cuda"), 2)
        == "needs 2 GPUs (one per process), this machine has 1"
    )
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    assert bench.shard_skip_reason(torch.device("cuda"), 2) is None


def test_a_failed_launch_is_recorded_not_raised(monkeypatch):
    def fail(command, **kwargs):
        raise subprocess.CalledProcessError(1, command, stderr=b"Traceback ...\nRuntimeError: no GPU 1\n")

    monkeypatch.setattr(subprocess, "run", fail)
    got = bench.sharded_vs_one("lite0", 4, 2, "cpu", 1)
    assert got["images"] == 4 and got["processes"] == 2
    assert got["failed"].endswith("RuntimeError: no GPU 1") and "sharded_over_one" not in got


def test_the_reason_of_a_failed_launch_is_its_error_line_not_torchruns_border():
    torchrun = "\n".join(
        [
            "invariance: error: torchrun started 2 processes on this machine but it has 1 GPU(s)",
            "Traceback (most recent call last):",
            "torch.distributed.elastic.multiprocessing.errors.ChildFailedError: ",
            "============================================================",
            "invariance FAILED",
            "------------------------------------------------------------",
            "============================================================",
        ]
    )
    assert bench.error_line(torchrun).startswith("invariance: error: torchrun started 2 processes")
    assert bench.error_line("x\nValueError: bad\n=====\n") == "ValueError: bad"
    assert bench.error_line("") == "no error output"
