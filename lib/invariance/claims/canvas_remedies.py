"""Notebook 09 on the shipped canvas networks (issue 33, "09 redesigned"): the paper's claims 3 (a
photographer's bias makes atypical positions less invariant; its verdict: canvas_bias.py) and 4
(antialiasing and augmentation are only partial remedies; its verdict: here), measured on networks trained
by `make weights`, never inside `make figures`.

Networks (training/catalogue.py, (c)): "canvas-{variant}-seed{k}", a 32 px CIFAR-10 object on a 112 px
black canvas; variants photographer (Gaussian placement around the centre, sigma 2 px; the baseline),
uniform (every offset equally often: the augmentation remedy) and photographer-blurpool (the antialiasing
remedy); seeds catalogue.CANVAS_SEEDS.

Pairs: the object's top-left corner at (d, d) and at (d + 1, d + 1), the paper's one-pixel diagonal step.
Zones (catalogue.zone_offsets, by the photographer's distribution): typical (within 3 sigma of the
centre), atypical interior (beyond 3 sigma, at least one object size from every border) and border. A pair
belongs to a zone when both of its frames do (`pair_offsets`): no pair straddles two zones, and both frames
lie inside the canvas. Each of N test images (a seeded pick) gets one pair per zone at an offset drawn from
the zone (seeded, the same for every network, so variants and seeds are compared on identical inputs).

Every number has a 95% CI over seeds and test images (metrics.seed_image_ci; differences between variants:
metrics.difference_ci, seed parts independent, image part paired). Variants trained from the same seed
share their initial weights, so treating their seeds as independent makes a difference's CI wider, not
narrower.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch
from torch import nn

from invariance.claims.certified import PRACTICALLY_INVARIANT
from invariance.kernels import metrics
from invariance.kernels.transforms import paste
from invariance.presentation.figures import use_style
from invariance.presentation.text import (
    INCONCLUSIVE,
    NOT_REPRODUCED,
    REPRODUCED,
    Values,
    sidecar_values,
    tidy_frame,
    value_range,
    verdict_text,
)
from invariance.runner import cache, evaluate
from invariance.sources import cifar, paper
from invariance.sources.cifar import Split
from invariance.training import catalogue, weights
from invariance.training import recipe as R
from invariance.training.placement import PlacementDistribution

VARIANTS = tuple(catalogue.CANVAS_VARIANTS)  # photographer, uniform, photographer-blurpool
BASELINE = "photographer"
UNIFORM = "uniform"
BLURPOOL = "photographer-blurpool"
REMEDIES = {UNIFORM: "augmentation", BLURPOOL: "antialiasing"}
NAMES = {
    BASELINE: "photographer (baseline)",
    UNIFORM: "uniform placement (augmentation)",
    BLURPOOL: "photographer + BlurPool (antialiasing)",
}
ZONES = catalogue.ZONES
TYPICAL, ATYPICAL, BORDER = ZONES
# Claim 4: the zone in which each remedy is judged, fixed before any canvas network was measured: uniform
# placement trains exactly the positions the photographer never shows (the atypical interior, away from the
# border's own effects); antialiasing is not about position, and is judged where the baseline is most
# competent (typical positions). Every zone is reported.
REMEDY_ZONES = {UNIFORM: ATYPICAL, BLURPOOL: TYPICAL}
ALL, MATCHED = "all", "matched"  # image sets: every test image, or those every network gets right
EVAL_VERSION = 1
ZONES_FIGURE = "09_canvas_zones"
CONTRASTS_FIGURE = "09_canvas_contrasts"


# --- geometry: which one-pixel pairs each zone holds --------------------------------------------------------


def pair_offsets(placement: PlacementDistribution = catalogue.CANVAS) -> dict[str, list[int]]:
    """Per zone, the diagonal offsets d whose pair (d, d) -> (d + 1, d + 1) lies in the zone: d and d + 1
    both in catalogue.zone_offsets' zone (so both frames are inside the canvas). ValueError if a zone has
    no such pair."""
    zones = catalogue.zone_offsets(placement)
    out = {z: [d for d in ds if d + 1 in ds] for z, ds in zones.items()}
    empty = [z for z, ds in out.items() if not ds]
    if empty:
        raise ValueError(f"no one-pixel pair lies inside the {', '.join(empty)} zone of {placement}")
    return out


def pick_offsets(
    n: int, placement: PlacementDistribution = catalogue.CANVAS, seed: int = 0
) -> dict[str, torch.Tensor]:
    """Per zone, (n,) int64 first-frame offsets d drawn uniformly from pair_offsets' (seeded; zones in
    ZONES order from one generator)."""
    gen = torch.Generator().manual_seed(seed)
    out = {}
    for zone, ds in pair_offsets(placement).items():
        out[zone] = torch.tensor(ds)[torch.randint(0, len(ds), (n,), generator=gen)]
    return out


@torch.no_grad()
def pair_probs(
    module: nn.Module,
    objects: torch.Tensor,
    offsets: torch.Tensor,
    canvas: int,
    batch: int = 256,
    device: str = "cpu",
) -> torch.Tensor:
    """Softmax (N, 2, classes) float32 of objects (N, 3, h, w) uint8 pasted on a black canvas x canvas with
    their top-left corner at (d, d) (frame 0) and (d + 1, d + 1) (frame 1), d = offsets (N,). The module
    runs in eval mode (its own mode is given back), channels_last, float32, without autograd, `batch`
    frames at a time."""
    if objects.dtype != torch.uint8 or objects.ndim != 4:
        raise ValueError(f"objects must be uint8 (N, 3, h, w), not {objects.dtype} {tuple(objects.shape)}")
    d = offsets.long()
    if int(d.min()) < 0 or int(d.max()) + 1 + objects.shape[-1] > canvas:
        raise ValueError(f"offsets {int(d.min())}-{int(d.max())} + 1 leave the {canvas}px canvas")
    positions = torch.stack([d, d, d + 1, d + 1], dim=1).view(-1, 2)  # (2N, 2): frame 0 and 1 of each
    per = max(1, batch // 2)
    out = []
    with evaluate.eval_mode(module), torch.inference_mode():
        module.to(device, memory_format=torch.channels_last)
        for start in range(0, len(objects), per):
            chunk = objects[start : start + per].repeat_interleave(2, dim=0)
            where = positions[2 * start : 2 * start + len(chunk)]
            frames, _ = paste(chunk, where, canvas, with_covered=False)
            x = frames.to(device).float().div_(255).contiguous(memory_format=torch.channels_last)
            out.append(module(x).float().softmax(-1).cpu())
    return torch.cat(out).view(len(objects), 2, -1)


# --- the networks ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CanvasNetwork:
    """One canvas network: variant, seed, the module (eval mode), its name, its identity (the shipped file's
    SHA-256, or 'untrained-...'), and the manifest's accuracy per zone (None when untrained)."""

    variant: str
    seed: int
    module: nn.Module
    name: str
    identity: str
    manifest_accuracy: dict[str, float] | None


