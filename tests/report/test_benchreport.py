"""The README's speed sections come from result files: the parsing and the targets on hand-made input."""

from invariance.report import benchreport


def test_parse_side_by_side_reads_rounds_and_codes():
    text = "\n".join(
        [
            "# a comment: crop: 1 frames | runner 1 ms (ratio 9.999) is ignored",
            "== round 1, old code",
            "crop: 576 frames | runner 10.0 ms, forward alone 8.0 ms (ratio 0.800), build alone 1.0 ms",
            "black: 576 frames | runner 10.0 ms, forward alone 9.0 ms (ratio 0.900), build alone 1.0 ms",
            "== round 1, new code",
            "crop: 576 frames | runner 9.0 ms, forward alone 8.1 ms (ratio 0.900), build alone 1.0 ms",
            "== round 2, old code",
            "crop: 576 frames | runner 10.0 ms, forward alone 8.5 ms (ratio 0.850), build alone 1.0 ms",
        ]
    )
    got = benchreport.parse_side_by_side(text)
    assert got == {"crop": {"old": [0.8, 0.85], "new": [0.9]}, "black": {"old": [0.9]}}


def record(ratio: float) -> dict:
    rng = {"min": ratio, "median": ratio, "max": ratio}
    fps = {"min": 1.0, "median": 1.0, "max": 1.0}
    return {
        "device": "cpu (test)",
        "torch": "x",
        "threads": 2,
        "when": "2026-11-26T00:00:00",
        "git": "abc",
        "model": "lite0",
        "protocol": "p",
        "images": 1,
        "frames_per_image": 9,
        "batch": 8,
        "repeats": 1,
        "variants": [
            {
                "variant": "v",
                "forward_frames_per_s": fps,
                "runner_frames_per_s": fps,
                "runner_over_forward": rng,
                "top1_flips_vs_float32": 0,
                "pairs": 8,
                "peak_memory_mb": 1.0,
            }
        ],
        "naive": {"images": 1, "pairs_per_s": fps, "top1_agrees_with_runner": True},
        "runner_speedup_over_naive": 1.0,
        "protocols": [
            {
                "protocol": "black",
                "frames": 9,
                "runner_over_forward": rng,
                "forward_frames_per_s": fps,
                "build_s": fps,
            },
            {
                "protocol": "inpaint",
                "frames": 9,
                "runner_over_forward": {"min": 0.1, "median": 0.1, "max": 0.1},
                "forward_frames_per_s": fps,
                "build_s": fps,
            },
        ],
    }


def test_block_says_whether_the_runner_target_is_met():
    assert "**met**" in benchreport.block("cpu-x.json", record(0.96))  # inpainting is not checked
    assert "**not met**" in benchreport.block("cpu-x.json", record(0.94))
    assert "**met**" in benchreport.block("cuda-x.json", record(0.91))  # the GPU target is 0.9


def test_block_says_why_the_sharded_comparison_is_missing():
    r = record(0.96)
    r["sharding"] = {
        "images": 16,
        "processes": 2,
        "skipped": "needs 2 GPUs (one per process), this machine has 1",
    }
    assert "torchrun`: skipped (needs 2 GPUs (one per process), this machine has 1)." in benchreport.block(
        "c", r
    )
    r["sharding"] = {"images": 16, "processes": 2, "failed": "torchrun ...: RuntimeError: boom"}
    assert "failed (torchrun ...: RuntimeError: boom)" in benchreport.block("c", r)
    fps = {"min": 1.0, "median": 2.0, "max": 3.0}
    r["sharding"] = {
        "images": 16,
        "processes": 2,
        "one_process_images_per_s": fps,
        "sharded_images_per_s": fps,
    }
    r["sharding"]["sharded_over_one"] = {"min": 0.5, "median": 0.6, "max": 0.7}
    assert "**0.60x**" in benchreport.block("c", r)


def test_smoke_line_from_the_newest_record(tmp_path, monkeypatch):
    import json

    monkeypatch.setattr(benchreport, "make_figures_dir", lambda: tmp_path)
    assert benchreport.smoke_line() == ""
    record = {"seconds": {"01_a": 6.2, "02_b": 11.8, "total": 18.0}, "device": "cpu (test)", "git": "abc"}
    (tmp_path / "smoke-2026-01-01.json").write_text(
        json.dumps({**record, "seconds": {"01_a": 99, "total": 99}})
    )
    (tmp_path / "smoke-2026-02-01.json").write_text(json.dumps(record))
    line = benchreport.smoke_line()
    assert "2 notebooks in 6-12 s, 18 s in all" in line and "smoke-2026-02-01.json" in line


def test_compare_bytes_and_its_sentence(tmp_path, monkeypatch):
    import json

    pub, rerun, records = tmp_path / "pub", tmp_path / "rerun", tmp_path / "records"
    for d in (pub, rerun, records):
        d.mkdir()
    side = {"git": "a", "created": "t1", "values": [{"v": 1.0, "n": "x"}, {"v": 2.0}]}
    later = {**side, "git": "b", "created": "t2"}  # the same values, another run
    moved = {**side, "values": [{"v": 1.0 + 1e-7, "n": "x"}, {"v": 2.0}]}
    renamed = {**side, "values": [{"v": 1.0, "n": "y"}, {"v": 2.0}]}
    files = {
        "a.png": (b"x", b"x"),
        "b.png": (b"x", b"y"),
        "a.json": (json.dumps(side), json.dumps(later)),
        "b.json": (json.dumps(side), json.dumps(moved)),
        "c.json": (json.dumps(side), json.dumps(renamed)),
    }
    for name, (a, b) in files.items():
        (pub / name).write_text(a) if isinstance(a, str) else (pub / name).write_bytes(a)
        (rerun / name).write_text(b) if isinstance(b, str) else (rerun / name).write_bytes(b)
    (pub / "c.png").write_bytes(b"z")  # not in the rerun
    (pub / "notes.txt").write_bytes(b"ignored")
    got = benchreport.compare_bytes(pub, rerun)
    assert got["identical"] == ["a.json", "a.png"] and got["missing"] == ["c.png"] and got["files"] == 6
    assert got["differ"]["b.png"] is None and got["differ"]["c.json"] is None
    assert abs(got["differ"]["b.json"] - 1e-7) < 1e-12
    monkeypatch.setattr(benchreport, "make_figures_dir", lambda: records)
    assert benchreport.bitwise_section().startswith("No byte-for-byte")
    benchreport.main(
        [str(pub), str(rerun), "--commit", "abc", "--what", "A test", "--save", str(records / "bytes-x.json")]
    )
    line = benchreport.bitwise_section()
    assert "**1 of 3** committed PNGs byte for byte and **1 of 3** sidecars value for value" in line
    assert "b.json differ by at most 1.0e-07 relative" in line
    assert "other differences: b.png, c.json" in line and "missing from the rerun: c.png" in line
