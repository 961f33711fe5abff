"""The small CNNs and their training loop: architectures, schedule, seeding, resuming, caching (the batched
paste they use is tested in test_transforms, the data in test_cifar)."""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pytest
import torch
from invariance.claims import remedies
from invariance.runner import cache
from invariance.sources.cifar import Split
from invariance.training import cnn as training
from invariance.training.placement import PlacementDistribution

TINY = training.Architecture(widths=(8, 16, 16))
CIFAR_SHA256 = "cb8258abc78cae53ea0cf518d9a7d0f3c63e785f9946a43684d5ce6ebc6835e3"  # the shared archive


def tiny_config(**kw) -> training.TrainConfig:
    base = {"arch": TINY, "steps": 12, "batch_size": 32, "lr": 0.05, "checkpoint_every": 4}
    return training.TrainConfig(**{**base, **kw})


# --- networks --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("downsampling, stride", [("stride", 8), ("blurpool", 8), ("aps", 8), ("none", 1)])
def test_architectures(downsampling, stride):
    arch = training.Architecture(widths=(4, 8, 8, 8), downsampling=downsampling)
    net = training.make_network(arch)
    assert net(torch.rand(2, 3, 64, 64)).shape == (2, 10)
    features = net[:-3](torch.rand(1, 3, 64, 64))  # before global pooling
    assert features.shape[-1] == 64 // stride
    has_blur = any(type(m).__name__ == "BlurPool2d" for m in net.modules())
    assert has_blur == (downsampling == "blurpool")
    with pytest.raises(ValueError, match="downsampling"):
        training.Architecture(downsampling="maxpool")
    with pytest.raises(ValueError, match="padding"):
        training.Architecture(padding="reflect")


def test_circular_padding_gets_its_own_cache_key_and_zero_padding_keeps_the_old_one(small_train):
    zeros, circular = tiny_config(), tiny_config(arch=training.Architecture((8, 16, 16), padding="circular"))
    assert circular.name.endswith("stride-circular-seed0") and zeros.name.endswith("stride-seed0")
    assert training.cache_folder(zeros, small_train) != training.cache_folder(circular, small_train)
    # a zero-padded network keeps the key it had before padding was a field, so 09's cached weights stay
    # valid: the folder of 09's photographer network (seed 0) as the code at 7a4b8be named it, but under
    # KERNEL_VERSION 2 (the pair table's margin column, session 13), which renamed every cache folder
    cifar_train = Split("train", torch.zeros(0, 3, 32, 32, dtype=torch.uint8), torch.zeros(0), CIFAR_SHA256)
    cfg = remedies.variant_config("photographer", steps=600, seed=0)
    assert training.cache_folder(cfg, cifar_train).name == "train-gaussian-stride-seed0-799ef98360fc"


def test_lr_schedule_warms_up_then_decays_to_zero():
    f = [training.lr_factor(s, 8) for s in range(8)]
    assert f[:2] == [0.5, 1.0] and f[-1] < f[2] and all(0 < v <= 1 for v in f)
    assert training.lr_factor(0, 1) == 1.0  # a one-step run still trains


# --- training loop ---------------------------------------------------------------------------------------


def test_a_few_steps_reduce_the_loss(small_train):
    run = training.train(
        tiny_config(steps=40, placement=PlacementDistribution("centre")), small_train, progress=False
    )
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