def recipe_of(variant: str, seed: int) -> R.Recipe:
    """The catalogue's recipe of canvas-<variant>-seed0 with the given seed (any seed, for untrained runs)."""
    if variant not in catalogue.CANVAS_VARIANTS:
        raise ValueError(f"unknown variant {variant!r}; the canvas variants are {', '.join(VARIANTS)}")
    return replace(catalogue.by_name()[f"canvas-{variant}-seed0"].recipe, seed=seed)


def load_networks(
    variants: Sequence[str] | None = None,
    seeds: Sequence[int] | None = None,
    pretrained: bool = True,
    folder: Path | None = None,
    whiten_from: Split | None = None,
) -> list[CanvasNetwork]:
    """The notebook's networks, variant-major. pretrained: the shipped networks (digest-verified), every
    seed present (seeds=None) or the given ones; a variant with no shipped seed, or a requested seed that is
    missing, raises weights.WeightsError naming `make weights`. Not pretrained: each variant's catalogue
    architecture at step 0 of its training (recipe.fresh: torch seed k, the whitening set from whiten_from's
    images, required), labelled untrained; seeds None gives seed 0."""
    variants = tuple(variants) if variants is not None else VARIANTS
    for v in variants:
        recipe_of(v, 0)  # ValueError for an unknown variant, before anything loads
    out = []
    for v in variants:
        if not pretrained:
            if whiten_from is None:
                raise ValueError("untrained networks need whiten_from (images to set the whitening from)")
            for k in seeds if seeds is not None else (0,):
                module = R.fresh(recipe_of(v, k), whiten_from).eval()
                identity = f"untrained-seed{k}-{weights.identity(recipe_of(v, k))}-{whiten_from.source}"
                out.append(CanvasNetwork(v, k, module, f"canvas-{v}-untrained{k}", identity, None))
            continue
        for k, name, module, record in weights.load_seeds(
            f"canvas-{v}", v, seeds, catalogue.CANVAS_SEEDS, folder
        ):
            out.append(CanvasNetwork(v, k, module, name, record["sha256"], record.get("test_accuracy")))
    return out


def network_labels(nets: Sequence[CanvasNetwork]) -> list[str]:
    """'variant (seeds 0, 1)' per variant, for the figures' footers ('init seeds' when untrained)."""
    seeds: dict[str, list[int]] = {}
    for n in nets:
        seeds.setdefault(n.variant, []).append(n.seed)
    word = "init seed" if nets and nets[0].manifest_accuracy is None else "seed"
    return [f"{v} ({word}{'s' if len(k) > 1 else ''} {', '.join(map(str, k))})" for v, k in seeds.items()]


def network_table(nets: Sequence[CanvasNetwork]) -> pd.DataFrame:
    """One row per network: variant, seed, name, trained, and the manifest's accuracy per zone (NaN when
    untrained), for the sidecar."""
    rows = []
    for n in nets:
        acc = n.manifest_accuracy or {}
        rows.append(
            {"variant": n.variant, "seed": n.seed, "name": n.name, "trained": n.manifest_accuracy is not None}
            | {f"manifest_{z}": float(acc.get(z, np.nan)) for z in ZONES}
        )
    return pd.DataFrame(rows)


def pick_test_images(n: int | None, seed: int = 0) -> Split:
    """A seeded pick of n CIFAR-10 test images (all when n is None)."""
    return cifar.load("test").subset(n, seed)


