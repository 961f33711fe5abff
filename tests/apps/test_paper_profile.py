"""The paper profile's dry run: every notebook's paper code path, end to end on this CPU (issue 15).

The paper profile reads the user's ImageNet val folder, loads the paper's networks and writes to
figures/paper/. Here it runs on the 1,300 real val images of ../shared/data/ilsvrc2012-val-227 with the
paper's architectures at random weights and a few images (profiles.DRY_RUN_ENV), its figures and cache in a
temporary folder, so the plumbing a user with a GPU will hit is proven without their weights.
"""

import json

import pytest
from invariance.apps import profiles, run_notebooks
from invariance.core import paths

NOTEBOOKS = run_notebooks.notebooks()
DRAFTS = sorted((paths.project_root() / "notebooks" / "drafts").glob("*.ipynb"))  # their switch is a rerun


@pytest.fixture(scope="module")
def dry_run_env(tmp_path_factory):
    try:
        val = paths.find_data("ilsvrc2012-val-227") / "images"
    except paths.DataNotFoundError as e:  # pragma: no cover - CI always has ../shared
        pytest.skip(str(e))
    root = tmp_path_factory.mktemp("paper-dry-run")
    before = set(paths.manifests_dir().glob("ilsvrc2012-val-*"))
    env = {
        profiles.DRY_RUN_ENV: "1",
        "INVARIANCE_IMAGENET_VAL": str(val),
        "INVARIANCE_FIGURES": str(root),
        "INVARIANCE_CACHE": str(root / "cache"),  # shared by the notebooks, as in a real run (08 reuses 04)
    }
    with pytest.MonkeyPatch.context() as mp:  # the notebooks' kernels inherit the environment
        for key, value in env.items():
            mp.setenv(key, value)
        yield root, val
    for made in set(paths.manifests_dir().glob("ilsvrc2012-val-*")) - before:  # the val folder's subsets
        made.unlink()


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS + DRAFTS, ids=lambda p: p.stem)
def test_notebook_runs_its_paper_code_path(path, dry_run_env):
    root, val = dry_run_env
    run_notebooks.run_notebook(path, "paper", root / "notebooks")
    made = sorted((root / "figures" / "paper").glob(f"{path.stem[:2]}_*.png"))
    assert made, f"{path.name} wrote no figure to figures/paper/ in its paper profile"
    for png in made:
        prov = json.loads(png.with_suffix(".json").read_text())
        settings = prov["config"]["settings"]
        assert prov["profile"] == "paper" and settings["profile"] == "paper"
        assert settings["val_dir"] == str(val)  # the user's val folder, not the offline sample
        assert settings["pretrained"] is False  # random weights: the dry run's figures say so
    assert not (paths.project_root() / "figures" / "paper").exists() or not any(
        p.stat().st_mtime > root.stat().st_mtime
        for p in (paths.project_root() / "figures" / "paper").iterdir()
    ), "the dry run wrote into the project's figures/paper/"


def test_dry_run_settings_are_small_untrained_and_only_in_the_paper_profile(monkeypatch, tmp_path):
    monkeypatch.setenv(profiles.DRY_RUN_ENV, "1")
    monkeypatch.delenv("INVARIANCE_FIGURES", raising=False)
    with pytest.raises(ValueError, match="INVARIANCE_FIGURES"):  # never over a real figures/paper/
        profiles.settings("04_protocol_table", "paper", val_dir="/val")
    monkeypatch.setenv("INVARIANCE_FIGURES", str(tmp_path))
    s = profiles.settings("04_protocol_table", "paper", val_dir="/val")
    assert s.untrained and s.n_images == 2 and s.device == "cpu"
    assert s.models == ("vgg16", "resnet50", "densenet121", "inception_resnet_v2", "resnetblur50")
    assert "dry run" in s.describe() and "UNTRAINED" in s.describe()
    assert not profiles.settings("04_protocol_table", "default").untrained  # other profiles untouched
    monkeypatch.delenv(profiles.DRY_RUN_ENV)
    assert not profiles.settings("04_protocol_table", "paper", val_dir="/val").untrained
