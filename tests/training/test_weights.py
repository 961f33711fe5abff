"""The shipped-weights machinery (issue 33): a run interrupted and resumed gives the same bits as one that
never stopped; the digest check refuses a changed or missing file naming `make weights`; half precision keeps
top-1 (and the check can see a change); the manifest round-trips; `make weights` skips finished networks."""

from __future__ import annotations

import json

import pytest
import torch
from invariance.apps import weights as app
from invariance.kernels import polyphase
from invariance.sources.cifar import Split
from invariance.training import catalogue
from invariance.training import recipe as R
from invariance.training import weights as W
from invariance.training.placement import PlacementDistribution


def synthetic(n: int = 96, seed: int = 0) -> Split:
    """n random 32x32 uint8 images whose class is readable from their mean colour (so a few steps learn)."""
    g = torch.Generator().manual_seed(seed)
    labels = torch.arange(n) % 10
    images = torch.randint(0, 80, (n, 3, 32, 32), generator=g, dtype=torch.uint8)
    images[:, 0] += (labels * 17).to(torch.uint8)[:, None, None]
    return Split("train", images, labels, f"synthetic-{seed}")


TINY = R.Recipe(net=R.Net(widths=(4, 8), depth=1), epochs=2.0, batch_size=16)  # 6 steps per epoch


def tiny(**changes: object) -> R.Recipe:
    return R.Recipe(**{**TINY.__dict__, **changes})


def same_state(a: torch.nn.Module, b: torch.nn.Module) -> bool:
    sa, sb = a.state_dict(), b.state_dict()
    return sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)


@pytest.mark.parametrize(
    "recipe",
    [
        tiny(),
        tiny(net=R.Net(widths=(4, 8), depth=2, downsampling="aps", padding="circular"), seed=3),
        tiny(
            net=R.Net(widths=(4, 8), downsampling="blurpool"), placement=PlacementDistribution("gaussian", 48)
        ),
    ],
    ids=["stride", "aps-circular", "blurpool-canvas"],
)
@pytest.mark.parametrize("precision", ["fp32", "bf16"])
def test_an_interrupted_run_resumes_to_the_same_weights(tmp_path, recipe, precision):
    data = synthetic()
    whole = R.train(
        recipe, data, tmp_path / "whole.pt", precision=precision, checkpoint_every=2, progress=False
    )
    checkpoint = tmp_path / "ckpt.pt"
    # killed after step 5: the last checkpoint is step 4, so one step is recomputed on resuming
    assert R.train(recipe, data, checkpoint, precision=precision, checkpoint_every=2, stop_after=5) is None
    assert torch.load(checkpoint, weights_only=True)["step"] == 4
    resumed = R.train(recipe, data, checkpoint, precision=precision, checkpoint_every=2, progress=False)
    assert same_state(whole.model, resumed.model)
    assert resumed.losses == whole.losses and len(whole.losses) == recipe.total_steps(len(data))
    # and training changed the network (the comparison is not between two untrained copies)
    assert not same_state(whole.model, R.fresh(recipe, data).eval())


def test_a_checkpoint_of_another_configuration_is_refused(tmp_path):
    data, checkpoint = synthetic(), tmp_path / "ckpt.pt"
    R.train(TINY, data, checkpoint, precision="fp32", checkpoint_every=2, stop_after=3)
    with pytest.raises(ValueError, match="another configuration"):
        R.train(tiny(seed=1), data, checkpoint, precision="fp32", progress=False)
    with pytest.raises(ValueError, match="another configuration or precision"):
        R.train(TINY, data, checkpoint, precision="bf16", progress=False)


def test_batches_are_a_function_of_the_step():
    data, recipe = synthetic(), tiny(epochs=3.0)
    flips = R.flip_mask(recipe, len(data))
    x1, y1 = R.training_batch(recipe, data, flips, 7)
    x2, y2 = R.training_batch(recipe, data, flips, 7)
    assert torch.equal(x1, x2) and torch.equal(y1, y2)
    # one epoch later the same position in the epoch holds other images, flipped the other way round
    assert not torch.equal(R.training_batch(recipe, data, flips, 7 + 6)[0], x1)


