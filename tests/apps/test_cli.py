"""`invariance measure`: the command line, image sets, any timm network."""

import json
import re
import shutil

import pandas as pd
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
    options += ["--overwrite", "--debug", "--remedy", "--remedy-radius"]
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
    record = cli.summary_record(first, "lite0", "sha256:x", 200)  # what the command writes, not a copy
    (out / "summary.json").write_text(json.dumps(record))
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


# --- misuse and concurrent runs (issue 29) -----------------------------------------------------------------


def _command(out, *extra):
    return ["measure", "--model", "lite0", "--n", "2", "--steps", "1", "--out", str(out), *extra]


def test_the_same_command_again_reruns_and_resumes_into_its_own_out(tmp_path, monkeypatch, capsys):
    """Item 3: summary.json holds the settings under "config" while check_out read "settings", so the same
    command into its own --out was always refused, and so was the rerun of an interrupted command."""
    out = tmp_path / "out"
    assert cli.main(_command(out)) == 0
    assert cli.main(_command(out)) == 0, capsys.readouterr().err  # finished: it rewrites its own results
    assert json.loads((out / "summary.json").read_text())["config"]["settings"]["model"] == "lite0"

    real = cli.files.atomic_write_csv

    def killed_at_the_summary(path, table):
        if path.name == "summary.csv":
            raise KeyboardInterrupt  # Ctrl-C during the final writes: pairs written, no summary
        real(path, table)

    fresh = tmp_path / "fresh"
    monkeypatch.setattr(cli.files, "atomic_write_csv", killed_at_the_summary)
    assert cli.main(_command(fresh)) == 130
    assert (fresh / "pairs-black.csv").exists() and not (fresh / "summary.json").exists()
    monkeypatch.setattr(cli.files, "atomic_write_csv", real)
    assert cli.main(_command(fresh)) == 0, capsys.readouterr().err
    assert (fresh / "summary.json").exists()
    assert cli.main(_command(fresh, "--steps", "2")) == 2  # another run is still refused
    assert "holds the results of another run" in capsys.readouterr().err


def _first_run(command, net, held, release) -> None:
    """A run of command that stops in the middle of measuring (a forked process: no torch work in it)."""

    def measuring(*args, **kwargs):
        held.set()
        release.wait(60)
        raise KeyboardInterrupt

    cli.models.load = lambda *args, **kwargs: net  # the parent's network: loading would run torch here
    cli.measure = measuring
    cli.main(command)


def test_a_second_run_into_an_out_in_use_is_refused(tmp_path, capsys, lite0):
    """Item 4: two runs into one --out both exited 0 and left a folder of mixed results."""
    import multiprocessing
    import os

    out = tmp_path / "out"
    ctx = multiprocessing.get_context("fork")
    held, release = ctx.Event(), ctx.Event()
    first = ctx.Process(target=_first_run, args=(_command(out, "--protocol", "crop"), lite0, held, release))
    first.start()
    try:
        assert held.wait(60)
        assert cli.main(_command(out)) == 2
        err = capsys.readouterr().err
        assert f"--out {out} is in use by another invariance run (process {first.pid} on" in err
        assert not list(out.glob("pairs-*"))
    finally:
        os.kill(first.pid, 9)  # kill -9 while it holds --out: the lock file stays, the lock does not
        first.join()
    assert cli.main(_command(out)) == 0, capsys.readouterr().err


def test_figures_runs_wrote_are_never_read_as_inputs(tmp_path, caplog):
    """Item 5: with --images . and the default --out inside it, the next run measured its own chart."""
    src = sorted((paths.find_data("ilsvrc2012-val-227") / "images").iterdir())[:2]
    photos = tmp_path / "photos"
    photos.mkdir()
    for k, p in enumerate(src):
        shutil.copy(p, photos / f"photo{k}.jpg")
    command = _command(photos / "results", "--images", str(photos), "--n", "0", "--figure")
    assert cli.main(command) == 0 and (photos / "results" / "summary.png").exists()
    with caplog.at_level("WARNING", logger="invariance.apps.cli"):
        assert cli.main(command) == 0
    assert json.loads((photos / "results" / "summary.json").read_text())["config"]["images"] == 2
    assert "Not reading 1 figures that invariance runs wrote" in caplog.text
    # another run's --out inside the folder (found by its run record), and --out the image folder itself
    assert [i.id for i in cli.load_image_set(str(photos), None, 0, out=tmp_path / "x")] == [
        "photo0",
        "photo1",
    ]
    shutil.copy(photos / "results" / "summary.png", photos / "summary.png")
    assert [i.id for i in cli.load_image_set(str(photos), None, 0, out=photos)] == ["photo0", "photo1"]


