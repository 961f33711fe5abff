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
