"""Side-by-side check of a rerun against the published intervals, on hand-made sidecars."""

from __future__ import annotations

import json

import pytest
from invariance import reruns


def _write(folder, name, values):
    folder.mkdir(exist_ok=True)
    (folder / f"{name}.json").write_text(json.dumps({"values": values}))


def test_intervals_are_found_in_every_sidecar_shape():
    values = {
        "table": [
            {"variant": "a", "zone": "edge", "value": 0.2, "ci_low": 0.1, "ci_high": 0.3, "n_seeds": 3}
        ],
        "comparisons": [
            {"comparison": "a - b", "difference": -0.1, "low": -0.2, "high": 0.0, "finding": False}
        ],
    }
    t = reruns.intervals(values)
    assert t.part.tolist() == ["table", "comparisons"]
    assert t.record.tolist() == ["variant=a, zone=edge, n_seeds=3", "comparison=a - b"]
    curves = [
        {"variant": "a", "offset": 4, "accuracy": 0.5, "accuracy_low": 0.4, "accuracy_high": 0.6, "mac": 0.1}
    ]
    t = reruns.intervals(curves)
    assert t[["quantity", "value", "low", "high"]].values.tolist() == [
        ["accuracy", 0.5, 0.4, 0.6]
    ]  # mac: no CI


def test_compare_marks_values_outside_and_missing(tmp_path):
    published = [
        {"variant": "a", "p": 0.20, "p_low": 0.15, "p_high": 0.25},
        {"variant": "b", "p": 0.10, "p_low": 0.08, "p_high": 0.12},
        {"variant": "c", "p": 0.30, "p_low": 0.25, "p_high": 0.35},
    ]
    rerun = [
        {"variant": "a", "p": 0.24, "p_low": 0.0, "p_high": 1.0},  # inside (only the published CI counts)
        {"variant": "b", "p": 0.13, "p_low": 0.1, "p_high": 0.2},  # outside
    ]
    _write(tmp_path / "pub", "09_x", published)
    _write(tmp_path / "new", "09_x", rerun)
    table = reruns.compare(tmp_path / "pub", tmp_path / "new", ["09_x"]).set_index("record")
    assert table.loc["variant=a", "inside"] == True  # noqa: E712
    assert table.loc["variant=b", "inside"] == False  # noqa: E712
    assert table.loc["variant=b", "shift"] == pytest.approx(0.03)
    assert table.loc["variant=c"].isna()["inside"]  # the rerun lacks it: neither inside nor outside
    s = reruns.summary(table.reset_index()).loc["09_x"]
    assert (s["intervals"], s["in rerun"], s["inside"]) == (3, 2, 1)
    assert s["largest |shift| / half-width"] == pytest.approx(1.5)
    assert reruns.figures_named(tmp_path / "pub", ["07"]) == []
    assert reruns.main([str(tmp_path / "pub"), str(tmp_path / "new")]) == 0
