"""Data discovery, manifests and the download path (on local file URLs)."""

import zipfile

import pytest
from invariance import datasets, paths
from PIL import Image


def test_search_path_order(monkeypatch, tmp_path):
    monkeypatch.setenv("INVARIANCE_DATA", str(tmp_path))
    sp = paths.data_search_path()
    assert sp[0] == tmp_path and sp[1] == paths.project_root() / "data"
    assert sp[2] == paths.project_root().parent / "shared" / "data"
    (tmp_path / "thing").mkdir()
    assert paths.find_data("thing") == tmp_path / "thing"
    with pytest.raises(paths.DataNotFoundError, match="make data"):
        paths.find_data("no-such-dataset")


def test_sample_labels_in_sorted_wnid_order(sample_entries):
    assert len(sample_entries) == 1000
    by_id = {e.id: e.label for e in sample_entries}
    assert by_id["n01440764_tench"] == 0 and by_id["n15075141_toilet_tissue"] == 999
    assert sorted(by_id.values()) == list(range(1000))


def test_subset_and_manifest_are_seeded_and_stable(sample_entries, tmp_path, monkeypatch):
    monkeypatch.setenv("INVARIANCE_ROOT", str(tmp_path))
    root = sample_entries[0].path.parent
    a = datasets.subset(sample_entries, 10, seed=3)
    assert a == datasets.subset(sample_entries, 10, seed=3) != datasets.subset(sample_entries, 10, seed=4)
    first = datasets.manifest("imagenet-sample", sample_entries, root, 10, 3)
    assert (tmp_path / "data" / "manifests" / "imagenet-sample-n10-seed3.csv").exists()
    assert first == a == datasets.manifest("imagenet-sample", sample_entries[::-1], root, 10, 3)


def _jpeg(path, color=(9, 9, 9)):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (4, 4), color).save(path)


def test_val_folder_flat_and_wnid(tmp_path):
    flat = tmp_path / "flat"
    for i in (1, 2):
        _jpeg(flat / f"ILSVRC2012_val_{i:08d}.JPEG")
    labels = tmp_path / "labels.txt"
    labels.write_text("val/ILSVRC2012_val_00000001.JPEG,65\nval/ILSVRC2012_val_00000002.JPEG,970\n")
    assert [e.label for e in datasets.val_entries(flat, labels)] == [65, 970]
    nested = tmp_path / "nested"
    _jpeg(nested / "n01440764" / "a.JPEG")
    _jpeg(nested / "n01443537" / "b.JPEG")
    assert [(e.id, e.label) for e in datasets.val_entries(nested)] == [("a", 0), ("b", 1)]
    with pytest.raises(FileNotFoundError, match="neither"):
        datasets.val_entries(tmp_path)


def test_fetch_sample_and_boxes_from_file_urls(tmp_path):
    archive = tmp_path / "sample.zip"
    src = tmp_path / "src"
    _jpeg(src / "n01440764_tench.JPEG")
    _jpeg(src / "n01443537_goldfish.JPEG")
    with zipfile.ZipFile(archive, "w") as z:
        for p in src.iterdir():
            z.write(p, f"imagenet-sample-images-abc/{p.name}")
        z.writestr("imagenet-sample-images-abc/README.md", "hi")
    dest = tmp_path / "data"
    out = datasets.fetch_sample(dest, url=archive.as_uri())
    assert sorted(p.name for p in out.iterdir()) == [
        "n01440764_tench.JPEG",
        "n01443537_goldfish.JPEG",
    ]
    assert [e.label for e in datasets.sample_entries(out)] == [0, 1]
    meta = tmp_path / "meta"
    meta.mkdir()
    for name in datasets.BOXES_FILES:
        (meta / name).write_text(f"{name}\n")
    boxes = datasets.fetch_boxes(dest, base_url=meta.as_uri() + "/")
    assert (boxes / "localization.txt").read_text() == "localization.txt\n"
    with pytest.raises(OSError, match="Download of"):
        datasets.fetch_boxes(dest, base_url=(tmp_path / "missing").as_uri() + "/")