# --- measurement --------------------------------------------------------------------------------------------


def measure_network(
    net: CanvasNetwork,
    test: Split,
    offsets: dict[str, torch.Tensor],
    canvas: int = catalogue.CANVAS.canvas,
    batch: int = 256,
    device: str = "cpu",
) -> pd.DataFrame:
    """One network's pair table (cached by network identity, test images and offsets): the runner's
    columns (evaluate.COLUMNS: image_id = position in test, frame_a 0 = (d, d), frame_b 1 = (d + 1, d + 1))
    plus zone, offset (d), variant and seed; one row per zone x test image. offsets: pick_offsets'."""
    key = {
        "network": net.identity,
        "variant": net.variant,
        "test": test.source,
        "n": len(test),
        "offsets": {z: o.tolist() for z, o in offsets.items()},
        "canvas": canvas,
        "version": EVAL_VERSION,
    }

    def compute() -> pd.DataFrame:
        tables = []
        for zone, d in offsets.items():
            probs = pair_probs(net.module, test.images, d, canvas, batch, device)
            t = evaluate.pairs_of(probs, range(len(test)), test.labels)
            tables.append(t.assign(zone=zone, offset=d.numpy()))
        return pd.concat(tables, ignore_index=True)

    t = cache.cached_once(f"canvas-pairs-{net.name}", key, compute)
    return t.assign(variant=net.variant, seed=net.seed)


def pair_table(
    nets: Sequence[CanvasNetwork],
    test: Split,
    placement: PlacementDistribution = catalogue.CANVAS,
    seed: int = 0,
    batch: int | None = None,
    device: str = "cpu",
) -> pd.DataFrame:
    """measure_network of every network on the same test images and offsets (pick_offsets(len(test),
    placement, seed)), concatenated: evaluate.COLUMNS + zone, offset, variant, seed (the network's)."""
    offsets = pick_offsets(len(test), placement, seed)
    return pd.concat(
        [measure_network(n, test, offsets, placement.canvas, batch or 256, device) for n in nets],
        ignore_index=True,
    )


# --- tables ---------------------------------------------------------------------------------------------


def _ci(values: pd.Series, t: pd.DataFrame) -> tuple[float, float, float]:
    """seed_image_ci of values over t's seeds and images; NaN for none."""
    ok = values.notna()
    if not ok.any():
        return (float("nan"),) * 3
    return metrics.seed_image_ci(values[ok], t.seed[ok], t.image_id[ok])


def _offsets_text(ds: Sequence[int]) -> str:
    """Offsets as runs: [32, 47] -> '32, 47'; [34, ..., 45] -> '34-45'."""
    ds = sorted({int(d) for d in ds})
    runs: list[list[int]] = []
    for d in ds:
        if runs and d == runs[-1][-1] + 1:
            runs[-1].append(d)
        else:
            runs.append([d])
    return ", ".join(f"{r[0]}-{r[-1]}" if len(r) > 1 else f"{r[0]}" for r in runs)


def zone_table(pairs: pd.DataFrame) -> pd.DataFrame:
    """Per variant x zone: accuracy (first frame), P(top-1 change), and P(top-1 change | first frame
    correct) (p_change_correct), each with its 95% CI over seeds and test images; accuracy and P(top-1
    change) with the interval a retraining should land in (metrics.rerun_interval) and their per-seed range;
    seeds, images, correct_pairs and the zone's first-frame offsets."""
    rows = []
    for (variant, zone), t in pairs.groupby(["variant", "zone"], sort=False):
        acc = metrics.PAIR_METRICS["accuracy"](t)
        change = metrics.PAIR_METRICS["p_top1_change"](t)
        right = acc == 1
        row = {
            "variant": variant,
            "zone": zone,
            "offsets": _offsets_text(t.offset),
            "seeds": int(t.seed.nunique()),
            "images": int(t.image_id.nunique()),
            "correct_pairs": int(right.sum()),
        }
        for name, v in (("accuracy", acc), ("p_top1_change", change)):
            row |= metrics.ci_columns(name, _ci(v, t))
            low, high = metrics.rerun_interval(v, t.seed, t.image_id)
            per_seed = v.groupby(t.seed).mean()
            row |= {f"{name}_rerun_low": low, f"{name}_rerun_high": high}
            row |= {f"{name}_seed_min": per_seed.min(), f"{name}_seed_max": per_seed.max()}
        row |= metrics.ci_columns("p_change_correct", _ci(change.where(right), t))
        rows.append(row)
    out = pd.DataFrame(rows)
    order = {z: i for i, z in enumerate(ZONES)} | {v: i for i, v in enumerate(VARIANTS)}
    return out.sort_values(["zone", "variant"], key=lambda c: c.map(order), kind="stable", ignore_index=True)


def matched_images(pairs: pd.DataFrame) -> dict[str, list]:
    """Per zone, the test images that every network (every variant, every seed) classifies correctly in the
    zone's first frame: the comparison at matched accuracy."""
    networks = pairs.variant.astype(str) + "/" + pairs.seed.astype(str)
    right = (metrics.PAIR_METRICS["accuracy"](pairs) == 1).to_numpy()
    correct = networks[right].groupby([pairs.zone[right], pairs.image_id[right]]).nunique()
    every = correct[correct == networks.nunique()]
    return {z: sorted(every.xs(z).index) if z in every.index else [] for z in dict.fromkeys(pairs.zone)}