def test_alternating_flips_flip_every_image_every_other_epoch():
    data, recipe = synthetic(), tiny(translate=0)
    flips = R.flip_mask(recipe, len(data))
    x0, _ = R.training_batch(recipe, data, flips, 0)
    order = torch.randperm(len(data), generator=R._generator(recipe.seed, 2, 0))[:16]
    plain = data.images[order].float() / 255
    expected = torch.where(flips[order][:, None, None, None], plain.flip(-1), plain)
    assert torch.equal(x0, expected)


def test_translate_moves_each_image_within_its_reflect_padding():
    x = torch.rand(5, 3, 8, 8)
    out = R.translate(x, 2, torch.Generator().manual_seed(0))
    padded = torch.nn.functional.pad(x, (2, 2, 2, 2), mode="reflect")
    for k in range(5):
        assert any(
            torch.equal(out[k], padded[k, :, i : i + 8, j : j + 8]) for i in range(5) for j in range(5)
        )


def test_aps_with_circular_padding_is_invariant_to_circular_shifts_and_stride_is_not():
    data = synthetic()
    x = data.images[:4].float() / 255
    change, scale = {}, {}
    for name, net in (("aps", R.Net(downsampling="aps", padding="circular")), ("stride", R.Net())):
        torch.manual_seed(0)
        model = R.make_network(net).eval()
        R.init_whitening(model.whiten, data.images)
        # random weights of unit gain (the dirac init and the 1/9 scale give near-zero logits)
        for m in model.modules():
            if isinstance(m, R.Conv | torch.nn.Linear):
                torch.nn.init.kaiming_normal_(m.weight)
        with torch.no_grad():
            base = model(x)
            scale[name] = base.abs().max().item()
            change[name] = max(
                (model(torch.roll(x, (dy, dx), dims=(-2, -1))) - base).abs().max().item()
                for dy, dx in ((1, 0), (0, 3), (5, 7))
            )
    assert change["aps"] <= 1e-5 * scale["aps"]
    assert change["stride"] > 1e-2 * scale["stride"]


def test_whitening_whitens_the_patches():
    data = synthetic(200)
    layer = R.Whitening(2, "zeros")
    R.init_whitening(layer, data.images)
    x = R.Normalize()(data.images.float() / 255)  # what the whitening sees in the network
    out = R.patches(x, 2).flatten(1).double() @ layer.weight[:12].flatten(1).T.double()
    moments = out.T @ out / len(out)  # uncentred, as airbench's whitening
    # unit second moments (eps = 5e-4 damps them by at most a few per mille here), uncorrelated
    assert torch.allclose(moments, torch.eye(12, dtype=torch.float64), atol=0.01)
    assert torch.allclose(layer.weight[12:], -layer.weight[:12])


# --- shipping ------------------------------------------------------------------------------------------


@pytest.fixture
def shipped(tmp_path):
    """A tiny trained network saved as weights/<name>.safetensors with its manifest entry."""
    run = R.train(TINY, synthetic(), precision="fp32", progress=False)
    entry = {"config": W.recipe_record(TINY), "config_id": W.identity(TINY), "test_accuracy": {"test": 0.5}}
    W.save("tiny-seed0", run.model, entry, half=True, folder=tmp_path)
    return run, tmp_path


def test_the_manifest_round_trips(shipped):
    run, folder = shipped
    manifest = json.loads((folder / W.MANIFEST).read_text())
    assert manifest["format"] == W.FORMAT
    record = manifest["networks"]["tiny-seed0"]
    assert W.recipe_from_record(record["config"]) == TINY
    assert record["sha256"] and record["bytes"] == (folder / "tiny-seed0.safetensors").stat().st_size
    model, recipe = W.load("tiny-seed0", folder)
    assert recipe == TINY
    expected = W.float_state(W.half_state(run.model.state_dict()))
    assert all(torch.equal(v, expected[k]) for k, v in model.state_dict().items())
    assert model.g0b0_conv.weight.dtype == torch.float32
    # 1-D tensors (BatchNorm statistics) are kept in float32, bit for bit
    assert torch.equal(model.g0b0_norm.running_var, run.model.g0b0_norm.running_var)


def test_the_digest_check_refuses_a_changed_file(shipped):
    _, folder = shipped
    path = folder / "tiny-seed0.safetensors"
    data = bytearray(path.read_bytes())
    data[-3] ^= 1  # one bit in the last tensor: the file still parses
    path.write_bytes(bytes(data))
    with pytest.raises(W.WeightsError, match="damaged or changed.*make weights"):
        W.load("tiny-seed0", folder)


