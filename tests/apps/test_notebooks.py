"""Every notebook runs in the smoke profile and writes its figures; committed notebooks carry no outputs."""

import json
import os
import time

import nbformat
import pytest
from invariance.apps import run_notebooks
from invariance.core import paths

NOTEBOOKS = run_notebooks.notebooks()
# drafts of redesigned notebooks (notebooks/drafts/): held to the same rules and run in smoke, so that their
# switch is only "rerun once the networks exist"
DRAFTS = sorted((paths.project_root() / "notebooks" / "drafts").glob("*.ipynb"))


def test_notebooks_are_numbered_in_order():
    # one per figure or claim, in order
    assert [p.name[:2] for p in NOTEBOOKS] == [
        "01",
        "02",
        "03",
        "04",
        "05",
        "06",
        "07",
        "08",
        "09",
        "10",
        "11",
    ]


@pytest.mark.parametrize("path", NOTEBOOKS + DRAFTS, ids=lambda p: p.stem)
def test_committed_notebook_is_clean(path):
    nb = nbformat.read(path, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert all(not c.outputs and c.execution_count is None for c in code), "strip outputs before committing"
    params = [c for c in code if "parameters" in c.metadata.get("tags", [])]
    assert len(params) == 1 and 'profile = "default"' in params[0].source
    # notebooks stay thin: no function definitions, no loops (those belong in the library)
    assert not any(
        line.lstrip().startswith(("def ", "for ", "while ")) for c in code for line in c.source.splitlines()
    )


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS + DRAFTS, ids=lambda p: p.stem)
def test_notebook_runs_in_smoke_profile(path, tmp_path):
    started = time.time()
    env_before = dict(os.environ)
    run_notebooks.run_notebook(path, "smoke", tmp_path)
    assert dict(os.environ) == env_before  # the kernel's settings do not leak into the caller
    figures = paths.figures_dir("smoke")
    made = [p for p in figures.glob(f"{path.stem[:2]}_*.png") if p.stat().st_mtime >= started - 1]
    assert made, f"{path.name} wrote no figure to {figures}"
    for png in made:
        assert png.with_suffix(".pdf").exists()
        prov = json.loads(png.with_suffix(".json").read_text())
        assert prov["profile"] == "smoke" and prov["config"]["settings"]["profile"] == "smoke"
        # the numerics policy is applied where the settings are built, and recorded with the figure
        assert prov["numerics"]["tf32_cudnn"] is False and prov["numerics"]["tf32_matmul"] is False
    if (
        path.stem == "09_remedies_shipped"
    ):  # every figure of the draft, each saying its networks are untrained
        from invariance.report import findings

        names = {p.stem for p in made}
        assert set(findings.DRAFTS[path.stem][0]) <= names, names
        for name in findings.DRAFTS[path.stem][0]:
            assert (
                json.loads((figures / f"{name}.json").read_text())["config"]["settings"]["pretrained"]
                is False
            )
    if path.stem == "01_jagged_examples":  # Figure 1's video row ran on the real staged clips
        clips = json.loads((figures / "01_jagged_examples.json").read_text())["values"]["clips"]
        assert [(c["clip"], c["frames"]) for c in clips] == [("dog", 5), ("bear", 5)]


def test_executed_copies_match_their_sources_and_carry_no_absolute_paths():
    """notebooks/executed/ holds the default profile's run of every notebook, for readers: each must have
    run the current source cells (re-run `make figures` after editing a notebook) and show no path of the
    machine that made it."""
    root = str(paths.project_root().resolve())
    for path in NOTEBOOKS:
        copy = run_notebooks.executed_dir() / path.name
        assert copy.exists(), f"no executed copy of {path.name}: run `make figures`"
        text = copy.read_text()
        stamp = json.loads(text)["metadata"]["invariance"]
        assert stamp["source_sha256"] == run_notebooks.source_digest(path), (
            f"{copy.name} was executed from an older {path.name}: run `make figures` to refresh it"
        )
        assert root not in text and "/home/" not in text
        nb = nbformat.reads(text, as_version=4)
        assert any(o.get("output_type") == "display_data" for c in nb.cells for o in c.get("outputs", []))


def test_source_digest_sees_a_changed_cell(tmp_path):
    src = NOTEBOOKS[0]
    nb = nbformat.read(src, as_version=4)
    nb.cells[-1].source += " "
    changed = tmp_path / src.name
    nbformat.write(nb, changed)
    assert run_notebooks.source_digest(changed) != run_notebooks.source_digest(src)


def test_an_only_prefix_that_matches_nothing_is_an_error(capsys):
    with pytest.raises(SystemExit):
        run_notebooks.main(["--profile", "smoke", "--only", "7"])
    assert "matches no notebook; the notebooks are 01_jagged_examples.ipynb" in capsys.readouterr().err