def _image_sets(pairs: pd.DataFrame, zones: Sequence[str]) -> dict[str, set]:
    """{ALL: every image, MATCHED: images every network gets right in the first frame of every zone in
    zones}."""
    matched = matched_images(pairs)
    common = set.intersection(*(set(matched.get(z, [])) for z in zones))
    return {ALL: set(pairs.image_id), MATCHED: common}


def _difference(a: pd.DataFrame, b: pd.DataFrame, metric: str) -> dict[str, float]:
    """difference_ci of a pair metric, a - b, as columns difference, low, high, p (NaN without pairs)."""
    if a.empty or b.empty:
        return {"difference": np.nan, "low": np.nan, "high": np.nan, "p": np.nan}
    d, lo, hi, p = metrics.difference_ci(a, b, metric)
    return {"difference": d, "low": lo, "high": hi, "p": p}


def accuracy_contrasts(pairs: pd.DataFrame) -> pd.DataFrame:
    """Per zone and variant other than the baseline: its first-frame accuracy minus the baseline's, with
    the 95% CI over seeds and images (metrics.difference_ci): where variants differ in accuracy, their
    invariance is also compared on matched images."""
    rows = []
    for zone in ZONES:
        base = pairs[(pairs.variant == BASELINE) & (pairs.zone == zone)]
        for variant in (v for v in dict.fromkeys(pairs.variant) if v != BASELINE):
            t = pairs[(pairs.variant == variant) & (pairs.zone == zone)]
            if t.empty or base.empty:
                continue
            rows.append({"variant": variant, "zone": zone} | _difference(t, base, "accuracy"))
    return pd.DataFrame(rows)


def _gaps(pairs: pd.DataFrame, zone: str, images: set) -> pd.DataFrame:
    """Per seed and image of one variant's pairs: P(top-1 change) in zone minus in the typical zone (the
    same networks and images in both): columns seed, image_id, gap."""
    t = pairs[pairs.image_id.isin(images) & pairs.zone.isin([zone, TYPICAL])]
    v = t.assign(v=metrics.PAIR_METRICS["p_top1_change"](t)).groupby(["seed", "image_id", "zone"]).v.mean()
    wide = v.unstack("zone")
    if zone not in wide or TYPICAL not in wide:
        return pd.DataFrame(columns=["seed", "image_id", "gap"])
    return (wide[zone] - wide[TYPICAL]).dropna().rename("gap").reset_index()


def bias_contrasts(pairs: pd.DataFrame) -> pd.DataFrame:
    """Claim 3's test: the difference of differences, photographer (zone - typical) minus uniform (zone -
    typical) of P(top-1 change), for zone = atypical interior (the test) and border (reported apart: there
    the canvas edge and the zero padding act too); on all images and on the images every network classifies
    correctly in both zones' first frames (matched). Columns: zone, images (all / matched), n_images,
    photographer_gap and uniform_gap (each with _low/_high: seed_image_ci), difference, low, high, p
    (metrics.values_difference_ci: seeds of the two variants independent, images paired)."""
    rows = []
    for zone in (ATYPICAL, BORDER):
        for which, images in _image_sets(pairs, [TYPICAL, zone]).items():
            row: dict = {"zone": zone, "images": which, "n_images": len(images)}
            gaps = {v: _gaps(pairs[pairs.variant == v], zone, images) for v in (BASELINE, UNIFORM)}
            for v, g in gaps.items():
                ci = metrics.seed_image_ci(g.gap, g.seed, g.image_id) if len(g) else (np.nan,) * 3
                row |= metrics.ci_columns(f"{v}_gap", ci)
            a, b = gaps[BASELINE], gaps[UNIFORM]
            if len(a) and len(b):
                d, lo, hi, p = metrics.values_difference_ci(
                    a.gap, a.seed, a.image_id, b.gap, b.seed, b.image_id
                )
            else:
                d = lo = hi = p = np.nan
            rows.append(row | {"difference": d, "low": lo, "high": hi, "p": p})
    return pd.DataFrame(rows)


def remedy_finding(diff_low: float, diff_high: float, own_low: float, own_high: float) -> str:
    """What a remedy does against the baseline, from two 95% CIs of P(top-1 change): the remedy minus the
    baseline (diff) and the remedy's own (own). "removes": it helps (diff below 0) and its own CI lies below
    PRACTICALLY_INVARIANT (1%); "partial": it helps and its own CI lies above 0; "helps, rest unresolved":
    it helps, and its own CI covers 0 without lying below 1%; "worse": diff above 0; "unresolved": diff
    covers 0 (or no pairs)."""
    if diff_high < 0:
        if own_high < PRACTICALLY_INVARIANT:
            return "removes"
        return "partial" if own_low > 0 else "helps, rest unresolved"
    if diff_low > 0:
        return "worse"
    return "unresolved"


