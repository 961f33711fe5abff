"""Side-by-side check of a rerun against the published intervals, on hand-made sidecars."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from invariance.report import reruns


def _write(folder, name, values):
    folder.mkdir(exist_ok=True)
    (folder / f"{name}.json").write_text(json.dumps({"values": values}))


def test_intervals_are_found_in_every_sidecar_shape():
    values = {
        "table": [
            {
                "variant": "a",
                "zone": "edge",
                "value": 0.2,
                "ci_low": 0.1,
                "ci_high": 0.3,
                "seeds": "0.2 / 0.3",
            }
        ],
        "comparisons": [
            {"comparison": "a - b", "difference": -0.1, "low": -0.2, "high": 0.0, "finding": False}
        ],
        "maps": [{"model": "lite0", "jaggedness": 0.21, "ci_low": 0.16, "ci_high": 0.27, "images": 64}],
        "correlations": [{"model": "lite0", "rho": -0.1, "low": -0.17, "high": -0.04}],
    }
    t = reruns.intervals(values)
    assert t.quantity.tolist() == ["value", "difference", "jaggedness", "rho"]
    # labels are the texts that name a record; a text holding decimal numbers is a result
    assert t.label.tolist() == ["variant=a, zone=edge", "comparison=a - b", "model=lite0", "model=lite0"]
    curves = [
        {"variant": "a", "offset": 4, "accuracy": 0.5, "accuracy_low": 0.4, "accuracy_high": 0.6, "mac": 0.1}
    ]
    t = reruns.intervals(curves)
    assert t[["quantity", "value", "low", "high"]].values.tolist() == [
        ["accuracy", 0.5, 0.4, 0.6]
    ]  # mac: no CI
    with pytest.raises(ValueError, match="without a number before them"):
        reruns.intervals([{"model": "a", "ci_low": 0.1, "ci_high": 0.2}])


def test_compare_marks_values_outside_and_missing(tmp_path):
    published = [
        {"variant": "a", "p": 0.20, "p_low": 0.15, "p_high": 0.25, "seeds": "0.19 / 0.21"},
        {"variant": "b", "p": 0.10, "p_low": 0.08, "p_high": 0.12},
        {"variant": "c", "p": 0.30, "p_low": 0.25, "p_high": 0.35},
    ]
    rerun = [
        {"variant": "a", "p": 0.24, "p_low": 0.0, "p_high": 1.0, "seeds": "0.22 / 0.26"},  # inside
        {"variant": "b", "p": 0.13, "p_low": 0.1, "p_high": 0.2},  # outside (only the published CI counts)
    ]
    _write(tmp_path / "pub", "09_x", published)
    _write(tmp_path / "new", "09_x", rerun)
    table = reruns.compare(tmp_path / "pub", tmp_path / "new", ["09_x"]).set_index("label")
    assert table.loc["variant=a", "inside"] == True  # noqa: E712 (matched although its seeds text differs)
    assert table.loc["variant=b", "inside"] == False  # noqa: E712
    assert table.loc["variant=b", "shift"] == pytest.approx(0.03)
    assert table.loc["variant=c"].isna()["inside"]  # the rerun lacks it: neither inside nor outside
    s = reruns.summary(table.reset_index()).loc["09_x"]
    assert (s["intervals"], s["in rerun"], s["inside"]) == (3, 2, 1)
    assert s["largest |shift| / half-width"] == pytest.approx(1.5)
    assert reruns.main([str(tmp_path / "pub"), str(tmp_path / "new")]) == 1  # one outside, one missing
    assert reruns.main([str(tmp_path / "pub"), str(tmp_path / "pub")]) == 0


def test_compare_refuses_runs_that_list_different_records_and_says_what_is_missing(tmp_path):
    _write(tmp_path / "pub", "09_x", [{"variant": "a", "p": 0.2, "p_low": 0.1, "p_high": 0.3}])
    _write(tmp_path / "new", "09_x", [{"variant": "z", "p": 0.2, "p_low": 0.1, "p_high": 0.3}])
    with pytest.raises(ValueError, match="published 'variant=a', rerun 'variant=z'"):
        reruns.compare(tmp_path / "pub", tmp_path / "new", ["09_x"])
    with pytest.raises(FileNotFoundError, match="09_y.json is missing"):
        reruns.compare(tmp_path / "pub", tmp_path / "new", ["09_y"])
    with pytest.raises(SystemExit):
        reruns.main([str(tmp_path / "pub"), str(tmp_path / "new"), "07"])  # no sidecar starts with 07


def test_a_saved_check_becomes_the_readme_section(tmp_path, monkeypatch):
    published = [
        {"variant": "a", "p": 0.2, "p_low": 0.1, "p_high": 0.3},
        {"variant": "b", "p": 0.2, "p_low": 0.1, "p_high": 0.3, "p_rerun_low": 0.15, "p_rerun_high": 0.25},
    ]
    _write(tmp_path / "pub", "09_x", published)
    rerun = [{"variant": v, "p": p, "p_low": 0, "p_high": 1} for v, p in [("a", 0.35), ("b", 0.28)]]
    _write(tmp_path / "new", "09_x", rerun)
    monkeypatch.setattr(reruns, "reruns_dir", lambda: tmp_path / "records")
    assert reruns.readme_section().startswith("No rerun compared")
    saved = tmp_path / "records" / "2026-01-01-x.json"
    saved.parent.mkdir()
    argv = [str(tmp_path / "pub"), str(tmp_path / "new"), "--save", str(saved), "--what", "A test rerun"]
    assert reruns.main(argv) == 1
    text = reruns.readme_section()
    assert text.startswith("A test rerun (`benchmarks/reruns/2026-01-01-x.json`")
    assert "the rerun's value lies inside **1 of 2** published 95% CIs, and inside **0 of 1** rerun" in text
    assert (
        "outside its rerun interval: 09_x variant=b p, published 0.200, rerun interval [0.150, 0.250]" in text
    )
    assert "Farthest outside its CI: 09_x variant=a p, published 0.200 [0.100, 0.300], rerun 0.350" in text
    assert "| 09_x | 2 | 2 | 1 | 1 | 0 | 1.50 |" in text


def test_rerun_intervals_are_read_beside_the_cis_and_judged(tmp_path):
    published = {
        "table": [
            {
                "variant": "a",
                "value": 0.2,
                "ci_low": 0.18,
                "ci_high": 0.22,
                "rerun_low": 0.1,
                "rerun_high": 0.3,
            }
        ],
        "curves": [
            {
                "variant": "a",
                "p": 0.2,
                "p_low": 0.18,
                "p_high": 0.22,
                "p_rerun_low": 0.1,
                "p_rerun_high": 0.3,
            },
            {"variant": "b", "p": 0.2, "p_low": 0.18, "p_high": 0.22},  # a pretrained network: none
        ],
    }
    rerun = {
        "table": [{"variant": "a", "value": 0.25, "ci_low": 0, "ci_high": 1}],
        "curves": [
            {"variant": "a", "p": 0.35, "p_low": 0, "p_high": 1},
            {"variant": "b", "p": 0.2, "p_low": 0, "p_high": 1},
        ],
    }
    t = reruns.intervals(published)
    assert t[["rerun_low", "rerun_high"]].iloc[:2].values.tolist() == [[0.1, 0.3], [0.1, 0.3]]
    assert t.rerun_low.isna().tolist() == [False, False, True]
    _write(tmp_path / "pub", "09_x", published)
    _write(tmp_path / "new", "09_x", rerun)
    table = reruns.compare(tmp_path / "pub", tmp_path / "new", ["09_x"])
    assert table.inside.tolist() == [False, False, True]
    assert table.inside_rerun.tolist()[:2] == [True, False] and pd.isna(table.inside_rerun.iloc[2])
    s = reruns.summary(table).loc["09_x"]
    assert (s["with rerun interval"], s["inside rerun interval"]) == (2, 1)


def test_labels_name_offsets_and_sizes_but_not_counts(tmp_path):
    record = {
        "variant": "uniform",
        "offset": 3,
        "images": 1000,
        "mac": 0.05,
        "mac_low": 0.04,
        "mac_high": 0.06,
    }
    assert reruns._label(record) == "variant=uniform, offset=3"
    # a miss saved before labels named offsets is named again from the rerun's own sidecar
    folder = tmp_path / "2026-01-01-x"
    folder.mkdir()
    (folder / "09_fig.json").write_text(json.dumps({"values": [{"variant": "a", "offset": 0}, record]}))
    miss = {"figure": "09_fig", "part": "", "position": 1, "label": "variant=uniform"}
    assert reruns._named(tmp_path / "2026-01-01-x.json", miss) == "variant=uniform, offset=3"
    assert reruns._named(tmp_path / "elsewhere.json", miss) == "variant=uniform"  # no sidecars kept
