"""The README's shipped-networks table, on hand-made manifests."""

import json

from invariance.report import weights_table
from invariance.training import weights as W


def write(folder, networks):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / W.MANIFEST).write_text(json.dumps({"format": W.FORMAT, "networks": networks}))


def entry(accuracy, dtype="float32", half=None, seconds=600.0):
    return {
        "test_accuracy": accuracy,
        "half_precision_top1_changes": half or {},
        "dtype": dtype,
        "bytes": 1_500_000,
        "steps": 2340,
        "train_seconds": seconds,
        "device": "cpu (x86_64, 2 cores)",
        "precision": "bf16",
        "threads": 1,
    }


def test_no_manifest_says_nothing_is_trained(tmp_path, monkeypatch):
    monkeypatch.setenv(W.WEIGHTS_ENV, str(tmp_path / "none"))
    assert weights_table.readme_section().startswith("No network trained yet")


def test_rows_follow_the_catalogue_and_say_why_a_file_is_float32(tmp_path, monkeypatch):
    monkeypatch.setenv(W.WEIGHTS_ENV, str(tmp_path))
    write(
        tmp_path,
        {
            "canvas-uniform-seed0": entry(
                {"typical": 0.81, "atypical-interior": 0.8, "border": 0.5}, dtype="float16 (2+ dim)"
            ),
            "c10-stride-seed0": entry({"test": 0.8396, "test-flip-tta": 0.8497}, half={"test": 6, "x": 8}),
        },
    )
    text = weights_table.readme_section()
    lines = [x for x in text.splitlines() if x.startswith("| `")]
    assert lines[0].startswith("| `c10-stride-seed0` | 0.840 (0.850 with flip TTA) | 2,340 steps in 10.0 min")
    assert "float32 (float16 would change 8 test top-1s), 1.50 MB" in lines[0]
    assert (
        "typical 0.810, atypical-interior 0.800, border 0.500" in lines[1] and "float16 (no test" in lines[1]
    )
    assert "2 of the catalogue's 44 networks trained so far (3.0 MB)" in text