# claim 4's word per finding: reproduced only when the remedy helps and changes remain
FINDING_WORD = {
    "partial": REPRODUCED,
    "removes": NOT_REPRODUCED,
    "worse": NOT_REPRODUCED,
    "helps, rest unresolved": INCONCLUSIVE,
    "unresolved": INCONCLUSIVE,
}


def remedy_contrasts(pairs: pd.DataFrame) -> pd.DataFrame:
    """Claim 4's test, per remedy x zone x image set (all; matched: every network correct in the zone's first
    frame): the remedy's P(top-1 change) minus the baseline's (difference, low, high, p: difference_ci), the
    remedy's own and the baseline's (p_top1_change / baseline_p_top1_change with _low/_high:
    seed_image_ci), the accuracy difference on the same images, and the finding (remedy_finding) with its
    verdict word (FINDING_WORD); judged marks the zone the claim's verdict reads (REMEDY_ZONES)."""
    rows = []
    for zone in ZONES:
        sets = _image_sets(pairs, [zone])
        for remedy in (r for r in REMEDIES if r in set(pairs.variant)):
            for which, images in sets.items():
                here = pairs[(pairs.zone == zone) & pairs.image_id.isin(images)]
                a, b = here[here.variant == remedy], here[here.variant == BASELINE]
                row = {"remedy": remedy, "zone": zone, "images": which, "n_images": len(images)}
                row |= _difference(a, b, "p_top1_change")
                own = _ci(metrics.PAIR_METRICS["p_top1_change"](a), a)
                base = _ci(metrics.PAIR_METRICS["p_top1_change"](b), b)
                row |= metrics.ci_columns("p_top1_change", own)
                row |= metrics.ci_columns("baseline_p_top1_change", base)
                acc = _difference(a, b, "accuracy")
                row |= {"accuracy_difference": acc["difference"], "accuracy_low": acc["low"]}
                row |= {"accuracy_high": acc["high"]}
                finding = remedy_finding(row["low"], row["high"], own[1], own[2])
                row |= {
                    "finding": finding,
                    "word": FINDING_WORD[finding],
                    "judged": REMEDY_ZONES[remedy] == zone,
                }
                rows.append(row)
    return pd.DataFrame(rows)


def compare_with_paper(zones: pd.DataFrame, imagenet: pd.DataFrame) -> pd.DataFrame:
    """P(top-1 change) per variant and zone (zone_table) and each variant's difference from the photographer
    baseline (negative: fewer changes); prints the paper's claim and, where measured (paper profile), the
    antialiased ImageNet network's (resnetblur50) P(top-1 change) per Table 1 protocol (imagenet:
    evaluate.protocol_summary, empty offline)."""
    p = zones.pivot(index="variant", columns="zone", values="p_top1_change")
    p = p.reindex(index=[v for v in VARIANTS if v in p.index], columns=[z for z in ZONES if z in p.columns])
    out = p.rename(columns=lambda z: f"P(change) {z}")
    if BASELINE in p.index:
        for z in p.columns:
            out[f"minus baseline, {z}"] = p[z] - p.loc[BASELINE, z]
    value, source = paper.HEADLINE["p_top1_change_antialiased"]
    print(f"Paper: remedies are partial; {source} (paper value {value}).")
    blur = imagenet[(imagenet.model == "resnetblur50") & (imagenet.metric == "p_top1_change")]
    if len(blur):
        print("Ours, ImageNet, resnetblur50:", dict(zip(blur.condition, blur.value.round(3), strict=True)))
    return out.round(3)


# --- the verdicts' shared rule: a result must survive matched accuracy -----------------------------------


def accuracy_differs(accuracy: pd.DataFrame, variant: str, zones: Sequence[str]) -> bool:
    """Whether variant's first-frame accuracy differs from the baseline's (the difference's 95% CI excludes
    0) in any of zones (accuracy_contrasts' table)."""
    t = accuracy[(accuracy.variant == variant) & accuracy.zone.isin(list(zones))]
    return bool(((t.low > 0) | (t.high < 0)).any())


def robust_word(word_all: str, word_matched: str, differs: bool) -> str:
    """The verdict word on all images, kept when the variants' accuracy does not differ or when the same
    test on matched images (every network correct) gives the same word; otherwise inconclusive: the result
    then depends on which images the networks get right."""
    return word_all if not differs or word_all == word_matched else INCONCLUSIVE


def combine(words: Sequence[str]) -> str:
    """A claim that holds for every part: reproduced when every part is, not reproduced when any part is
    not, else inconclusive."""
    if any(w == NOT_REPRODUCED for w in words):
        return NOT_REPRODUCED
    return REPRODUCED if words and all(w == REPRODUCED for w in words) else INCONCLUSIVE


# --- figures --------------------------------------------------------------------------------------------

UNTRAINED_TITLE = "UNTRAINED networks (random weights): the numbers test the code only"


def _short(variant: str) -> str:
    return variant.replace("photographer-blurpool", "photographer\n+ BlurPool")


