"""Findings are written from the figures' sidecars, and the README's numbers are those sidecars'."""

import json

import pandas as pd
import pytest
from invariance.claims import aliasing, bias, depth, frame_pairs, framing, remedies, typicality
from invariance.core import paths
from invariance.presentation.text import sidecar_values
from invariance.report import findings, readme


def test_readme_generated_sections_match_the_committed_sidecars():
    """Every number in the README's gallery and paper-vs-ours tables comes from figures/*.json: rerun
    `make figures` (or readme.update_readme()) after a figure changes; never edit these sections."""
    text = (paths.project_root() / "README.md").read_text()
    assert readme.render_readme(text) == text, "README generated sections are stale: run `make figures`"


def test_a_changed_digit_in_the_readme_is_caught():
    text = (paths.project_root() / "README.md").read_text()
    start = text.index("<!-- generated: table1")
    digit = start + text[start:].index("0.060 [")  # Lite0, crop
    edited = text[:digit] + "0.070" + text[digit + 5 :]
    assert readme.render_readme(edited) != edited
    with pytest.raises(ValueError, match="no generated section"):
        readme.render_readme("no markers here")


def test_sentences_and_verdicts_on_hand_made_values(tmp_path):
    jag = [
        {"model": "lite0", "jaggedness": 0.20, "ci_low": 0.15, "ci_high": 0.25, "images": 64},
        {"model": "lite2", "jaggedness": 0.30, "ci_low": 0.26, "ci_high": 0.34, "images": 64},
    ]
    assert depth.verdict_depth(jag).startswith("reproduced")
    jag[1] |= {"ci_low": 0.22}
    assert depth.verdict_depth(jag).startswith("inconclusive")
    jag[1] |= {"jaggedness": 0.05, "ci_low": 0.02, "ci_high": 0.08}
    assert depth.verdict_depth(jag).startswith("not reproduced (reversed")
    assert "Lite0 0.200 [0.150, 0.250]" in depth.f03_maps(jag)
    toy = [
        {"variant": "linear, broadband input", "max - min over shifts": 0.2},
        {"variant": "ReLU, broadband input", "max - min over shifts": 0.3},
        {"variant": "ReLU + blur before subsampling", "max - min over shifts": 0.04},
        {"variant": "ReLU, band-limited input", "max - min over shifts": 0.013},
        {"variant": "linear, band-limited input", "max - min over shifts": 1.5e-16},
    ]
    (tmp_path / "07_sampling_toy.json").write_text(json.dumps({"values": toy}))
    (tmp_path / "03_jaggedness_maps.json").write_text(json.dumps({"values": jag}))
    assert "spread 1.5e-16" in aliasing.f07_toy(toy)
    ranged = [
        r | {"min over 10 signals": r["max - min over shifts"] / 2, "max over 10 signals": 2.0} for r in toy
    ]
    assert "spread 1.5e-16 (7.5e-17 to 2.0e+00)" in aliasing.f07_toy(ranged)
    assert "range over 10 random signals" in aliasing.f07_toy(ranged)
    read = lambda name: sidecar_values(name, tmp_path)  # noqa: E731
    assert findings.CLAIMS["07"].verdict(read).startswith("**reproduced**")
    (tmp_path / "07_sampling_toy.json").write_text(json.dumps({"values": ranged}))
    assert findings.CLAIMS["07"].verdict(read).startswith("**not reproduced**")  # judged on the worst signal
    periodicity = [
        {"model": "lite0", "max at multiples of 32": 3.6e-7, "min at other shifts": 0.5, "init seeds": 0},
        {
            "model": "vgg16 (untrained)",
            "max at multiples of 32": 0.08,
            "min at other shifts": 0.013,
            "init seeds": 3,
        },
    ]
    text = aliasing.f07_periodicity(periodicity)
    assert "lite0: 3.6e-07 at multiples, >= 0.5 elsewhere;" in text
    assert (
        "vgg16 (untrained), worst of 3 init seeds: 8.0e-02 at multiples, >= 0.013 elsewhere (not exact"
        in text
    )
    assert "float64 rounding" not in aliasing.f07_toy(ranged)  # 2.0 is no rounding error
    (tmp_path / "07_sampling_toy.json").write_text(json.dumps({"values": toy}))
    (tmp_path / "07_total_stride_periodicity.json").write_text(json.dumps({"values": periodicity}))
    assert "exact (lite0); not even those for vgg16 (untrained)" in findings.CLAIMS["07"].verdict(read)
    (tmp_path / "05_crop_rescale_sweep.json").write_text(json.dumps({"config": {}}))
    with pytest.raises(ValueError, match="holds no values"):
        sidecar_values("05_crop_rescale_sweep", tmp_path)


