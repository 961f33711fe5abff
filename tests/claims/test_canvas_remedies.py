"""Notebook 09 on the shipped canvas networks (claims 3 and 4): the pairs' geometry against a naive paste, the
pair table of untrained tiny networks, the error naming `make weights` when a network was never shipped, the
tables on hand-made pair tables, and every outcome of both verdicts (reproduced, not reproduced,
inconclusive, and the matched-accuracy rule) on hand-made pair tables whose answers are known."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import torch
from invariance.claims import canvas_bias as B
from invariance.claims import canvas_remedies as C
from invariance.presentation.figures import tidy
from invariance.runner import evaluate
from invariance.sources.cifar import Split
from invariance.training import catalogue, weights
from invariance.training import recipe as R

CANVAS, SIZE = catalogue.CANVAS.canvas, catalogue.CANVAS.size


def random_split(n: int, seed: int = 0) -> Split:
    g = torch.Generator().manual_seed(seed)
    images = torch.randint(1, 256, (n, 3, SIZE, SIZE), generator=g, dtype=torch.uint8)
    return Split("test", images, torch.arange(n) % 10, f"random-{n}-{seed}")


# --- geometry and measurement ------------------------------------------------------------------------------


def test_every_pair_lies_inside_its_zone_and_the_canvas():
    zones, pairs = catalogue.zone_offsets(catalogue.CANVAS), C.pair_offsets()
    for zone, ds in pairs.items():
        assert ds and all(d in zones[zone] and d + 1 in zones[zone] for d in ds)
        assert min(ds) >= 0 and max(ds) + 1 + SIZE <= CANVAS
    assert pairs[C.ATYPICAL] == [32, 47]  # 32-33 and 47-48: beyond 3 sigma (6 px) of the centre 40
    assert CANVAS - SIZE not in pairs[C.BORDER]  # the last offset has no one-pixel step left
    picks = C.pick_offsets(500, seed=3)
    assert all(set(picks[z].tolist()) <= set(pairs[z]) for z in C.ZONES)
    assert set(picks[C.ATYPICAL].tolist()) == {32, 47}
    assert all(torch.equal(picks[z], C.pick_offsets(500, seed=3)[z]) for z in C.ZONES)  # seeded


class Recorder(torch.nn.Module):
    """Keeps every input it sees; answers class 0."""

    def __init__(self) -> None:
        super().__init__()
        self.seen: list[torch.Tensor] = []

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.seen.append(x.clone())
        return torch.zeros(len(x), 10)


def test_pair_frames_equal_a_naive_paste_at_d_and_d_plus_one():
    objects = random_split(5).images
    offsets = torch.tensor([0, 32, 47, 40, CANVAS - SIZE - 1])
    rec = Recorder()
    probs = C.pair_probs(rec, objects, offsets, CANVAS, batch=4)  # 2 images per batch: chunks meet
    assert probs.shape == (5, 2, 10) and all(
        x.is_contiguous(memory_format=torch.channels_last) for x in rec.seen
    )
    frames = torch.cat(rec.seen)
    for i, d in enumerate(offsets.tolist()):
        for k in (0, 1):
            naive = np.zeros((3, CANVAS, CANVAS), np.float32)
            naive[:, d + k : d + k + SIZE, d + k : d + k + SIZE] = objects[i].float().div(255).numpy()
            assert np.array_equal(frames[2 * i + k].numpy(), naive)
    with pytest.raises(ValueError, match="leave the 112px canvas"):
        C.pair_probs(rec, objects[:1], torch.tensor([CANVAS - SIZE]), CANVAS)


def tiny_networks(variants=("photographer", "uniform"), seeds=(0, 1)) -> list[C.CanvasNetwork]:
    out = []
    for v in variants:
        for k in seeds:
            torch.manual_seed(10 * k + len(v))
            module = R.make_network(R.Net(widths=(4, 8), depth=1)).eval()
            out.append(C.CanvasNetwork(v, k, module, f"tiny-{v}-{k}", f"tiny-{v}-{k}", None))
    return out


def test_the_pair_table_of_untrained_tiny_networks_has_one_row_per_network_zone_and_image():
    test = random_split(6)
    nets = tiny_networks()
    t = C.pair_table(nets, test, seed=1)
    assert list(t.columns) == [*evaluate.COLUMNS, "zone", "offset", "variant", "seed"]
    assert len(t) == len(nets) * len(C.ZONES) * len(test)
    assert t.groupby(["variant", "seed", "zone"]).image_id.apply(lambda s: sorted(s) == list(range(6))).all()
    assert (t.frame_a == 0).all() and (t.frame_b == 1).all() and (t.label == t.image_id % 10).all()
    pairs = C.pair_offsets()
    for zone, g in t.groupby("zone"):
        assert set(g.offset) <= set(pairs[zone]) and (g.offset + 1 + SIZE <= CANVAS).all()
        assert g.groupby("image_id").offset.nunique().eq(1).all()  # the same inputs for every network
    assert t.margin_a.between(0, 1).all() and t.p_true_a.notna().all()
    pd.testing.assert_frame_equal(t, C.pair_table(nets, test, seed=1))  # from the cache
    assert C.network_labels(nets) == ["photographer (init seeds 0, 1)", "uniform (init seeds 0, 1)"]


def test_untrained_networks_are_the_catalogues_architectures_at_step_zero():
    whiten = random_split(16)
    nets = C.load_networks(["photographer-blurpool"], seeds=[0, 1], pretrained=False, whiten_from=whiten)
    assert [(n.variant, n.seed, n.manifest_accuracy) for n in nets] == [
        ("photographer-blurpool", 0, None),
        ("photographer-blurpool", 1, None),
    ]
    assert all(not n.module.training and n.identity.startswith("untrained-seed") for n in nets)
    assert any(isinstance(m, R.Blur) for m in nets[0].module.modules())
    assert nets[0].module.g0b0_conv.out_channels == 24  # the catalogue's widths 24-48-96
    assert not torch.equal(nets[0].module.head.weight, nets[1].module.head.weight)  # init seeds differ
    assert not C.network_table(nets).trained.any()


def test_a_network_never_shipped_is_an_error_naming_make_weights(tmp_path):
    with pytest.raises(
        weights.WeightsError, match="No shipped network of variant 'photographer'.*make weights"
    ):
        C.load_networks(["photographer"], folder=tmp_path)
    with pytest.raises(weights.WeightsError, match="No network 'canvas-uniform-seed2'.*make weights"):
        C.load_networks(["uniform"], seeds=[2], folder=tmp_path)
    with pytest.raises(ValueError, match="unknown variant"):
        C.load_networks(["maxpool"], pretrained=False)
    with pytest.raises(ValueError, match="whiten_from"):
        C.load_networks(["uniform"], pretrained=False)


# --- hand-made pair tables ---------------------------------------------------------------------------------


def hand_made(spec: dict[tuple[str, str], tuple[int, int]], n: int = 40, seeds=(0, 1, 2)) -> pd.DataFrame:
    """A pair table: per (variant, zone), (changed, wrong): images 0..changed-1 change their top-1 in the
    step, images 0..wrong-1 are misclassified in the first frame (the same for every seed); unlisted
    variant x zone: nothing changes, all correct. Variants: C.VARIANTS; label 1, top-1 1 (correct) or 2."""
    rows = []
    for v in C.VARIANTS:
        for zone in C.ZONES:
            changed, wrong = spec.get((v, zone), (0, 0))
            for seed in seeds:
                for i in range(n):
                    a = 2 if i < wrong else 1
                    rows.append(
                        {"image_id": i, "label": 1, "frame_a": 0, "frame_b": 1, "top1_a": a}
                        | {"top1_b": 3 if i < changed else a, "p_top_a": 0.6, "p_top_b": 0.5}
                        | {"margin_a": 0.2, "p_true_a": 0.5, "p_true_b": 0.5, "zone": zone, "offset": 40}
                        | {"variant": v, "seed": seed}
                    )
    return pd.DataFrame(rows)


def test_zone_table_and_matched_images_on_a_hand_made_table():
    t = hand_made({("photographer", C.ATYPICAL): (16, 10), ("uniform", C.TYPICAL): (4, 0)})
    z = C.zone_table(t).set_index(["variant", "zone"])
    r = z.loc[("photographer", C.ATYPICAL)]
    assert r.accuracy == pytest.approx(0.75) and r.p_top1_change == pytest.approx(0.4)
    assert r.p_change_correct == pytest.approx(6 / 30)  # images 10-15 change among the 30 correct ones
    assert r.accuracy_low < 0.75 < r.accuracy_high and r.seeds == 3 and r.images == 40
    assert r.p_top1_change_rerun_low == pytest.approx(r.p_top1_change_rerun_high) == 0.4  # seeds tie
    assert z.loc[("uniform", C.TYPICAL)].p_top1_change == pytest.approx(0.1)
    assert list(z.index.get_level_values("zone")[:3]) == [C.TYPICAL] * 3  # zones, then variants, in order
    matched = C.matched_images(t)
    assert matched[C.ATYPICAL] == list(range(10, 40)) and matched[C.TYPICAL] == list(range(40))


def read_values(pairs: pd.DataFrame, untrained: bool = False):
    """A sidecar reader over the notebook's two figures' values, as JSON round-trips them."""
    nets = pd.DataFrame({"variant": list(C.VARIANTS), "seed": 0, "trained": not untrained})
    values = {
        C.ZONES_FIGURE: {"zones": C.zone_table(pairs), "networks": nets},
        C.CONTRASTS_FIGURE: {
            "bias": C.bias_contrasts(pairs),
            "remedies": C.remedy_contrasts(pairs),
            "accuracy": C.accuracy_contrasts(pairs),
            "networks": nets,
        },
    }
    stored = json.loads(json.dumps(tidy(values)))
    return lambda name: stored[name]


def test_the_difference_of_differences_is_the_gap_of_gaps():
    t = hand_made(
        {
            ("photographer", C.TYPICAL): (4, 0),
            ("photographer", C.ATYPICAL): (20, 0),
            ("uniform", C.TYPICAL): (8, 0),
            ("uniform", C.ATYPICAL): (12, 0),
        }
    )
    b = C.bias_contrasts(t).set_index(["zone", "images"]).loc[(C.ATYPICAL, C.ALL)]
    assert b.photographer_gap == pytest.approx(0.4) and b.uniform_gap == pytest.approx(0.1)
    assert b.difference == pytest.approx((0.5 - 0.1) - (0.3 - 0.2)) and b.low > 0 and b.n_images == 40


TYPICAL, ATYPICAL = C.TYPICAL, C.ATYPICAL


@pytest.mark.parametrize(
    "spec, word, phrase",
    [
        # the photographer changes more at atypical positions, the uniform network does not
        (
            {("photographer", TYPICAL): (4, 0), ("photographer", ATYPICAL): (20, 0)},
            "**reproduced**",
            "+0.400",
        ),
        # the uniform network's gap is the larger one
        ({("uniform", TYPICAL): (4, 0), ("uniform", ATYPICAL): (20, 0)}, "**not reproduced**", "-0.400"),
        # both change as much more at atypical positions: covers 0
        (
            {
                ("photographer", TYPICAL): (4, 0),
                ("photographer", ATYPICAL): (12, 0),
                ("uniform", TYPICAL): (4, 0),
                ("uniform", ATYPICAL): (12, 0),
            },
            "**inconclusive**",
            "+0.000",
        ),
        # reproduced on all images, but the photographer changes only where it is wrong: on the images every
        # network gets right the gap vanishes, and accuracy differs, so the result depends on accuracy
        (
            {("photographer", TYPICAL): (2, 2), ("photographer", ATYPICAL): (20, 20)},
            "**inconclusive**",
            "so the result depends on accuracy",
        ),
    ],
    ids=["reproduced", "not-reproduced", "covers-0", "depends-on-accuracy"],
)
def test_claim_3_verdict_follows_the_difference_of_differences(spec, word, phrase):
    read = read_values(hand_made(spec))
    text = B.verdict(read)
    assert text.startswith(word) and phrase in text, text
    assert "photographer minus uniform" in text and "with the border zone instead" in text
    assert "photographer minus uniform" in B.headline(read)


@pytest.mark.parametrize(
    "spec, word, findings",
    [
        # baseline changes 16 of 40 in both judged zones; each remedy halves it: partial
        (
            {
                ("photographer", TYPICAL): (16, 0),
                ("photographer", ATYPICAL): (16, 0),
                ("uniform", ATYPICAL): (8, 0),
                ("photographer-blurpool", TYPICAL): (8, 0),
            },
            "**reproduced**",
            ("partial", "partial"),
        ),
        # BlurPool removes every change at typical positions
        (
            {
                ("photographer", TYPICAL): (16, 0),
                ("photographer", ATYPICAL): (16, 0),
                ("uniform", ATYPICAL): (8, 0),
            },
            "**not reproduced**",
            ("partial", "removes"),
        ),
        # uniform placement makes the atypical positions worse
        (
            {
                ("photographer", TYPICAL): (16, 0),
                ("photographer", ATYPICAL): (8, 0),
                ("uniform", ATYPICAL): (24, 0),
                ("photographer-blurpool", TYPICAL): (8, 0),
            },
            "**not reproduced**",
            ("worse", "partial"),
        ),
        # uniform placement changes as often as the baseline: not resolved
        (
            {
                ("photographer", TYPICAL): (16, 0),
                ("photographer", ATYPICAL): (16, 0),
                ("uniform", ATYPICAL): (16, 0),
                ("photographer-blurpool", TYPICAL): (8, 0),
            },
            "**inconclusive**",
            ("unresolved", "partial"),
        ),
        # BlurPool's changes fall on images the baseline gets wrong: on the images every network gets right
        # none are left (it "removes" them there), so the word depends on accuracy
        (
            {
                ("photographer", TYPICAL): (16, 12),
                ("photographer", ATYPICAL): (16, 0),
                ("uniform", ATYPICAL): (8, 0),
                ("photographer-blurpool", TYPICAL): (4, 0),
            },
            "**inconclusive**",
            ("partial", "partial"),
        ),
    ],
    ids=["reproduced", "removes", "worse", "unresolved", "depends-on-accuracy"],
)
def test_claim_4_verdict_reads_each_remedy_in_its_zone(spec, word, findings):
    read = read_values(hand_made(spec))
    rem = C.remedy_contrasts(hand_made(spec))
    judged = rem[rem.judged & (rem.images == C.ALL)].set_index("remedy").finding
    assert (judged["uniform"], judged["photographer-blurpool"]) == findings
    text = C.verdict(read)
    assert text.startswith(word), text
    assert "uniform placement (augmentation) in the atypical interior zone" in text
    assert "photographer + BlurPool (antialiasing) in the typical zone" in text
    assert "uniform (atypical interior)" in C.headline(read)


@pytest.mark.parametrize(
    "diff, own, finding",
    [
        ((-0.2, -0.1), (0.1, 0.2), "partial"),
        ((-0.2, -0.1), (0.0, 0.005), "removes"),
        ((-0.2, -0.1), (0.0, 0.05), "helps, rest unresolved"),
        ((0.1, 0.2), (0.3, 0.4), "worse"),
        ((-0.1, 0.1), (0.1, 0.2), "unresolved"),
        ((np.nan, np.nan), (np.nan, np.nan), "unresolved"),
    ],
)
def test_remedy_findings(diff, own, finding):
    assert C.remedy_finding(*diff, *own) == finding
    assert C.FINDING_WORD[finding] in ("reproduced", "not reproduced", "inconclusive")


def test_sentences_and_figures_say_untrained_and_carry_the_numbers():
    spec = {("photographer", TYPICAL): (4, 0), ("photographer", ATYPICAL): (20, 0)}
    pairs = hand_made(spec)
    read = read_values(pairs, untrained=True)
    zones = C.f09_zones(read(C.ZONES_FIGURE))
    assert zones.startswith("UNTRAINED networks") and "atypical interior (d = 40)" in zones
    assert "photographer 0.500 [" in zones and "accuracy 1.00 [1.00, 1.00]" in zones
    contrasts = C.f09_contrasts(read(C.CONTRASTS_FIGURE))
    assert contrasts.startswith("UNTRAINED networks")
    assert "P(top-1 change): +0.400 [" in contrasts and "on all 40 images" in contrasts
    assert "uniform: typical -0.100 [-0.197, -0.003] (removes; matched -0.100" in contrasts
    assert not C.f09_zones(read_values(pairs)(C.ZONES_FIGURE)).startswith("UNTRAINED")
    for fig in (
        C.plot_zones(C.zone_table(pairs), untrained=True),
        C.plot_contrasts(C.bias_contrasts(pairs), C.remedy_contrasts(pairs), untrained=True),
    ):
        assert any(t.get_text() == C.UNTRAINED_TITLE for t in fig.texts)
    assert not any("UNTRAINED" in t.get_text() for t in C.plot_zones(C.zone_table(pairs)).texts)


def test_the_drafts_closing_cell_reads_its_own_figures_and_both_claims(tmp_path, monkeypatch):
    from invariance.core import paths
    from invariance.report import findings

    monkeypatch.setattr(paths, "figures_dir", lambda profile="default": tmp_path)
    read = read_values(hand_made({("photographer", TYPICAL): (4, 0), ("photographer", ATYPICAL): (20, 0)}))
    for name in (C.ZONES_FIGURE, C.CONTRASTS_FIGURE):
        (tmp_path / f"{name}.json").write_text(json.dumps({"values": read(name)}))
    text = findings.notebook_findings("09_remedies_shipped", "smoke")
    assert f"**{C.ZONES_FIGURE}**" in text and f"**{C.CONTRASTS_FIGURE}**" in text
    assert C.CLAIM in text and B.CLAIM in text and text.count("**Verdict**") == 2
    assert "09_remedies_setup" not in text  # the numbered notebook's figures are not the draft's
    assert findings.claims_of("09") == [findings.CLAIMS["09"]]  # the registry itself is unchanged


def test_the_readme_table_after_the_switch_reads_both_sidecars(tmp_path):
    spec = {("photographer", TYPICAL): (16, 0), ("photographer-blurpool", TYPICAL): (8, 0)}
    read = read_values(hand_made(spec))
    for name in (C.ZONES_FIGURE, C.CONTRASTS_FIGURE):
        (tmp_path / f"{name}.json").write_text(json.dumps({"values": read(name)}))
    text = C.readme_table(tmp_path)
    lines = text.splitlines()
    assert lines[0].startswith("| variant | P(top-1 change) typical | P(top-1 change) atypical interior |")
    assert lines[2].startswith("| photographer (baseline) | 0.400 [") and lines[2].endswith(
        "| 1.00 / 1.00 / 1.00 |"
    )
    assert "40 CIFAR-10 test images x 3 seed(s) per variant" in text
    assert "photographer + BlurPool (antialiasing) in the typical zone -0.200 [" in text
    assert "uniform placement (augmentation) in the atypical interior zone +0.000" in text
