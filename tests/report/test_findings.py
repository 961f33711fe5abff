"""Findings are written from the figures' sidecars, and the README's numbers are those sidecars'."""

import json

import pytest
from invariance.claims import aliasing, depth, framing
from invariance.core import paths
from invariance.presentation.text import sidecar_values
from invariance.report import findings, readme


@pytest.mark.parametrize("document", sorted(readme.DOCUMENTS))
def test_readme_generated_sections_match_the_committed_sidecars(document):
    """Every number in the generated sections of the README and its docs/ pages comes from figures/*.json,
    benchmarks/ or weights/manifest.json: rerun `make figures` (or readme.update_readme()) after a figure
    changes; never edit these sections."""
    old, new = readme.render_document(document)
    assert new == old, f"{document}: generated sections are stale: run `make figures`"


def test_a_changed_digit_in_a_generated_section_is_caught():
    text = (paths.project_root() / "docs" / "paper-vs-ours.md").read_text()
    start = text.index("<!-- generated: table1")
    digit = start + text[start:].index("0.060 [")  # Lite0, crop
    edited = text[:digit] + "0.070" + text[digit + 5 :]
    assert readme.render_readme(edited, sections=("table1",)) != edited
    with pytest.raises(ValueError, match="no generated section"):
        readme.render_readme("no markers here")


def test_the_readme_stays_within_its_line_budget():
    lines = (paths.project_root() / "README.md").read_text().count("\n")
    assert lines <= readme.LINE_BUDGET, f"README has {lines} lines: move a long section to docs/"


def test_every_relative_link_of_the_readme_and_docs_resolves():
    import re

    root = paths.project_root()
    for page in [root / "README.md", *sorted((root / "docs").glob("*.md"))]:
        for target in re.findall(r"\]\(([^)#\s]+)\)|src=\"([^\"]+)\"|href=\"([^\"]+)\"", page.read_text()):
            link = next(t for t in target if t)
            if link.startswith(("http://", "https://", "mailto:")):
                continue
            assert (page.parent / link).exists(), f"{page.name} links to {link}, which does not exist"


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
    section = readme[readme.index("## Ten lines") : readme.index("## Measure your own network")]
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
        def read(name):
            if name == "03_depth_series":  # a run without the controlled series: the Lite verdict alone
                raise FileNotFoundError(name)
            return maps if name == "03_jaggedness_maps" else {"verdicts": verdicts}

        return read

    assert depth.verdict(depth_reader({"a": "reproduced", "b": "reproduced"})).startswith("**reproduced**")
    mixed = depth.verdict(depth_reader({"a": "reproduced", "b": "inconclusive"}))
    assert (
        mixed.startswith("**inconclusive**: with EfficientNet-Lite0/1/2") and "not testable offline" in mixed
    )
    assert depth.verdict(depth_reader({"a": "reversed"})).startswith("**not reproduced**")
    assert depth.verdict(depth_reader({"a": "needs two networks"})).startswith("**not testable offline**")


@pytest.mark.parametrize("notebook", sorted({key.split(".")[0] for key in findings.CLAIMS}))
def test_every_verdict_carries_exactly_one_verdict_word(notebook):
    """The committed sidecars' verdicts: one per claim the notebook tests, each starting with one word of the
    vocabulary, in bold, and naming no other in bold (the vocabulary is defined once, presentation.text)."""
    from invariance.presentation.text import VERDICTS

    text = findings.notebook_findings(notebook, "default")
    lines = [x for x in text.splitlines() if x.startswith("**Verdict**: ")]
    assert len(lines) == len(findings.claims_of(notebook))
    for line in lines:
        body = line.removeprefix("**Verdict**: ")
        bold = [w for w in VERDICTS if f"**{w}**" in body]
        assert len(bold) == 1 and body.startswith(f"**{bold[0]}**: "), body[:120]


def test_claims_at_a_glance_has_one_row_per_claim_with_a_verdict_word_and_an_existing_figure():
    from invariance.core import paths
    from invariance.presentation.text import VERDICTS

    rows = [r for r in findings.glance().splitlines() if r.startswith("| [")]
    assert len(rows) == len(findings.CLAIMS)
    for row, claim in zip(rows, findings.CLAIMS.values(), strict=True):
        cells = [c.strip() for c in row.strip("|").split("|")]
        assert cells[1] == claim.short and cells[2] == claim.paper
        assert cells[3].strip("*") in VERDICTS
        assert (paths.project_root() / "figures" / f"{claim.figure}.png").exists()
    assert findings.verdict_word("**not reproduced**: because") == "not reproduced"