def test_notebook_findings_name_the_claim_and_survive_a_small_profile(tmp_path, monkeypatch):
    monkeypatch.setattr(paths, "figures_dir", lambda profile="default": tmp_path)
    (tmp_path / "03_jaggedness_maps.json").write_text(
        json.dumps(
            {"values": [{"model": "lite0", "jaggedness": 0.2, "ci_low": 0.1, "ci_high": 0.3, "images": 3}]}
        )
    )
    text = findings.notebook_findings("03_jaggedness_maps", "smoke")
    assert "Deeper networks are more jagged" in text and "**Verdict**" in text and "Smoke profile" in text
    (tmp_path / "04_protocol_table.json").write_text(json.dumps({"values": [{"model": "lite0"}]}))
    assert "no summary in this profile" in findings.notebook_findings("04_protocol_table", "smoke")


@pytest.mark.slow
def test_the_ten_line_example_prints_what_the_readme_says():
    """The README's ten-line example is run as written; the numbers the README quotes must be its output."""
    import re
    import subprocess
    import sys

    readme = (paths.project_root() / "README.md").read_text()
    section = readme[readme.index("## Ten lines") : readme.index("## Profiles and budgets")]
    code = section.split("```python\n", 1)[1].split("```", 1)[0]
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    rows = {
        line.split()[0]: line.split()[1:4] for line in out.splitlines() if line.startswith(("p_top1", "mac "))
    }
    said = re.search(
        r"P\(top-1 change\) ([\d.]+) \(95% CI ([\d.]+)-([\d.]+)\) and MAC ([\d.]+)\s+\(([\d.]+)-([\d.]+)\)",
        section,
    )
    assert said, "the README no longer quotes the example's numbers in the expected form"
    ran = [f"{float(x):.3f}" for x in (*rows["p_top1_change"], *rows["mac"])]
    assert list(said.groups()) == ran


def test_the_new_verdicts_follow_their_numbers():
    def corr(rho_typ: float, rho_part: float) -> list[dict]:
        rows = []
        for model in ("lite0", "lite2"):
            for k, rho in (
                ("typicality", rho_typ),
                ("area", rho_typ),
                ("placement", rho_typ),
                (framing.PARTIAL, rho_part),
            ):
                rows.append(
                    {
                        "model": model,
                        "protocol": "crop",
                        "stratifier": k,
                        "rho": rho,
                        "low": rho - 0.05,
                        "high": rho + 0.05,
                    }
                )
        return rows

    size_only = framing.verdict(lambda name: {"correlations": corr(-0.1, 0.0)})
    assert size_only.startswith("**inconclusive**: on real framing, not separable from object size")
    assert "below 0 in 0 of 2" in size_only
    beyond = framing.verdict(lambda name: {"correlations": corr(-0.1, -0.1)})
    assert beyond.startswith("**reproduced**: on real framing, an atypically placed object")
    none = framing.verdict(lambda name: {"correlations": corr(0.1, 0.0)})
    assert none.startswith("**inconclusive**: on real framing, the placement CIs given size cover 0")
    against = framing.verdict(lambda name: {"correlations": corr(0.1, 0.1)})
    assert against.startswith("**not reproduced**")

    maps = [{"model": "lite0", "jaggedness": 0.2, "ci_low": 0.1, "ci_high": 0.3, "images": 9}]

    def depth_reader(verdicts: dict):
        return lambda name: maps if name == "03_jaggedness_maps" else {"verdicts": verdicts}

    assert depth.verdict(depth_reader({"a": "reproduced", "b": "reproduced"})).startswith("**reproduced**")
    mixed = depth.verdict(depth_reader({"a": "reproduced", "b": "inconclusive"}))
    assert (
        mixed.startswith("**inconclusive**: with EfficientNet-Lite0/1/2") and "not testable offline" in mixed
    )
    assert depth.verdict(depth_reader({"a": "reversed"})).startswith("**not reproduced**")
    assert depth.verdict(depth_reader({"a": "needs two networks"})).startswith("**not testable offline**")


