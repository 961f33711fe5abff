"""Atomic writes (old file or whole new one, mode from the umask) and provenance records."""

import os
import stat

import pytest
from invariance.core import files


def test_atomic_write_leaves_old_file_on_failure(tmp_path):
    path = tmp_path / "t.csv"
    files.atomic_write_text(path, "old")

    class Boom:
        def __str__(self):
            raise RuntimeError

    with pytest.raises(TypeError):
        files.atomic_write_bytes(path, Boom())  # the write into the temporary file fails
    assert path.read_text() == "old" and [p.name for p in tmp_path.iterdir()] == ["t.csv"]


def test_written_files_follow_the_umask(tmp_path):
    old = os.umask(0o022)
    try:
        files.atomic_write_text(tmp_path / "a.txt", "x")
        with files.atomic_writer(tmp_path / "b.bin") as f:
            f.write(b"y")
    finally:
        os.umask(old)
    for name in ("a.txt", "b.bin"):
        assert stat.S_IMODE((tmp_path / name).stat().st_mode) == 0o644  # not mkstemp's 0600


def test_provenance_records_config_numerics_and_revision():
    record = files.provenance({"k": 1}, figure="demo")
    assert record["config"] == {"k": 1} and record["figure"] == "demo"
    assert set(record["numerics"]) >= {"tf32_matmul", "tf32_cudnn", "torch"}
    assert record["git"] and record["device"].startswith(("cpu", "NVIDIA"))


def test_each_profile_writes_its_own_figures_folder():
    from invariance.core import paths

    root = paths.project_root()
    assert paths.figures_dir("default") == root / "figures"
    assert paths.figures_dir("paper") == root / "figures" / "paper"  # never overwrites the default's
    assert paths.figures_dir("smoke") == root / "build" / "figures-smoke"


def test_a_full_disk_names_the_file_and_leaves_no_temporary(tmp_path, monkeypatch):
    """Issue 29: 'No space left on device' named neither the cache nor --out."""
    if not os.path.exists("/dev/full"):
        pytest.skip("needs /dev/full (Linux)")
    tmp = tmp_path / ".t.csv.x.tmp"
    tmp.write_text("")  # what mkstemp would have made

    def full_disk(dir, prefix, suffix):
        return os.open("/dev/full", os.O_WRONLY), str(tmp)  # every write fails with ENOSPC

    monkeypatch.setattr(files.tempfile, "mkstemp", full_disk)
    with pytest.raises(OSError, match=rf"No space left on device \(writing {tmp_path}/t.csv; free space in"):
        files.atomic_write_text(tmp_path / "t.csv", "x" * 100)
    assert list(tmp_path.iterdir()) == []


def test_a_lock_is_exclusive_and_dies_with_its_process(tmp_path):
    """Issue 29: one folder, one writer; a lock file left by a killed process blocks no one."""
    import subprocess
    import sys

    lock = tmp_path / "lock"
    hold = "import fcntl, os, sys, time; fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT); "
    hold += "fcntl.flock(fd, fcntl.LOCK_EX); print('held', flush=True); time.sleep(60)"
    holder = subprocess.Popen([sys.executable, "-c", hold, str(lock)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(files.FolderBusyError, match="locked by another process"):
            with files.exclusive_lock(lock, wait=False):
                pass
    finally:
        holder.kill()  # kill -9: the lock file stays, its lock goes
        holder.wait()
    with files.exclusive_lock(lock, wait=False) as fd:
        files.rewrite_locked(fd, "mine")
    assert lock.read_text() == "mine"