def plot_zones(zones: pd.DataFrame, untrained: bool = False) -> plt.Figure:
    """One column per zone: top, P(top-1 change) per variant (filled: all pairs; hollow: pairs whose first
    frame is correct), bottom, first-frame accuracy; 95% CIs over seeds and test images. untrained: the
    networks are at random initialisation (said in the figure's title)."""
    use_style()
    present = [z for z in ZONES if z in set(zones.zone)]
    variants = [v for v in VARIANTS if v in set(zones.variant)] + [
        v for v in dict.fromkeys(zones.variant) if v not in VARIANTS
    ]
    fig, axes = plt.subplots(2, len(present), figsize=(4 * len(present), 5.6), sharey="row", squeeze=False)
    for j, zone in enumerate(present):
        t = zones[zones.zone == zone].set_index("variant").reindex(variants)
        top, bottom = axes[0, j], axes[1, j]
        for i, v in enumerate(variants):
            r = t.loc[v]
            for dx, m, face in ((-0.12, "p_top1_change", f"C{i}"), (0.12, "p_change_correct", "white")):
                if np.isnan(r[m]):
                    continue
                err = [[r[m] - r[f"{m}_low"]], [r[f"{m}_high"] - r[m]]]
                top.errorbar(i + dx, r[m], yerr=err, fmt="o", color=f"C{i}", mfc=face, capsize=3, ms=5)
            err = [[r.accuracy - r.accuracy_low], [r.accuracy_high - r.accuracy]]
            bottom.errorbar(i, r.accuracy, yerr=err, fmt="s", color=f"C{i}", capsize=3, ms=5)
        offsets = t.offsets.dropna().iloc[0] if t.offsets.notna().any() else "?"
        top.set_title(f"{zone.replace('-', ' ')} (first frame at d = {offsets})")
        for ax in (top, bottom):
            ax.set_xticks(range(len(variants)), [_short(v) for v in variants], fontsize=8)
            ax.set_xlim(-0.5, len(variants) - 0.5)
        top.set_ylim(bottom=0)
        bottom.set_ylim(0, 1.02)
    axes[0, 0].set_ylabel("P(top-1 change), (d, d) -> (d+1, d+1)")
    axes[1, 0].set_ylabel("accuracy (first frame)")
    handles = [
        plt.Line2D([], [], color="0.3", marker="o", ls="", label="all pairs"),
        plt.Line2D(
            [], [], color="0.3", marker="o", mfc="white", ls="", label="pairs whose first frame is correct"
        ),
        plt.Line2D([], [], color="0.3", marker="|", ms=10, ls="", label="95% CI over seeds and test images"),
    ]
    fig.tight_layout()
    fig.legend(handles=handles, loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=3, fontsize=8)
    if untrained:
        fig.text(0.5, 1.06, UNTRAINED_TITLE, ha="center", va="bottom", color="C3", fontsize=11, weight="bold")
    return fig


def _forest(ax: plt.Axes, rows: pd.DataFrame, labels: list[str], colours: list[str], bound: float) -> None:
    """Horizontal 95% CIs of rows' difference (low, high), one line per row from the top; hollow markers for
    matched images; a zero line. The axis stops at +-bound (the measure's range: a CI from few images may
    run past it)."""
    y = np.arange(len(rows))[::-1]
    for yi, (_, r), colour in zip(y, rows.iterrows(), colours, strict=True):
        if np.isnan(r.difference):
            ax.text(0, yi, "no images", fontsize=7, va="center", ha="center", color="0.4")
            continue
        face = "white" if r.images == MATCHED else colour
        err = [[r.difference - r.low], [r.high - r.difference]]
        ax.errorbar(r.difference, yi, xerr=err, fmt="o", color=colour, mfc=face, capsize=3, ms=5)
    ax.axvline(0, color="0.3", lw=0.8)
    ax.set_yticks(y, labels, fontsize=7.5)
    ax.set_ylim(-0.7, len(rows) - 0.3)
    ends = pd.concat([rows.low, rows.high]).abs().dropna()
    reach = min(bound, 1.1 * float(ends.max())) if len(ends) and ends.max() > 0 else 0.1
    ax.set_xlim(-reach, reach)


