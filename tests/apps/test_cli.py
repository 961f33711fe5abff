"""`invariance measure`: the command line, image sets, any timm network."""

import json
import re
import shutil

import pytest
from invariance.apps import cli
from invariance.core import paths
from invariance.kernels import metrics
from invariance.runner import protocols
from invariance.sources import models


def test_image_sets_from_a_val_folder_a_plain_folder_and_a_glob(tmp_path):
    val = cli.load_image_set("ilsvrc2012-val-227", 3, seed=0)  # labels from its labels.txt
    assert len(val) == 3 and all(img.label >= 0 for img in val) and val[0].pixels.shape[1:] == (227, 227)
    src = paths.find_data("ilsvrc2012-val-227") / "images"
    for k, p in enumerate(sorted(src.iterdir())[:3]):
        shutil.copy(p, tmp_path / f"photo{k}.jpg")
    (tmp_path / "notes.txt").write_text("not an image")
    plain = cli.load_image_set(str(tmp_path), None, seed=0)
    assert [i.id for i in plain] == ["photo0", "photo1", "photo2"] and all(i.label == -1 for i in plain)
    assert [i.id for i in cli.load_image_set(str(tmp_path / "photo[01].jpg"), None, 0)] == [
        "photo0",
        "photo1",
    ]
    with pytest.raises(FileNotFoundError, match="not 'sample', a data set"):
        cli.load_image_set("no-such-data-set", 3, 0)
    with pytest.raises(FileNotFoundError, match="no image files"):
        cli.load_image_set(str(tmp_path / "*.png"), 3, 0)


def test_help_documents_every_option(capsys):
    with pytest.raises(SystemExit):
        cli.parser().parse_args(["measure", "--help"])
    text = capsys.readouterr().out
    options = ["--model", "--weights", "--untrained", "--images", "--protocol", "--n", "--n-images"]
    options += ["--steps", "--seed", "--device", "--batch-size", "--chunk-images", "--out", "--figure"]
    options += ["--overwrite", "--debug"]
    for option in options:  # whole options: "--n" must not pass on the strength of "--n-images"
        assert re.search(rf"{re.escape(option)}(?![\w-])", text), option
    with pytest.raises(SystemExit):
        cli.parser().parse_args(["measure", "--model", "lite0", "--protocol", "sideways"])


def test_any_timm_architecture_untrained_at_its_own_input_size(few_images):
    for name, size in (("mobilenetv3_small_050", 224), ("inception_v3.tv_in1k", 299)):
        net = models.load(name, pretrained=False)
        assert net.data_config.input_size == size and net.label == f"{name} (untrained)"
        tables, summary = cli.measure(net, few_images[:1], ["black"], steps=1)
        assert len(tables["black"]) == 1 and set(summary.metric) >= {"p_top1_change", "mac"}
    with pytest.raises(models.WeightsUnavailableError, match="not in the Hugging Face cache"):
        models.load("mobilenetv3_small_050")  # offline: no cached weights, a clear message
    with pytest.raises(models.UnknownModelError, match="nor a timm architecture"):
        models.load("not_a_network_at_all")


@pytest.mark.slow
def test_measure_prints_and_writes_the_librarys_numbers(tmp_path, capsys):
    out = tmp_path / "out"
    code = cli.main(
        ["measure", "--model", "lite0", "--images", "sample", "--n", "3", "--steps", "2"]
        + ["--protocol", "black", "crop", "--out", str(out), "--figure"]
    )
    assert code == 0
    printed = capsys.readouterr().out
    summary = json.loads((out / "summary.json").read_text())["summary"]
    from invariance.runner import evaluate
    from invariance.sources import datasets

    net = models.load("lite0")
    table = evaluate.run(net, protocols.table1_protocols(steps=2)["black"], datasets.load_sample(3, 0))
    expected = metrics.summarize(table).loc["p_top1_change", "value"]
    got = next(r for r in summary if r["condition"] == "black" and r["metric"] == "p_top1_change")
    assert got["value"] == pytest.approx(expected) and f"{expected:.4f}"[:5] in printed
    assert (out / "pairs-crop.csv").exists() and (out / "summary.png").exists()


def test_files_sharing_a_name_keep_their_own_ids(tmp_path):
    """Results are per image id: a/photo.jpg and b/photo.jpg must not be merged into one image."""
    src = sorted((paths.find_data("ilsvrc2012-val-227") / "images").iterdir())[:3]
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    shutil.copy(src[0], tmp_path / "a" / "photo.jpg")
    shutil.copy(src[1], tmp_path / "b" / "photo.jpg")
    shutil.copy(src[2], tmp_path / "b" / "photo.png")  # JPEG bytes: decoded by content, named by path
    images = cli.load_image_set(str(tmp_path), None, 0)
    assert [i.id for i in images] == ["a/photo.jpg", "b/photo.jpg", "b/photo.png"]
    from invariance.runner import evaluate

    with pytest.raises(ValueError, match="image ids repeat"):
        evaluate.check_images([images[0], images[0]], 1000)


def _val_folder(tmp_path, labels: str):
    src = sorted((paths.find_data("ilsvrc2012-val-227") / "images").iterdir())[:2]
    for p in src:
        shutil.copy(p, tmp_path / p.name)
    (tmp_path / "labels.txt").write_text(labels.format(*[p.name for p in src]))
    return tmp_path


