"""Data discovery, manifests and the download path (on local file URLs)."""

import hashlib
import threading
import zipfile

import pytest
from invariance.core import paths
from invariance.sources import datasets
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
    with pytest.raises(datasets.ChecksumError, match="not the recorded sample"):
        datasets.fetch_sample(dest, url=archive.as_uri())  # checked against the real sample's digest
    assert not (dest / datasets.SAMPLE_NAME).exists()
    out = datasets.fetch_sample(dest, url=archive.as_uri(), content_sha256=datasets.folder_digest(src))
    assert sorted(p.name for p in out.iterdir()) == [
        "n01440764_tench.JPEG",
        "n01443537_goldfish.JPEG",
    ]
    assert [e.label for e in datasets.sample_entries(out)] == [0, 1]
    meta = tmp_path / "meta"
    meta.mkdir()
    for name in datasets.BOXES_FILES:
        (meta / name).write_text(f"{name}\n")
    with pytest.raises(datasets.ChecksumError, match="expected c4a99"):
        datasets.fetch_boxes(dest, base_url=meta.as_uri() + "/")
    assert not list((dest / datasets.BOXES_NAME).glob("*"))  # nothing written
    own = {name: hashlib.sha256(f"{name}\n".encode()).hexdigest() for name in datasets.BOXES_FILES}
    boxes = datasets.fetch_boxes(dest, base_url=meta.as_uri() + "/", sha256=own)
    assert (boxes / "localization.txt").read_text() == "localization.txt\n"
    with pytest.raises(OSError, match="Download of"):
        datasets.fetch_boxes(dest, base_url=(tmp_path / "missing").as_uri() + "/")


def test_recorded_digests_match_the_shared_copies():
    boxes = paths.find_data(datasets.BOXES_NAME)
    for name, digest in datasets.BOXES_SHA256.items():
        assert paths.file_sha256(boxes / name) == digest
    assert datasets.folder_digest(paths.find_data(datasets.SAMPLE_NAME)) == datasets.SAMPLE_CONTENT_SHA256


def test_manifests_refuse_n_below_one_and_paths_outside_the_root(sample_entries, tmp_path, monkeypatch):
    """Issue 10, item 3: n=0 meant "all" (and wrote an empty manifest); manifests could point anywhere."""
    monkeypatch.setenv("INVARIANCE_ROOT", str(tmp_path))
    root = sample_entries[0].path.parent
    for n in (0, -3):
        with pytest.raises(ValueError, match="positive number"):
            datasets.manifest("imagenet-sample", sample_entries, root, n, 0)
    bad = tmp_path / "data" / "manifests" / "imagenet-sample-n2-seed0.csv"
    bad.parent.mkdir(parents=True)
    bad.write_text("id,file,label\nx,../../etc/passwd,0\n")
    with pytest.raises(ValueError, match="points outside"):
        datasets.manifest("imagenet-sample", sample_entries, root, 2, 0)


def test_val_manifests_are_tied_to_their_folder(tmp_path, monkeypatch):
    """Issue 10, item 3: a second folder with the same n and seed reused the first folder's list."""
    monkeypatch.setenv("INVARIANCE_ROOT", str(tmp_path))
    labels = tmp_path / "labels.txt"
    lines = []
    for folder, first in (("one", 1), ("two", 5)):
        for i in range(first, first + 3):
            _jpeg(tmp_path / folder / f"ILSVRC2012_val_{i:08d}.JPEG", (i, i, i))
            lines.append(f"val/ILSVRC2012_val_{i:08d}.JPEG,{i}")
    labels.write_text("\n".join(lines) + "\n")
    monkeypatch.setattr(datasets.paths, "find_data", lambda name: tmp_path)
    (tmp_path / "class_labels.txt").write_text(labels.read_text())
    one = datasets.load_val(tmp_path / "one", 2)
    two = datasets.load_val(tmp_path / "two", 2)
    assert {i.label for i in one} <= {1, 2, 3} and {i.label for i in two} <= {5, 6, 7}
    _jpeg(tmp_path / "one" / "ILSVRC2012_val_00000005.JPEG")  # the folder grows: a new manifest
    assert len(list((tmp_path / "data" / "manifests").glob("ilsvrc2012-val-*"))) == 2


def test_concurrent_manifest_writes_do_not_collide(sample_entries, tmp_path, monkeypatch):
    """Issue 10, item 12: a fixed temporary name made 40 of 6,000 concurrent calls fail."""
    monkeypatch.setenv("INVARIANCE_ROOT", str(tmp_path))
    root = sample_entries[0].path.parent
    errors = []

    def write():
        try:
            for _ in range(25):
                datasets.write_manifest(sample_entries[:5], tmp_path / "m.csv", root)
        except Exception as e:  # pragma: no cover - the failure being tested for
            errors.append(e)

    threads = [threading.Thread(target=write) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and len(datasets.read_manifest(tmp_path / "m.csv", root)) == 5


def test_val227_is_found_labelled_and_matches_its_recorded_digest():
    root = paths.find_data(datasets.VAL227_NAME)
    entries = datasets.val227_entries()
    assert len(entries) == 1300 and entries[0].id == "ILSVRC2012_val_00000347" and entries[0].label == 472
    assert datasets.sha256sum_digest(root / "images") == datasets.VAL227_CONTENT_SHA256
    # the labels agree with the val boxes' class labels (the public source of truth)
    boxes = paths.find_data(datasets.BOXES_NAME) / "class_labels.txt"
    truth = {line.split(",")[0].split("/")[-1]: int(line.split(",")[1]) for line in boxes.read_text().split()}
    assert all(truth[e.path.name] == e.label for e in entries)


def test_fetch_val227_from_a_file_url(tmp_path):
    src = tmp_path / "src"
    names = ["ILSVRC2012_val_00000001.JPEG", "ILSVRC2012_val_00000002.JPEG"]
    for i, name in enumerate(names):
        _jpeg(src / "data" / name, color=(i, i, i))
    (src / "dataset.txt").write_text(f"./data/{names[0]}, 65\n./data/{names[1]}, 970\n")
    dest = tmp_path / "data"
    with pytest.raises(datasets.ChecksumError, match="not the recorded set"):
        datasets.fetch_val227(dest, base_url=src.as_uri() + "/")  # checked against the real set's digest
    assert not (dest / datasets.VAL227_NAME).exists()
    digest = datasets.sha256sum_digest(src / "data")
    out = datasets.fetch_val227(dest, base_url=src.as_uri() + "/", content_sha256=digest)
    assert (out / "labels.txt").read_text() == f"{names[0]},65\n{names[1]},970\n"
    assert [(e.id, e.label) for e in datasets.val227_entries(out)] == [
        (n[:-5], lab) for n, lab in zip(names, (65, 970), strict=True)
    ]
    (src / "dataset.txt").write_text("not a listing\n")
    with pytest.raises(ValueError, match="unexpected line"):
        datasets.fetch_val227(tmp_path / "other", base_url=src.as_uri() + "/", content_sha256=None)