def test_a_missing_file_or_entry_names_make_weights(shipped):
    _, folder = shipped
    with pytest.raises(W.WeightsError, match="No network 'other'.*make weights"):
        W.load("other", folder)
    (folder / "tiny-seed0.safetensors").unlink()
    with pytest.raises(W.WeightsError, match="missing.*make weights"):
        W.load("tiny-seed0", folder)


def test_load_seeds_loads_the_shipped_seeds_with_their_entries(shipped):
    run, folder = shipped
    [(k, name, model, record)] = W.load_seeds("tiny", "tiny", None, (0, 1), folder)  # seed 1 never shipped
    assert (k, name) == (0, "tiny-seed0") and record == W.entry("tiny-seed0", folder)
    assert same_state(model, W.load("tiny-seed0", folder)[0]) and not model.training
    with pytest.raises(W.WeightsError, match="No network 'tiny-seed1'.*make weights"):
        W.load_seeds("tiny", "tiny", [1], (0, 1), folder)
    with pytest.raises(W.WeightsError, match="No shipped network of variant 'other'.*make weights"):
        W.load_seeds("other", "other", None, (0, 1), folder)


def test_make_figures_verifies_every_shipped_digest_before_any_notebook(shipped, monkeypatch, capsys):
    from invariance.apps import run_notebooks

    _, folder = shipped
    monkeypatch.setenv(W.WEIGHTS_ENV, str(folder))
    assert W.verify_all() == ["tiny-seed0"]
    path = folder / "tiny-seed0.safetensors"
    data = bytearray(path.read_bytes())
    data[-3] ^= 1
    path.write_bytes(bytes(data))
    ran = []
    monkeypatch.setattr(run_notebooks, "run_notebook", lambda *a, **k: ran.append(a) or 0.0)
    with pytest.raises(SystemExit) as stop:
        run_notebooks.main(["--profile", "default", "--only", "04"])
    err = capsys.readouterr().err
    assert stop.value.code == 2 and not ran
    assert "damaged or changed" in err and "make weights" in err


def test_half_precision_keeps_top1_on_a_small_test_batch():
    data = synthetic()
    run = R.train(TINY, data, precision="fp32", progress=False)
    test = synthetic(64, seed=1)

    def predict(model):
        return {"test": R.logits(model, test.images).argmax(1)}

    before = {k: v.clone() for k, v in run.model.state_dict().items()}
    assert W.half_changes(run.model, predict) == {"test": 0}
    assert same_state_dict(run.model.state_dict(), before)  # the check restores the weights


def same_state_dict(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_the_half_precision_check_sees_a_top1_change():
    # two classes whose logits differ only by 1e-4 in a weight: float16 (11 bits) rounds the difference away,
    # the tie goes to class 0 and the top-1 changes
    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(1, 2, bias=False))
    model[1].weight.data = torch.tensor([[1.0], [1.0001]])
    x = torch.ones(1, 1)
    assert W.half_changes(model, lambda m: {"x": m(x).argmax(1)}) == {"x": 1}


# --- the catalogue and `make weights` ------------------------------------------------------------------


def test_the_canvas_has_three_zones_as_the_issue_asks():
    zones = catalogue.zone_offsets(catalogue.CANVAS)
    c, s, sigma = catalogue.CANVAS.centre, catalogue.CANVAS.size, catalogue.CANVAS.sigma
    assert all(
        abs(d - c) > 3 * sigma and s <= d <= catalogue.CANVAS.canvas - 2 * s
        for d in zones["atypical-interior"]
    )
    assert zones["atypical-interior"] and zones["typical"] and zones["border"]
    assert sorted(sum(zones.values(), [])) == list(range(catalogue.CANVAS.max_offset + 1))
    with pytest.raises(ValueError, match="no atypical-interior"):
        catalogue.zone_offsets(PlacementDistribution("gaussian", 120))


def test_the_catalogue_names_are_unique_and_cheapest_groups_come_first():
    nets = catalogue.networks()
    assert len({n.name for n in nets}) == len(nets)
    groups = [n.group for n in nets]
    assert groups == sorted(groups, key=["c10", "depth", "canvas"].index)
    assert sum(n.group == "c10" and n.name.startswith("c10-stride") for n in nets) >= 3


