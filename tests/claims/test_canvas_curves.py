"""Notebook 09's views around the verdicts (canvas_curves): the zones as runs along the diagonal, the training
distributions against their own sampler, the loss-curve reader on a hand-made manifest, the path and size
frames against a naive paste, the curve and size tables on hand-made pair tables, and the sentences and
figures (numbers from the sidecar values, UNTRAINED marked)."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
import torch
from invariance.claims import canvas_curves as V
from invariance.claims import canvas_remedies as C
from invariance.kernels.transforms import resize
from invariance.presentation.figures import tidy
from invariance.sources.cifar import Split
from invariance.training import catalogue, weights
from invariance.training.placement import PlacementDistribution

# a small canvas with all three zones (typical 13-19, atypical interior 8-12 and 20-24, border 0-7, 25-32)
SMALL = PlacementDistribution("gaussian", canvas=40, size=8, sigma=1.0)


def split(n: int, side: int, seed: int = 0) -> Split:
    g = torch.Generator().manual_seed(seed)
    images = torch.randint(1, 256, (n, 3, side, side), generator=g, dtype=torch.uint8)
    return Split("test", images, torch.arange(n) % 10, f"random-{n}-{side}-{seed}")


class Recorder(torch.nn.Module):
    """Keeps every input it sees; answers class 0."""

    def __init__(self) -> None:
        super().__init__()
        self.seen: list[torch.Tensor] = []

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.seen.append(x.clone())
        return torch.zeros(len(x), 10)


def recorder_net(variant: str = "photographer", seed: int = 0) -> C.CanvasNetwork:
    return C.CanvasNetwork(variant, seed, Recorder(), f"rec-{variant}-{seed}", f"rec-{variant}-{seed}", None)


def naive(obj: torch.Tensor, d: int, canvas: int) -> np.ndarray:
    out = np.zeros((3, canvas, canvas), np.float32)
    out[:, d : d + obj.shape[-1], d : d + obj.shape[-1]] = obj.float().div(255).numpy()
    return out


# --- geometry -----------------------------------------------------------------------------------------------


def test_zone_spans_are_the_catalogues_zones_as_runs_and_pairs_straddle_only_at_their_edges():
    spans = V.zone_spans()
    assert spans == [
        (C.BORDER, 0, 31),
        (C.ATYPICAL, 32, 33),
        (C.TYPICAL, 34, 46),
        (C.ATYPICAL, 47, 48),
        (C.BORDER, 49, 80),
    ]
    zones = catalogue.zone_offsets(catalogue.CANVAS)
    assert {
        z: sorted(d for zz, lo, hi in spans if zz == z for d in range(lo, hi + 1)) for z in zones
    } == zones
    d = np.arange(80)
    z = V.pair_zones(d)
    assert set(d[z == V.STRADDLES]) == {31, 33, 46, 48}
    inside = C.pair_offsets()
    assert all(set(d[z == zone]) == set(ds) for zone, ds in inside.items())


@pytest.mark.parametrize("kind", ["gaussian", "uniform", "centre"])
def test_placement_probabilities_match_the_training_sampler(kind):
    p = PlacementDistribution(kind, canvas=40, size=8, sigma=3.0)
    prob = V.placement_probabilities(p)
    assert prob.shape == (33,) and prob.sum() == pytest.approx(1.0)
    drawn = p.sample(200_000, torch.Generator().manual_seed(0))
    freq = np.bincount(drawn[:, 0].numpy(), minlength=33) / len(drawn)
    assert np.abs(freq - prob).max() < 0.004


def test_zone_mass_per_training_distribution():
    mass = V.zone_mass(V.training_placements()).set_index(["placement", "zone"]).mass
    assert mass[("photographer", C.TYPICAL)] > 0.998  # 34-46 holds +-3.25 sigma
    assert mass[("uniform", C.TYPICAL)] == pytest.approx(13 / 81)
    assert mass[("uniform", C.BORDER)] == pytest.approx(64 / 81)
    assert mass.groupby(level=0).sum().tolist() == pytest.approx([1.0, 1.0])


def test_example_canvases_paste_the_object_at_each_offset():
    test = split(2, 32)
    ex = V.example_canvases(test, (0, 40, 80), index=1)
    assert ex.shape == (3, 3, 112, 112) and ex.dtype == torch.uint8
    for k, d in enumerate((0, 40, 80)):
        assert np.array_equal(ex[k].float().div(255).numpy(), naive(test.images[1], d, 112))


# --- training curves ----------------------------------------------------------------------------------------


def test_loss_curves_read_the_manifest_and_skip_untrained_networks(tmp_path):
    record = {
        "steps": 25,
        "config": {"epochs": 5.0},
        "loss_curve": {"every_steps": 10, "mean_loss": [2.0, 1.5, 1.2]},
    }
    weights.write_manifest({"format": weights.FORMAT, "networks": {"canvas-uniform-seed1": record}}, tmp_path)
    trained = C.CanvasNetwork(
        "uniform", 1, torch.nn.Identity(), "canvas-uniform-seed1", "sha", {"typical": 0.8}
    )
    untrained = recorder_net()
    t = V.loss_curves([trained, untrained], tmp_path)
    assert t.step.tolist() == [10, 20, 25]  # the last window is 5 steps long
    assert t.epoch.tolist() == pytest.approx([2.0, 4.0, 5.0]) and t.loss.tolist() == [2.0, 1.5, 1.2]
    assert set(t.name) == {"canvas-uniform-seed1"}
    assert V.final_losses(t).to_dict("records") == [t.iloc[-1].to_dict()]
    assert V.loss_curves([untrained], tmp_path).empty
    with pytest.raises(weights.WeightsError, match="make weights"):
        V.loss_curves([replace(trained, name="canvas-uniform-seed2")], tmp_path)


# --- measurement --------------------------------------------------------------------------------------------


def test_the_path_visits_every_offset_once_and_pairs_consecutive_frames():
    test, net = split(3, SMALL.size), recorder_net()
    t = V.measure_path(net, test, SMALL, batch=7)  # batches cut across images and offsets
    frames = torch.cat(net.module.seen)
    assert len(frames) == 3 * 33
    for i in range(3):
        for d in range(33):
            assert np.array_equal(frames[33 * i + d].numpy(), naive(test.images[i], d, SMALL.canvas))
    assert len(t) == 3 * 32 and sorted(set(t.offset)) == list(range(32))
    assert (t.zone == V.pair_zones(t.offset, SMALL)).all() and {"variant", "seed"} <= set(t.columns)
    again = V.measure_path(recorder_net(), test, SMALL)  # another module of the same identity: the cache
    pd.testing.assert_frame_equal(t, again)


def test_sizes_are_centred_resized_objects_moved_one_pixel_at_a_time():
    test, net = split(2, 32), recorder_net()
    t = V.measure_sizes(net, test, (16, 48), steps=2, canvas=112)
    frames = torch.cat(net.module.seen)
    assert len(frames) == 2 * 2 * 3 and len(t) == 2 * 2 * 2
    k = 0
    for side in (16, 48):
        start = V.centre_start(side, 2, 112)
        assert abs((start + 1 + side / 2) - 56) <= 0.5  # the middle frame is centred on the canvas
        objects = V.resized_objects(test.images, side)
        ref = (resize(test.images.float() / 255, (side, side)) * 255).round().to(torch.uint8)
        assert torch.equal(objects, ref)
        for i in range(2):
            for step in range(3):
                assert np.array_equal(frames[k].numpy(), naive(objects[i], start + step, 112))
                k += 1
    assert set(t["size"]) == {16, 48} and set(t.step) == {0, 1}
    assert (t.offset == t["size"].map({16: V.centre_start(16, 2), 48: V.centre_start(48, 2)}) + t.step).all()
    with pytest.raises(ValueError, match="do not fit the 112px canvas"):
        V.centre_start(112, 1)


# --- tables on hand-made pair tables ------------------------------------------------------------------------


def path_pairs(changes: dict[tuple[str, int], int], n: int = 10, seeds=(0, 1, 2)) -> pd.DataFrame:
    """Pairs at offsets 30-34 (zones: border, straddles, atypical, straddles, typical): per (variant, offset)
    images 0..k-1 change their top-1; image 9 is misclassified in the first frame everywhere."""
    rows = []
    for v in ("photographer", "uniform"):
        for seed in seeds:
            for d in range(30, 35):
                for i in range(n):
                    a = 2 if i == n - 1 else 1
                    rows.append(
                        {"image_id": i, "label": 1, "offset": d, "top1_a": a, "p_top_a": 0.6, "p_top_b": 0.4}
                        | {"top1_b": 3 if i < changes.get((v, d), 0) else a, "variant": v, "seed": seed}
                    )
    t = pd.DataFrame(rows)
    return t.assign(zone=V.pair_zones(t.offset))


def test_position_curves_and_zone_means_on_a_hand_made_table():
    curves = V.position_curves(path_pairs({("photographer", 32): 5, ("uniform", 34): 2}))
    c = curves.set_index(["variant", "offset"])
    assert c.loc[("photographer", 32)].p_top1_change == pytest.approx(0.5)
    assert c.loc[("photographer", 32)].mac == pytest.approx(0.2)  # |0.6 - 0.4| for every pair
    assert c.loc[("uniform", 34)].p_top1_change == pytest.approx(0.2)
    assert c.accuracy.tolist() == pytest.approx([0.9] * 10)
    assert (c.images == 10).all() and (c.seeds == 3).all()
    r = c.loc[("photographer", 32)]
    assert r.p_top1_change_low < 0.5 < r.p_top1_change_high
    assert c.loc[("photographer", 31)].zone == V.STRADDLES and c.loc[("photographer", 34)].zone == C.TYPICAL
    z = V.zone_means(curves).set_index(["variant", "zone"])
    assert V.STRADDLES not in z.index.get_level_values("zone")
    assert list(z.loc["photographer"].index) == [C.TYPICAL, C.ATYPICAL, C.BORDER]  # the catalogue's order
    assert z.loc[("photographer", C.ATYPICAL)].p_top1_change == pytest.approx(0.5)
    assert z.loc[("uniform", C.TYPICAL)].p_top1_change_max == pytest.approx(0.2)


def size_pairs_table() -> pd.DataFrame:
    rows = []
    for v, changed in (("photographer", {16: 8, 32: 6, 64: 0}), ("uniform", {16: 4, 32: 4, 64: 4})):
        for seed in (0, 1, 2):
            for side, k in changed.items():
                for i in range(10):
                    rows.append(
                        {"image_id": i, "label": 1, "top1_a": 1, "top1_b": 3 if i < k else 1, "size": side}
                        | {"variant": v, "seed": seed, "p_top_a": 0.5, "p_top_b": 0.5}
                    )
    return pd.DataFrame(rows)


def test_size_table_on_a_hand_made_table():
    t = V.size_table(size_pairs_table()).set_index(["variant", "size"])
    assert t.loc[("photographer", 16)].p_top1_change == pytest.approx(0.8)
    assert t.loc[("photographer", 64)].p_top1_change == 0 and t.loc[("uniform", 32)].accuracy == 1


# --- sentences and figures ----------------------------------------------------------------------------------


def networks(trained: bool) -> pd.DataFrame:
    return pd.DataFrame({"variant": list(C.VARIANTS), "seed": 0, "trained": trained})


def stored(values):
    return json.loads(json.dumps(tidy(values)))


def test_sentences_read_their_sidecars_and_say_untrained():
    placements = V.training_placements()
    losses = pd.DataFrame(
        [["uniform", k, f"canvas-uniform-seed{k}", 100, 0.9 + k / 10, 8.0] for k in range(3)],
        columns=["variant", "seed", "name", "step", "loss", "epoch"],
    )
    setup = {"placement": V.zone_mass(placements), "final_losses": losses, "networks": networks(True)}
    text = V.f09_setup(stored(setup))
    assert "photographer 99.88% typical" in text and "uniform 16.05% typical" in text
    assert "uniform 0.90-1.10 after 8 epochs (3 seeds)" in text and not text.startswith("UNTRAINED")
    bare = V.f09_setup(stored(setup | {"final_losses": losses.iloc[:0], "networks": networks(False)}))
    assert bare.startswith("UNTRAINED networks") and "No training curves" in bare

    curves = V.position_curves(path_pairs({("photographer", 32): 5}))
    pos = V.f09_positions(
        stored({"curves": curves, "zone_means": V.zone_means(curves), "networks": networks(False)})
    )
    assert pos.startswith("UNTRAINED") and "d = 30-34, 10 test images x 3 seed(s)" in pos
    assert "photographer: typical 0.000 (0.000-0.000), atypical interior 0.500 (0.500-0.500)" in pos

    table = V.size_table(size_pairs_table())
    size = V.f09_size(stored({"sizes": table, "trained_size": 32, "networks": networks(True)}))
    assert "P(top-1 change) 0.80 / 0.60 / 0.00 at 16 / 32 / 64 px" in size
    assert "below its value at the training size (CIs apart) for photographer (1 of 2 variants)" in size


def test_figures_mark_untrained_networks():
    curves = V.position_curves(path_pairs({("photographer", 32): 5}))
    table = V.size_table(size_pairs_table())
    examples = V.example_canvases(split(1, 32))
    empty = pd.DataFrame(columns=["variant", "seed", "name", "step", "loss", "epoch"])
    for untrained in (True, False):
        figs = [
            V.plot_setup(examples, V.EXAMPLE_OFFSETS, V.training_placements(), empty, untrained=untrained),
            V.plot_positions(curves, untrained=untrained),
            V.plot_sizes(table, untrained=untrained),
        ]
        for fig in figs:
            assert any(t.get_text() == C.UNTRAINED_TITLE for t in fig.texts) == untrained
    setup = V.plot_setup(examples, V.EXAMPLE_OFFSETS, V.training_placements(), empty, untrained=True)
    assert any("no training curves" in t.get_text() for ax in setup.axes for t in ax.texts)


def test_compare_with_paper_subtracts_the_baseline(capsys):
    zones = pd.DataFrame(
        {
            "variant": ["uniform", "photographer", "uniform", "photographer"],
            "zone": [C.TYPICAL, C.TYPICAL, C.ATYPICAL, C.ATYPICAL],
            "p_top1_change": [0.1, 0.3, 0.2, 0.5],
        }
    )
    imagenet = pd.DataFrame(columns=["model", "metric", "condition", "value"])
    out = C.compare_with_paper(zones, imagenet)
    assert list(out.index) == ["photographer", "uniform"]
    assert out.loc["uniform", "minus baseline, atypical-interior"] == pytest.approx(-0.3)
    assert "Paper: remedies are partial" in capsys.readouterr().out