def test_damaged_or_unverifiable_cached_weights_are_retrained_not_used(small_train, monkeypatch):
    cfg = tiny_config(steps=3)
    first = training.trained(cfg, small_train, progress=False)
    weights = first.folder / "weights.pt"
    good = weights.read_bytes()
    state = torch.load(weights, weights_only=True)
    largest = max(state.values(), key=lambda t: t.numel())
    at = good.find(largest.numpy().tobytes()[:64])  # where that tensor's data sits in the zip file
    assert at > 0
    damaged = bytearray(good)
    damaged[at + 1] ^= 0x10  # one flipped bit inside the tensor data: torch.load still accepts it
    weights.write_bytes(bytes(damaged))
    torch.load(weights, weights_only=True)  # loads: only the digest can tell
    with pytest.warns(cache.DamagedCacheWarning, match="checksum mismatch for weights.pt"):
        again = training.trained(cfg, small_train, progress=False)
    assert all(torch.equal(state[k], again.model.state_dict()[k]) for k in state)  # retrained, same weights
    assert weights.read_bytes() == good
    # a cache written before the digests existed: retrained once, then trusted
    record = json.loads((first.folder / "provenance.json").read_text())
    del record["weights.pt_sha256"]
    (first.folder / "provenance.json").write_text(json.dumps(record))
    with pytest.warns(cache.DamagedCacheWarning, match="older cache format"):
        training.trained(cfg, small_train, progress=False)
    monkeypatch.setattr(training, "train", lambda *a, **k: pytest.fail("retrained a verified network"))
    training.trained(cfg, small_train, progress=False)


def test_weights_digest_names_the_weights_not_the_config(small_train):
    cached = training.trained(tiny_config(steps=3), small_train, progress=False)
    assert (
        training.weights_digest(cached)
        == hashlib.sha256((cached.folder / "weights.pt").read_bytes()).hexdigest()
    )
    a = training.train(tiny_config(steps=3), small_train, progress=False)  # no cache folder: the state dict
    b = training.train(tiny_config(steps=3, seed=1), small_train, progress=False)
    assert training.weights_digest(a) == training.weights_digest(a) != training.weights_digest(b)


def test_batches_are_canvases_with_the_objects_inside(small_train):
    cfg = tiny_config(placement=PlacementDistribution("uniform"), flip=False)
    x, y = training.batch(small_train, cfg, torch.Generator().manual_seed(0))
    assert x.shape == (32, 3, 64, 64) and y.shape == (32,)
    assert 0 <= float(x.min()) and float(x.max()) <= 1
    lit = (x.sum(1) > 0).float().sum((1, 2)).numpy()
    assert np.all(lit <= 32 * 32) and np.all(lit > 32 * 32 * 0.9)  # whole object, black elsewhere


class _Payload:
    def __reduce__(self):
        import pathlib

        return (pathlib.Path.touch, (pathlib.Path(_Payload.marker),))


def test_crafted_or_damaged_checkpoints_are_discarded_not_run(small_train, tmp_path):
    """Issue 10, items 11 and 13: checkpoints loaded with weights_only=False ran arbitrary code."""
    cfg = tiny_config(steps=6, checkpoint_every=4)
    whole = training.train(cfg, small_train, progress=False).model.state_dict()
    _Payload.marker = str(tmp_path / "pwned")
    torch.save({"model": _Payload()}, tmp_path / "checkpoint.pt")
    with pytest.warns(UserWarning, match="Discarding unreadable checkpoint"):
        run = training.train(cfg, small_train, folder=tmp_path, progress=False)
    assert not (tmp_path / "pwned").exists()  # the payload did not run
    assert all(torch.equal(whole[k], run.model.state_dict()[k]) for k in whole)  # trained from the start
    (tmp_path / "checkpoint.pt").write_bytes(b"torn")
    with pytest.warns(UserWarning, match="Discarding"):
        training.train(cfg, small_train, folder=tmp_path, progress=False)
    # a loadable checkpoint claiming a step beyond the run would have cached an untrained network
    fake = {
        "model": whole,
        "opt": {},
        "sched": {},
        "gen": torch.Generator().get_state(),
        "step": 10**6,
        "rows": [],
    }
    torch.save(fake, tmp_path / "checkpoint.pt")
    with pytest.warns(UserWarning, match="do not fit a 6-step run"):
        run = training.train(cfg, small_train, folder=tmp_path, progress=False)
    assert len(run.log) == 6 and all(torch.equal(whole[k], run.model.state_dict()[k]) for k in whole)