def test_make_weights_trains_writes_and_then_skips(tmp_path, monkeypatch, capsys):
    nets = [
        catalogue.Network("tiny-seed0", "c10", TINY, ("c10", "stride")),
        catalogue.Network(
            "tiny-canvas-seed0",
            "canvas",
            tiny(placement=PlacementDistribution("gaussian", 48)),
            ("canvas", "stride"),
        ),
    ]
    monkeypatch.setattr(catalogue, "networks", lambda: nets)
    monkeypatch.setattr(
        app.cifar, "load", lambda split: synthetic(96 if split == "train" else 40, seed=int(split == "test"))
    )
    monkeypatch.setattr(
        catalogue, "zone_offsets", lambda p: {"typical": [8], "atypical-interior": [2], "border": [0]}
    )
    monkeypatch.setenv(W.WEIGHTS_ENV, str(tmp_path / "weights"))
    monkeypatch.setenv(W.WORK_ENV, str(tmp_path / "work"))
    assert app.main(["--precision", "fp32", "--checkpoint-every", "4"]) == 0
    manifest = W.read_manifest()["networks"]
    assert set(manifest) == {"tiny-seed0", "tiny-canvas-seed0"}
    assert set(manifest["tiny-canvas-seed0"]["test_accuracy"]) == set(catalogue.ZONES)
    assert manifest["tiny-seed0"]["loss_curve"]["mean_loss"]
    assert not any((tmp_path / "work").glob("tiny-*"))  # finished networks leave no checkpoint
    capsys.readouterr()
    app.main(["--precision", "fp32"])
    assert capsys.readouterr().out.count("done (in the manifest, digest verified)") == 2
    (tmp_path / "weights" / "tiny-seed0.safetensors").write_bytes(b"damaged")
    app.main(["--precision", "fp32", "--only", "tiny-seed0"])
    assert "tiny-seed0: training (damaged, " in capsys.readouterr().out
    W.load("tiny-seed0")


def test_circular_conv_and_aps_layers_compute_what_torch_and_polyphase_do():
    x = torch.randn(2, 4, 8, 8).contiguous(memory_format=torch.channels_last)
    conv = R.Conv(4, 6, 2, "circular")
    reference = torch.nn.Conv2d(4, 6, 3, 2, 1, bias=False, padding_mode="circular")
    reference.weight.data = conv.weight.data
    assert torch.allclose(conv(x), reference(x), atol=1e-6)
    assert torch.equal(R.APS(2)(x), polyphase.aps_downsample(x))
    x.requires_grad_()
    R.APS(2)(x).sum().backward()
    assert x.grad.is_contiguous(memory_format=torch.channels_last)


def test_a_resumed_network_keeps_its_checkpoints_thread_count(tmp_path, monkeypatch):
    monkeypatch.setenv(W.WORK_ENV, str(tmp_path))
    net = catalogue.Network("tiny-seed0", "c10", TINY, ("c10", "stride"))
    assert app.threads_for(net, "fp32", 3) == 3 and app.status(net, "fp32", tmp_path) == "pending"
    folder = app.work_folder(net, "fp32")
    folder.mkdir(parents=True)
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        R.train(
            TINY, synthetic(), folder / "checkpoint.pt", precision="fp32", checkpoint_every=2, stop_after=3
        )
    finally:
        torch.set_num_threads(before)
    assert app.threads_for(net, "fp32", 3) == 1
    assert app.status(net, "fp32", tmp_path) == "step 2"


def test_the_shipped_weights_fit_the_40_mb_allowance():
    # what is shipped now, and what the whole catalogue will be in float32 (half precision only where it
    # changes no test top-1, so float32 is the bound); the per-network allowance covers each shipped file's
    # header and its manifest entry
    folder = W.weights_dir()
    assert sum(f.stat().st_size for f in folder.iterdir() if f.is_file()) <= catalogue.SHIPPED_LIMIT_BYTES
    networks = catalogue.by_name()
    for name, entry in W.read_manifest(folder)["networks"].items():
        state = R.make_network(networks[name].recipe.net).state_dict()
        tensors = sum(4 * t.numel() for t in state.values())
        used = (folder / f"{name}.safetensors").stat().st_size - tensors + len(json.dumps(entry))
        assert used <= catalogue._HEADER_BYTES, name
    assert catalogue.projected_bytes() <= catalogue.SHIPPED_LIMIT_BYTES