def plot_contrasts(bias: pd.DataFrame, remedies: pd.DataFrame, untrained: bool = False) -> plt.Figure:
    """Left, claim 3: photographer (zone - typical) minus uniform (zone - typical) of P(top-1 change), for
    the atypical interior (the test) and the border; right, claim 4: each remedy's P(top-1 change) minus
    the baseline's per zone (the judged zone marked *), with the finding. Filled: all images; hollow: the
    images every network classifies correctly. 95% CIs over seeds and test images, the zero line."""
    use_style()
    fig, (left, right) = plt.subplots(
        1, 2, figsize=(12.5, 0.42 * max(len(remedies), 4) + 1.6), gridspec_kw={"width_ratios": (1, 1.25)}
    )
    labels = [f"{r.zone.replace('-', ' ')} | {r.images} images (n={r.n_images})" for r in bias.itertuples()]
    _forest(left, bias, labels, ["C0" if z == ATYPICAL else "0.5" for z in bias.zone], 2.0)
    left.set(
        xlabel="photographer (zone - typical) minus\nuniform (zone - typical), P(top-1 change)",
        title="claim 3: difference of differences",
    )
    colours = {r: f"C{VARIANTS.index(r)}" for r in REMEDIES}
    labels = [
        f"{r.remedy} | {r.zone.replace('-', ' ')}{' *' if r.judged else ''} | {r.images} (n={r.n_images})"
        + f" : {r.finding}"
        for r in remedies.itertuples()
    ]
    _forest(right, remedies, labels, [colours.get(r, "0.5") for r in remedies.remedy], 1.0)
    right.yaxis.tick_right()
    right.set(
        xlabel="remedy minus baseline, P(top-1 change)",
        title="claim 4: each remedy minus the photographer baseline\n(* the zone the verdict reads)",
    )
    fig.tight_layout()
    handles = [
        plt.Line2D([], [], color="0.3", marker="o", ls="", label="all test images"),
        plt.Line2D(
            [],
            [],
            color="0.3",
            marker="o",
            mfc="white",
            ls="",
            label="images every network classifies correctly",
        ),
        plt.Line2D([], [], color="0.3", marker="_", ms=10, ls="", label="95% CI over seeds and test images"),
    ]
    fig.legend(handles=handles, loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=3, fontsize=8)
    if untrained:
        fig.text(0.5, 1.06, UNTRAINED_TITLE, ha="center", va="bottom", color="C3", fontsize=11, weight="bold")
    return fig


# --- findings: the figures' sentences from their sidecars, claim 4 and its verdict --------------------------


def _cell(r, m: str, digits: int = 3, sign: bool = False) -> str:
    f = f"+.{digits}f" if sign else f".{digits}f"
    if np.isnan(r[m]):
        return "n/a (no images)"
    return f"{r[m]:{f}} [{r[f'{m}_low']:{f}}, {r[f'{m}_high']:{f}}]"


def _diff(r) -> str:
    if np.isnan(r["difference"]):
        return "n/a (no images)"
    return f"{r['difference']:+.3f} [{r['low']:+.3f}, {r['high']:+.3f}]"


def untrained_run(v: Values) -> bool:
    """Whether a figure's sidecar values (with a "networks" table, network_table) come from untrained
    networks only."""
    nets = tidy_frame(v.get("networks", [])) if isinstance(v, dict) else pd.DataFrame()
    return bool(len(nets)) and not nets.trained.astype(bool).any()


def f09_zones(v: Values) -> str:
    t = tidy_frame(v["zones"])
    parts = []
    for zone in (z for z in ZONES if z in set(t.zone)):
        cells = "; ".join(
            f"{r.variant} {_cell(r, 'p_top1_change')} (accuracy {_cell(r, 'accuracy', 2)}; "
            f"{_cell(r, 'p_change_correct')} among correct first frames)"
            for _, r in t[t.zone == zone].iterrows()
        )
        parts.append(f"{zone.replace('-', ' ')} (d = {t[t.zone == zone].offsets.iloc[0]}): {cells}")
    head = "UNTRAINED networks (the numbers test the code only). " if untrained_run(v) else ""
    return (
        f"{head}P(top-1 change) under a one-pixel diagonal shift within each zone, "
        f"{int(t.images.max()):,} test images x {value_range(t.seeds, 0)} seed(s) per variant (95% CIs "
        "over seeds and images): " + " | ".join(parts) + "."
    )


def f09_contrasts(v: Values) -> str:
    bias, rem = tidy_frame(v["bias"]), tidy_frame(v["remedies"])
    b = bias.set_index(["zone", "images"])

    def dod(zone: str) -> str:
        a, m = b.loc[(zone, ALL)], b.loc[(zone, MATCHED)]
        return (
            f"{_diff(a)} on all {int(a.n_images):,} images, {_diff(m)} on the {int(m.n_images):,} every "
            "network gets right"
        )

    remedies = []
    for remedy, g in rem.groupby("remedy", sort=False):
        cells = ", ".join(
            f"{r.zone.replace('-', ' ')} {_diff(r._asdict())} ({r.finding}; matched {_diff(m._asdict())})"
            for r, m in zip(g[g.images == ALL].itertuples(), g[g.images == MATCHED].itertuples(), strict=True)
        )
        remedies.append(f"{remedy}: {cells}")
    head = "UNTRAINED networks (the numbers test the code only). " if untrained_run(v) else ""
    return (
        f"{head}Claim 3, photographer (atypical interior - typical) minus uniform (atypical interior - "
        f"typical), P(top-1 change): {dod(ATYPICAL)}; with the border zone instead of the atypical interior: "
        f"{dod(BORDER)}. Claim 4, each remedy's P(top-1 change) minus the photographer baseline's: "
        + "; ".join(remedies)
        + " (95% CIs over seeds and test images)."
    )


CLAIM = "Antialiasing and data augmentation are only partial remedies."


