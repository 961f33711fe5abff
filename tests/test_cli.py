"""`invariance measure`: the command line, image sets, any timm network."""

import json
import re
import shutil

import pytest
from invariance import cli, metrics, models, paths, protocols


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
    from invariance import datasets, evaluate

    net = models.load("lite0")
    table = evaluate.run(net, protocols.table1_protocols(steps=2)["black"], datasets.load_sample(3, 0))
    expected = metrics.summarize(table).loc["p_top1_change", "value"]
    got = next(r for r in summary if r["condition"] == "black" and r["metric"] == "p_top1_change")
    assert got["value"] == pytest.approx(expected) and f"{expected:.4f}"[:5] in printed
    assert (out / "pairs-crop.csv").exists() and (out / "summary.png").exists()