def test_typicality_sentence_gives_the_ci_when_the_sidecar_has_one():
    rows = [
        {"model": "lite0", "bin": b, "p_top1_change": p, "spearman": 0.18} for b, p in ((0, 0.2), (1, 0.3))
    ]
    old = typicality.f08_typicality(rows)  # a sidecar from before the CI: the estimate alone
    assert "Lite0 Spearman +0.18, least vs most typical quartile 0.20 vs 0.30" in old
    with_ci = [{**r, "spearman_low": -0.01, "spearman_high": 0.37} for r in rows]
    assert "Lite0 Spearman +0.18 [-0.01, +0.37]," in typicality.f08_typicality(with_ci)


def test_remedies_text_names_variants_as_the_figures_do():
    comparisons = [
        {"comparison": "uniform+blurpool - blurpool", "zone": "centre", "difference": 0.012, "low": -0.01,
         "high": 0.03, "finding": False},
        {"comparison": "blurpool - photographer", "zone": "edge", "difference": -0.05, "low": -0.07,
         "high": -0.03, "finding": True},
    ]  # fmt: skip
    text = remedies._held(pd.DataFrame(comparisons).set_index(["comparison", "zone"]))
    assert "uniform + BlurPool - BlurPool (centre) +0.012" in text
    assert "BlurPool - photographer (edge) -0.050" in text and "blurpool" not in text


def test_depth_verdict_says_which_way_overlapping_estimates_go():
    jag = [
        {"model": "lite0", "jaggedness": 0.22, "ci_low": 0.17, "ci_high": 0.27, "images": 64},
        {"model": "lite2", "jaggedness": 0.16, "ci_low": 0.12, "ci_high": 0.21, "images": 64},
    ]
    assert depth.verdict_depth(jag) == (
        "inconclusive (the CIs overlap; point estimates the other way: Lite2 below Lite0)"
    )
    jag[1] |= {"jaggedness": 0.25, "ci_high": 0.3}
    assert "the paper's way: Lite2 above Lite0" in depth.verdict_depth(jag)


def test_protocol_sentence_names_the_protocols_that_change_almost_every_pixel():
    rows = [{"protocol": "crop", "pixels_changed": 1.0}, {"protocol": "black", "pixels_changed": 0.27}]
    text = frame_pairs.f02_protocols(rows)
    assert "crop 100%, black 27%. Crop changes almost every pixel a little" in text
    rows[0]["pixels_changed"] = 0.3
    assert text != frame_pairs.f02_protocols(
        rows
    ) and "The large differences sit at" in frame_pairs.f02_protocols(rows)