@pytest.mark.parametrize("mode", ["folder", "glob"])
def test_each_file_is_measured_once_whatever_the_symlinks(tmp_path, mode):
    """Item 7: a `loop -> .` link made a glob measure one image 41 times; folder mode skipped symlinked
    sub-folders. Both now follow symlinked folders and files, and read each real file once."""
    src = sorted((paths.find_data("ilsvrc2012-val-227") / "images").iterdir())[:3]
    top, elsewhere = tmp_path / "set", tmp_path / "elsewhere"
    (top / "sub").mkdir(parents=True)
    elsewhere.mkdir()
    shutil.copy(src[0], top / "a.jpg")
    shutil.copy(src[1], top / "sub" / "b.jpg")
    shutil.copy(src[2], elsewhere / "c.jpg")
    (top / "loop").symlink_to(top)  # loop -> .
    (top / "sub" / "up").symlink_to(top)  # a loop one level down
    (top / "linked").symlink_to(elsewhere)  # a symlinked sub-folder: followed
    (top / "alias.jpg").symlink_to(top / "a.jpg")  # a second name for a.jpg: read once
    spec = str(top) if mode == "folder" else str(top / "**" / "*.jpg")
    images = cli.load_image_set(spec, None, 0)
    assert sorted(i.id for i in images) == ["a", "b", "c"]
    assert len({i.digest for i in images}) == 3


def test_crop_steps_beyond_its_margin_are_refused_in_command_line_terms(capsys):
    assert cli.main(["measure", "--model", "lite0", "--steps", "11", "--protocol", "crop"]) == 2
    assert "--protocol crop takes at most --steps 10" in capsys.readouterr().err
    cli.check_protocol_steps(["black"], 11)  # other protocols are bounded by the canvas only


def test_a_remedy_applies_to_the_measured_network_and_is_part_of_the_runs_settings(tmp_path, capsys):
    """--remedy select: the summary is the wrapped network's (the library's numbers for it), its label says
    so, and the same --out with another remedy is another run."""
    out = tmp_path / "out"
    argv = [
        "measure",
        "--model",
        "lite0",
        "--images",
        "sample",
        "--n",
        "2",
        "--steps",
        "1",
        "--protocol",
        "crop",
    ]
    assert cli.main([*argv, "--remedy", "select", "--remedy-radius", "8", "--out", str(out)]) == 0
    record = json.loads((out / "summary.json").read_text())
    assert record["config"]["model"] == "lite0+select-r8"
    from invariance.runner import evaluate, inference
    from invariance.sources import datasets

    net = inference.with_remedy(models.load("lite0"), "select", radius=8)
    table = evaluate.run(net, protocols.table1_protocols(steps=1)["crop"], datasets.load_sample(2, 0))
    got = pd.read_csv(out / "pairs-crop.csv")
    assert got.top1_a.tolist() == table.top1_a.tolist() and got.top1_b.tolist() == table.top1_b.tolist()
    capsys.readouterr()
    assert cli.main([*argv, "--remedy", "average", "--remedy-radius", "8", "--out", str(out)]) == 2
    assert "holds the results of another run" in capsys.readouterr().err
    assert cli.main([*argv, "--remedy-radius", "8", "--out", str(tmp_path / "o2")]) == 2
    assert "--remedy-radius needs --remedy" in capsys.readouterr().err
    assert (
        cli.main([*argv, "--remedy", "select", "--remedy-radius", "200", "--out", str(tmp_path / "o3")]) == 2
    )
    assert "radius 200 leaves" in capsys.readouterr().err