def verdict(read) -> str:
    """Our verdict on CLAIM, a rule fixed before any canvas network was measured. Each remedy (uniform
    placement: augmentation; BlurPool: antialiasing) is compared with the photographer baseline in the zone
    it targets (REMEDY_ZONES: uniform in the atypical interior, BlurPool at typical positions) on P(top-1
    change), 95% CIs over seeds and test images. Per remedy (remedy_finding): reproduced ("partial") when
    the remedy-minus-baseline CI lies below 0 and the remedy's own CI lies above 0; not reproduced when it
    removes the changes (helps, and its own CI lies below 1%) or makes them more frequent (difference CI
    above 0); inconclusive when the difference CI covers 0, or it helps and its own CI covers 0 without
    lying below 1%. Where the remedy's first-frame accuracy differs from the baseline's in that zone
    (accuracy difference CI excludes 0), the word must be the same on the images every network classifies
    correctly, else inconclusive (robust_word). The claim: reproduced when both remedies are, not
    reproduced when either is not, else inconclusive (combine). The other zones are stated, not read."""
    v = read(CONTRASTS_FIGURE)
    rem, acc = tidy_frame(v["remedies"]), tidy_frame(v["accuracy"])
    words, parts = [], []
    for remedy, zone in REMEDY_ZONES.items():
        g = rem[(rem.remedy == remedy) & (rem.zone == zone)].set_index("images")
        a, m = g.loc[ALL], g.loc[MATCHED]
        differs = accuracy_differs(acc, remedy, [zone])
        word = robust_word(a.word, m.word, differs)
        words.append(word)
        note = ""
        if differs:
            note = (
                f"; accuracy differs from the baseline's, and on the {int(m.n_images):,} images every "
                f"network gets right it is {_diff(m)} ({m.finding})"
                + ("" if word == a.word else ": the result depends on accuracy")
            )
        parts.append(
            f"{NAMES[remedy]} in the {zone.replace('-', ' ')} zone: minus baseline {_diff(a)}, its own "
            f"{_cell(a, 'p_top1_change')} vs the baseline's {_cell(a, 'baseline_p_top1_change')}: "
            f"{a.finding} ({word}){note}"
        )
    return verdict_text(
        combine(words),
        "P(top-1 change), 95% CIs over seeds and test images: "
        + "; ".join(parts)
        + " (reproduced needs each remedy to lower it and leave it above 0)",
    )


# claims at a glance (README): the claim in a line, the paper's evidence, the figure, the key number
SHORT = CLAIM
PAPER_EVIDENCE = "antialiasing (BlurPool) and more augmentation help only partly"
FIGURE = CONTRASTS_FIGURE


def headline(read) -> str:
    """Each remedy minus the baseline in its judged zone (95% CI), and the accuracy range."""
    rem = tidy_frame(read(CONTRASTS_FIGURE)["remedies"])
    zones = tidy_frame(read(ZONES_FIGURE)["zones"])
    cells = []
    for remedy, zone in REMEDY_ZONES.items():
        r = rem[(rem.remedy == remedy) & (rem.zone == zone) & (rem.images == ALL)].iloc[0]
        name = "uniform" if remedy == UNIFORM else "BlurPool"
        cells.append(f"{name} ({zone.replace('-', ' ')}) {_diff(r)}")
    return (
        f"remedy minus photographer, P(top-1 change): {', '.join(cells)} (networks at "
        f"{value_range(zones.accuracy)} accuracy)"
    )


def readme_table(folder: Path | None = None) -> str:
    """docs/paper-vs-ours.md's remedies table on the shipped canvas networks (its "remedies" section after the
    switch, notebooks/drafts/SWITCH.md): per variant, P(top-1 change) per zone with its 95% CI and the
    first-frame accuracy per zone, from 09_canvas_zones' sidecar; then each remedy minus the baseline in the
    zone its verdict reads, from 09_canvas_contrasts'."""
    zones = tidy_frame(sidecar_values(ZONES_FIGURE, folder)["zones"]).set_index(["variant", "zone"])
    rem = tidy_frame(sidecar_values(CONTRASTS_FIGURE, folder)["remedies"])
    present = [z for z in ZONES if z in set(zones.index.get_level_values("zone"))]
    head = " | ".join(f"P(top-1 change) {z.replace('-', ' ')}" for z in present)
    rows = [
        f"| variant | {head} | accuracy {' / '.join(z.replace('-', ' ') for z in present)} |",
        "|" + " --- |" * (len(present) + 2),
    ]
    for variant in dict.fromkeys(zones.index.get_level_values("variant")):
        cells = " | ".join(_cell(zones.loc[(variant, z)], "p_top1_change") for z in present)
        acc = " / ".join(f"{zones.loc[(variant, z)].accuracy:.2f}" for z in present)
        rows.append(f"| {NAMES.get(variant, variant)} | {cells} | {acc} |")
    judged = rem[rem.judged.astype(bool) & (rem.images == ALL)]
    diffs = "; ".join(
        f"{NAMES.get(r.remedy, r.remedy)} in the {r.zone.replace('-', ' ')} zone {_diff(r._asdict())} "
        f"({r.finding})"
        for r in judged.itertuples()
    )
    seeds, images = value_range(zones.seeds, 0), f"{int(zones.images.max()):,}"
    rows += [
        "",
        f"{images} CIFAR-10 test images x {seeds} seed(s) per variant, one one-pixel diagonal pair per image "
        "and zone; 95% CIs over seeds and test images (metrics.seed_image_ci). Each remedy minus the "
        f"photographer baseline in the zone its verdict reads, P(top-1 change): {diffs}.",
    ]
    return "\n".join(rows)