def test_placement_sentence_compares_corners_and_inner_cells_within_each_size():
    rows = [
        {"model": "lite0", "metric": metric, "side": side, "row": r, "col": c, "images": 40,
         "value": (0.5 if (r, c) != (1, 1) else 0.3) / (side // 60) if metric == "p_top1_change" else 0.4}
        for metric in ("p_top1_change", "accuracy") for side in (60, 120) for r in range(3) for c in range(3)
    ]  # fmt: skip
    text = bias.f06_placement(rows)  # an older sidecar: the grid only, point estimates per size
    assert "per object size: 60 px 0.50 vs 0.30 (accuracy 0.40 vs 0.40); 120 px 0.25 vs 0.15" in text
    contrast = [
        {"model": "lite0", "side": side, "metric": m, "corner": 0.5, "inner": 0.3, "difference": 0.2}
        | {"low": low, "high": 0.3, "images": 40}
        for side, low in ((60, 0.1), (120, -0.05))
        for m in ("p_top1_change", "accuracy")
    ]
    paired = bias.f06_placement({"grid": rows, "contrast": contrast})
    assert "60 px 0.50 vs 0.30, difference +0.20 [+0.10, +0.30]" in paired
    assert "CI above 0, at 60 px of 2 interpretable sizes" in paired
    low = [r | {"value": 0.1} if r["metric"] == "accuracy" and r["side"] == 60 else r for r in rows]
    assert "60 px" not in bias.f06_placement({"grid": low, "contrast": contrast}).split("CI above 0, at")[1]


def test_typicality_sentence_sets_significant_signs_against_the_paper():
    def rows(model: str, low: float, high: float) -> list[dict]:
        return [
            {"model": model, "bin": b, "p_top1_change": 0.2, "spearman": (low + high) / 2,
             "spearman_low": low, "spearman_high": high}
            for b in (0, 1)
        ]  # fmt: skip

    text = typicality.f08_typicality(rows("lite0", -0.2, 0.2) + rows("lite2", 0.04, 0.39))
    assert "significantly positive, the other way, for Lite2; the CIs of the others include 0." in text
    assert "no CI excludes 0." in typicality.f08_typicality(rows("lite0", -0.2, 0.2))
    assert "significantly negative, as predicted, for Lite0." in typicality.f08_typicality(
        rows("lite0", -0.3, -0.1)
    )


def test_size_and_stride_sentences_follow_the_intervals():
    size = [
        {"variant": v, "size": s, "accuracy": 0.5, "p_top1_change": p, "p_top1_change_low": p - 0.02,
         "p_top1_change_high": p + 0.02}
        for v, ps in (("photographer", (0.18, 0.14, 0.08)), ("blurpool", (0.11, 0.07, 0.07)))
        for s, p in zip((20, 32, 48), ps, strict=True)
    ]  # fmt: skip
    assert "below its value at the training size (CIs apart) for photographer (1 of 2 variants)" in (
        remedies.f09_size(size)
    )
    for r in size:
        r["p_top1_change_low"], r["p_top1_change_high"] = r["p_top1_change"] - 0.1, r["p_top1_change"] + 0.1
    assert (
        "the CIs overlap for every variant (point estimates lower at 48 px for 1 of 2)"
        in remedies.f09_size(size)
    )
    offsets = [
        {"variant": "photographer", "offset": o, "p_top1_change": 0.2 if o % 8 == 0 else 0.1,
         "p_top1_change_low": 0.05, "p_top1_change_high": 0.25}
        for o in range(32)
    ]  # fmt: skip
    text = remedies.f09_controlled(offsets)
    assert "(8, 16, 24; every variant that subsamples has it), the photographer network changes 0.20" in text
    assert "each offset's CI is about +/-0.10, and this difference is not tested." in text


@pytest.mark.parametrize("notebook", sorted(findings.CLAIMS))
def test_every_verdict_carries_exactly_one_verdict_word(notebook):
    """The committed sidecars' verdicts: each starts with one word of the vocabulary, in bold, and names no
    other in bold (the vocabulary is defined once, in presentation.text)."""
    from invariance.presentation.text import VERDICTS

    text = findings.notebook_findings(notebook, "default")
    line = next(x for x in text.splitlines() if x.startswith("**Verdict**: "))
    body = line.removeprefix("**Verdict**: ")
    bold = [w for w in VERDICTS if f"**{w}**" in body]
    assert len(bold) == 1 and body.startswith(f"**{bold[0]}**: "), body[:120]
