"""The README's shipped-networks table, on hand-made manifests."""

import json

from invariance.report import weights_table
from invariance.training import catalogue
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
    assert f"2 of the catalogue's {len(catalogue.networks())} networks trained so far (3.0 MB; all" in text
    assert f"at most {catalogue.projected_bytes() / 1e6:.1f} MB of the 40 MB allowed" in text


def test_recipe_table_reads_the_probe_logs_and_groups_shipped_networks_by_configuration(
    tmp_path, monkeypatch
):
    logs = tmp_path / "logs"
    logs.mkdir()
    (logs / "recipe-budget-2026-01-01.log").write_text(
        "# a comment {'x': 1} epochs 1 bf16: {} in 5 s\n"
        "{'precision': 'fp32'} epochs 8.0 fp32: {'top1': 0.83, 'top1_tta': 0.84} in 360 s (load 2.0)\n"
        "{'widths': '24,48,96', 'canvas': '128', 'kind': 'gaussian'} epochs 8.0 bf16: "
        "{'typical': 0.79, 'atypical-interior': 0.78, 'border': 0.77} in 3468 s (load 2.2)\n"
    )
    probes = weights_table.recipe_probes(logs)
    assert [(p["epochs"], p["seconds"]) for p in probes] == [(8.0, 360), (8.0, 3468)]
    net = {"widths": [32, 64, 128], "depth": 2, "downsampling": "stride", "padding": "zeros"}
    config = {"net": net, "placement": None, "epochs": 12.0}
    write(
        tmp_path / "w",
        {
            f"c10-stride-seed{k}": entry({"test": a, "test-flip-tta": a + 0.01}, seconds=s)
            | {"config": config}
            for k, a, s in ((0, 0.84, 600.0), (1, 0.86, 660.0))
        },
    )
    monkeypatch.setenv(W.WEIGHTS_ENV, str(tmp_path / "w"))
    monkeypatch.setattr(weights_table, "recipe_probes", lambda: probes)
    text = weights_table.recipe_section()
    assert "| 32-64-128, depth 2, stride | 8 | fp32 | 0.830 (0.840 with flip TTA) | 6.0 min | probe" in text
    assert "| 24-48-96, depth 2, stride; 128 px canvas, gaussian sigma 4 | 8 | bf16 | typical 0.790" in text
    shipped = (
        "| 32-64-128, depth 2, stride | 12 | bf16 | 0.850 (0.860 with flip TTA) | 10.5 min | shipped, mean"
    )
    assert shipped + " of 2 seeds |" in text