@pytest.mark.parametrize(
    ("labels", "message"),
    [
        ("{0},1\n", "1 images have no label"),
        ("{0},1\n,abc\n{1},2\n", "line 2: ',abc' is not"),
        ("{0},1\n{1},5000\n", "line 2: .*5000"),
    ],
)
def test_a_broken_labels_file_is_an_error_not_an_unlabelled_folder(tmp_path, labels, message):
    with pytest.raises(ValueError, match=message):
        cli.load_image_set(str(_val_folder(tmp_path, labels)), None, 0)


def test_class_folders_must_all_be_imagenet_classes(tmp_path):
    src = sorted((paths.find_data("ilsvrc2012-val-227") / "images").iterdir())[0]
    (tmp_path / "n01440764").mkdir()
    shutil.copy(src, tmp_path / "n01440764" / "a.jpg")
    (tmp_path / "other").mkdir()
    shutil.copy(src, tmp_path / "other" / "b.jpg")
    with pytest.raises(ValueError, match="other folders beside them: other"):
        cli.load_image_set(str(tmp_path), None, 0)
    shutil.rmtree(tmp_path / "other")
    (tmp_path / ".ipynb_checkpoints").mkdir()  # hidden folders are no classes
    (tmp_path / "n01443537").mkdir()
    shutil.copy(src, tmp_path / "n01443537" / "a.jpg")  # a name two classes share: wnid/name ids
    assert [i.id for i in cli.load_image_set(str(tmp_path), None, 0)] == [
        "n01440764/a.jpg",
        "n01443537/a.jpg",
    ]
    (tmp_path / "n99999999").mkdir()
    with pytest.raises(ValueError, match="'n99999999' is not one of the 1,000"):
        cli.load_image_set(str(tmp_path), None, 0)


def test_user_errors_are_one_line_and_exit_2(tmp_path, capsys):
    a_file = tmp_path / "results"
    a_file.write_text("not a folder")
    cases = [
        (["--out", str(a_file)], "is a file, not a folder"),
        (["--device", "gpu", "--out", str(tmp_path / "o1")], "device 'gpu' is not one of"),
        (["--images", "", "--out", str(tmp_path / "o2")], "--images is empty"),
    ]
    for extra, message in cases:
        assert cli.main(["measure", "--model", "lite0", "--n", "3", *extra]) == 2
        err = capsys.readouterr().err
        assert err.startswith("invariance: error: ") and message in err and "Traceback" not in err
    assert not (tmp_path / "o1").exists()  # nothing is created for a command that stops early
    with pytest.raises(SystemExit) as stop:
        cli.main(["measure", "--model", "lite0", "--n", "-1"])
    assert stop.value.code == 2 and "not a whole number >= 0" in capsys.readouterr().err


def test_an_interrupt_says_finished_work_is_kept(monkeypatch, capsys):
    def interrupted(args):
        raise KeyboardInterrupt

    monkeypatch.setattr(cli, "measure_command", interrupted)
    assert cli.main(["measure", "--model", "lite0"]) == 130
    assert "run the same command again to resume" in capsys.readouterr().err


def test_another_runs_results_are_not_overwritten_silently(tmp_path):
    out = tmp_path / "out"
    first = cli.parser().parse_args(
        ["measure", "--model", "lite0", "--protocol", "black", "crop", "--figure", "--out", str(out)]
    )
    assert cli.check_out(out, first) == []  # empty: fine
    settings = {k: str(v) if isinstance(v, type(out)) else v for k, v in vars(first).items()}
    (out / "summary.json").write_text(json.dumps({"settings": settings}))
    for name in ("pairs-black.csv", "pairs-crop.csv", "summary.csv", "summary.png"):
        (out / name).write_text("x")
    assert cli.check_out(out, first) == []  # the same run again: it replaces its own files
    other = cli.parser().parse_args(["measure", "--model", "lite1", "--out", str(out)])
    with pytest.raises(FileExistsError, match="holds the results of another run"):
        cli.check_out(out, other)
    again = cli.parser().parse_args(["measure", "--model", "lite1", "--out", str(out), "--overwrite"])
    stale = cli.check_out(out, again)  # deleted by the caller once the new results are written
    assert sorted(p.name for p in stale) == ["pairs-crop.csv", "summary.png"]
    assert all(p.exists() for p in stale)  # nothing is lost before the new run has finished


def test_small_sources_are_named(few_images, caplog):
    from invariance.sources.images import SourceImage

    tiny = SourceImage("tiny", -1, few_images[0].pixels[:, :20, :15])
    with caplog.at_level("WARNING", logger="invariance.apps.cli"):
        cli.warn_small([few_images[0], tiny], 224, ["black"])
    assert "1 of 2 images have a shorter side under 50 px" in caplog.text and "'tiny', 15x20" in caplog.text
    caplog.clear()
    with caplog.at_level("WARNING", logger="invariance.apps.cli"):
        cli.warn_small([few_images[0], tiny], 224, ["crop"])  # crop makes the whole canvas of the source
    assert "under 112 px, half the 224 px" in caplog.text


def test_val_files_without_any_labels_are_read_unlabelled(tmp_path, monkeypatch, caplog):
    src = sorted((paths.find_data("ilsvrc2012-val-227") / "images").iterdir())[:2]
    for p in src:
        shutil.copy(p, tmp_path / p.name)

    def nowhere(name):
        raise paths.DataNotFoundError(f"no {name}")

    monkeypatch.setattr(paths, "find_data", nowhere)  # no labels.txt and no boxes data set to label them
    with caplog.at_level("WARNING", logger="invariance.apps.cli"):
        images = cli.load_image_set(str(tmp_path), None, 0)
    assert len(images) == 2 and all(i.label == -1 for i in images) and "unlabelled" in caplog.text
