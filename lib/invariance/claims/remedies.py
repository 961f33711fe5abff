"""The remedies experiment (notebook 09): train the variants, measure them along the canvas diagonal.

Variants (same network width, data, steps and seeds; only placement or subsampling differ):
photographer     objects placed by a Gaussian around the centre (a photographer's bias), stride-2 convs;
uniform          uniform placement over the whole canvas (more augmentation), stride-2 convs;
blurpool         photographer placement, blur before every subsampling (antialiasing);
uniform+blurpool both remedies;
no subsampling   photographer placement, every layer at full resolution (~20x the compute).

Test: every test object at every diagonal offset (d, d), d = 0..N-n; a pair is a one-pixel diagonal
shift (d, d) -> (d+1, d+1), the paper's translation step. Positions are labelled by where the pair's
midpoint lies under the photographer's distribution: "centre" within 1 sigma of the canvas centre in
each axis (typical), "edge" at least 3 sigma away (atypical: < 0.3% of photographer placements per axis).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
import torch

from invariance.kernels import metrics
from invariance.kernels.transforms import diagonal_positions, embed, paste, resize
from invariance.runner import cache, evaluate
from invariance.sources.cifar import Split
from invariance.training.cnn import Architecture, TrainConfig, Trained, trained, weights_digest
from invariance.training.placement import PlacementDistribution

VARIANTS: dict[str, tuple[str, str]] = {
    "photographer": ("gaussian", "stride"),
    "uniform": ("uniform", "stride"),
    "blurpool": ("gaussian", "blurpool"),
    "uniform+blurpool": ("uniform", "blurpool"),
    "no subsampling": ("gaussian", "none"),
}
ZONES = ("centre", "edge")
EVAL_VERSION = "1"


def display_name(variant: str) -> str:
    """A variant (or a comparison of variants) as figures and text name it: "uniform+blurpool - blurpool" ->
    "uniform + BlurPool - BlurPool" (Zhang's name for the blurred subsampling); tables keep the short keys."""
    return variant.replace("blurpool", "BlurPool").replace("+", " + ")


def variant_config(name: str, **train: object) -> TrainConfig:
    """The TrainConfig of a named variant; train holds TrainConfig fields (steps, seed, ...) and
    canvas/size/sigma for the placement."""
    if name not in VARIANTS:
        raise ValueError(f"unknown variant {name!r}; choose from {list(VARIANTS)}")
    kind, downsampling = VARIANTS[name]
    geometry = {k: train.pop(k) for k in ("canvas", "size", "sigma") if k in train}
    return TrainConfig(
        placement=PlacementDistribution(kind, **geometry),
        arch=Architecture(downsampling=downsampling),
        **train,
    )


def train_variants(
    names: Sequence[str], seeds: Sequence[int], data: Split, *, device: str = "cpu", **train: object
) -> dict[tuple[str, int], Trained]:
    """Every variant x seed, trained or loaded from the weight cache: {(variant, seed): Trained}."""
    return {
        (name, seed): trained(variant_config(name, seed=seed, **train), data, device=device)
        for name in names
        for seed in seeds
    }


@torch.no_grad()
def position_probs(
    model: torch.nn.Module,
    objects: torch.Tensor,
    offsets: torch.Tensor,
    canvas: int,
    batch: int = 512,
    device: str = "cpu",
) -> torch.Tensor:
    """Softmax of the model for every object (N, 3, h, w) uint8 at every offset (K, 2): (N, K, classes),
    computed on device, returned on the CPU."""
    n, k = len(objects), len(offsets)
    model = model.to(device, memory_format=torch.channels_last)  # ~1.5x faster on CPU; same weights
    obj_idx = torch.arange(n).repeat_interleave(k)
    off_idx = torch.arange(k).repeat(n)
    out = []
    for i in range(0, n * k, batch):
        sel = slice(i, i + batch)
        x = paste(objects[obj_idx[sel]].to(device), offsets[off_idx[sel]], canvas)[0].float().div_(255)
        out.append(model(x.contiguous(memory_format=torch.channels_last)).softmax(1).cpu())
    model.to("cpu")
    return torch.cat(out).view(n, k, -1)


def zone(midpoint: np.ndarray, centre: float, sigma: float) -> np.ndarray:
    """'centre' within 1 sigma of the canvas centre, 'edge' at least 3 sigma away, else 'between'."""
    dist = np.abs(np.asarray(midpoint, dtype=float) - centre)
    return np.where(dist <= sigma, "centre", np.where(dist >= 3 * sigma, "edge", "between"))


def _step_pairs(probs: torch.Tensor, labels: torch.Tensor, step: str) -> pd.DataFrame:
    """evaluate.pairs_of for objects 0..N-1 (probs (N, K, C)), frame_a named `step`, frame_b dropped."""
    table = evaluate.pairs_of(probs, range(len(probs)), labels)
    return table.drop(columns="frame_b").rename(columns={"frame_a": step})


def diagonal_pairs(run: Trained, test: Split, device: str = "cpu") -> pd.DataFrame:
    """Pairs of one-pixel diagonal steps of every test object across the whole canvas, with offset (d of
    frame a), midpoint and zone."""
    p = run.config.placement
    offsets = diagonal_positions((0, 0), p.max_offset)
    probs = position_probs(run.model, test.images, offsets, p.canvas, device=device)
    table = _step_pairs(probs, test.labels, "offset")
    table["midpoint"] = table.offset + 0.5
    table["zone"] = zone(table.midpoint.to_numpy(), p.centre, p.sigma)
    return table


def size_pairs(
    run: Trained, test: Split, sizes: Sequence[int], steps: int = 4, device: str = "cpu"
) -> pd.DataFrame:
    """Pairs of one-pixel diagonal steps around the canvas centre with the objects resized (antialiased
    bicubic) to each side in sizes; the networks were trained at one size (32 px). Adds a `size` column."""
    canvas = run.config.placement.canvas
    tables = []
    for side in sizes:
        if side + steps > canvas:
            raise ValueError(f"{side}px objects moved {steps}px do not fit the {canvas}px canvas")
        objects = (resize(test.images.float() / 255, (side, side)) * 255).round().to(torch.uint8)
        start = (canvas - side - steps) // 2
        offsets = diagonal_positions((start, start), steps)
        probs = position_probs(run.model, objects, offsets, canvas, device=device)
        tables.append(_step_pairs(probs, test.labels, "step").assign(size=side))
    return pd.concat(tables, ignore_index=True)


def _cached_runs(runs: Mapping[tuple[str, int], Trained], slug: str, key: dict, compute) -> pd.DataFrame:
    """compute(run) for every run, cached per run under slug-<run name> with key + the run's weights."""
    tables = []
    for (name, seed), run in runs.items():
        # the weights themselves (their digest), not only their config: a network retrained elsewhere into
        # the same cache folder gets its own pair tables
        run_key = {"weights": run.folder.name, "weights_sha256": weights_digest(run), **key}
        table = cache.cached_once(f"{slug}-{run.config.name}", run_key, lambda run=run: compute(run))
        tables.append(table.assign(variant=name, seed=seed))
    return pd.concat(tables, ignore_index=True)


def test_digest(test: Split) -> str:
    """SHA-256 of a test split's images and labels: which subset was drawn, not only its size."""
    h = hashlib.sha256(test.images.contiguous().numpy().tobytes())
    h.update(test.labels.contiguous().numpy().tobytes())
    return h.hexdigest()[:32]


def evaluate_variants(
    runs: Mapping[tuple[str, int], Trained], test: Split, device: str = "cpu"
) -> pd.DataFrame:
    """diagonal_pairs of every trained run, one table (cached by the run's weights and the test set)."""
    key = {"test": test.source, "n": len(test), "pixels": test_digest(test), "version": EVAL_VERSION}
    return _cached_runs(runs, "remedies", key, lambda run: diagonal_pairs(run, test, device))


def evaluate_sizes(
    runs: Mapping[tuple[str, int], Trained], test: Split, sizes: Sequence[int], device: str = "cpu"
) -> pd.DataFrame:
    """size_pairs of every trained run, one table (cached)."""
    key = {
        "test": test.source,
        "n": len(test),
        "pixels": test_digest(test),
        "sizes": list(sizes),
        "version": EVAL_VERSION,
    }
    return _cached_runs(runs, "remedies-sizes", key, lambda run: size_pairs(run, test, sizes, device=device))


def _ci(t: pd.DataFrame, metric: str) -> dict[str, float]:
    """A pair metric of trained networks with its 95% CI over seeds and test images (seed_image_ci) and
    the interval a rerun with new trainings should land in (rerun_interval): {metric, metric_low,
    metric_high, metric_rerun_low, metric_rerun_high}."""
    v = metrics.PAIR_METRICS[metric](t)
    mean, lo, hi = metrics.seed_image_ci(v, t.seed, t.image_id)
    r_lo, r_hi = metrics.rerun_interval(v, t.seed, t.image_id)
    return {
        metric: mean,
        f"{metric}_low": lo,
        f"{metric}_high": hi,
        f"{metric}_rerun_low": r_lo,
        f"{metric}_rerun_high": r_hi,
    }


def size_table(pairs: pd.DataFrame) -> pd.DataFrame:
    """Per variant x object size: accuracy and P(top-1 change) with 95% CIs over seeds and test images."""
    rows = []
    for (variant, side), t in pairs.groupby(["variant", "size"], sort=False):
        row = {"variant": variant, "size": side}
        for metric in ("accuracy", "p_top1_change"):
            row |= _ci(t, metric)
        rows.append(row)
    return pd.DataFrame(rows)


def remedies_table(pairs: pd.DataFrame) -> pd.DataFrame:
    """Per variant x zone (centre, edge) x metric: value with a 95% CI over seeds and test images (crossed
    bootstrap: training noise included), the per-seed values and their spread (max - min)."""
    rows = []
    for variant, per_variant in pairs.groupby("variant", sort=False):
        for where in ZONES:
            t = per_variant[per_variant.zone == where]
            for metric in ("accuracy", "p_top1_change", "mac"):
                c = _ci(t, metric)
                by_seed = metrics.PAIR_METRICS[metric](t).groupby(t.seed).mean()
                rows.append(
                    {
                        "variant": variant,
                        "zone": where,
                        "metric": metric,
                        "value": c[metric],
                        "ci_low": c[f"{metric}_low"],
                        "ci_high": c[f"{metric}_high"],
                        "rerun_low": c[f"{metric}_rerun_low"],
                        "rerun_high": c[f"{metric}_rerun_high"],
                        "seeds": " / ".join(f"{x:.3f}" for x in by_seed),
                        "seed_spread": float(by_seed.max() - by_seed.min()),
                        "n_seeds": int(by_seed.size),
                        "images": t.image_id.nunique(),
                    }
                )
    return pd.DataFrame(rows)


def geometry(runs: Mapping[tuple[str, int], Trained]) -> dict[str, float]:
    """The canvas centre offset and the photographer's sigma of the runs (for plots of the zones)."""
    p = next(iter(runs.values())).config.placement
    return {"centre": p.centre, "sigma": p.sigma}


def wide(table: pd.DataFrame) -> pd.DataFrame:
    """remedies_table as one row per variant, columns metric x zone (values only)."""
    out = table.pivot_table(index="variant", columns=["metric", "zone"], values="value", sort=False)
    order = pd.MultiIndex.from_product([["accuracy", "p_top1_change", "mac"], list(ZONES)])
    return out.reindex(columns=order)


def position_curves(pairs: pd.DataFrame) -> pd.DataFrame:
    """Mean accuracy, P(top-1 change) and MAC per variant and diagonal offset (seeds and images pooled),
    each with a 95% CI over seeds and test images (<metric>_low, <metric>_high; seed_image_ci) and the
    number of test images per point (images)."""
    rows = []
    for (variant, offset), t in pairs.groupby(["variant", "offset"], sort=False):
        row = {"variant": variant, "offset": offset, "images": t.image_id.nunique()}
        for metric in ("accuracy", "p_top1_change", "mac"):
            row |= _ci(t, metric)
        rows.append(row)
    return pd.DataFrame(rows)


def comparisons(pairs: pd.DataFrame, metric: str = "p_top1_change") -> pd.DataFrame:
    """Every claim the remedies table invites, judged with training noise: for each zone, every pair of
    variants (the later one minus the earlier, so the photographer baseline comes first), and within each
    variant edge against centre. Columns: comparison, zone, difference (a - b), low, high (95% CI over
    seeds and test images, metrics.difference_ci / seed_image_ci), p, p_holm (Holm-adjusted over all the
    comparisons) and finding (p_holm < 0.05: a difference the seeds and images establish; the others are
    not resolved by this many seeds)."""
    variants = list(dict.fromkeys(pairs.variant))
    rows = []
    for where in ZONES:
        for i, base in enumerate(variants):
            b = pairs[(pairs.variant == base) & (pairs.zone == where)]
            for name in variants[i + 1 :]:
                a = pairs[(pairs.variant == name) & (pairs.zone == where)]
                d, lo, hi, p = metrics.difference_ci(a, b, metric)
                r_lo, r_hi = metrics.difference_rerun_interval(a, b, metric)
                rows.append(
                    {
                        "comparison": f"{name} - {base}",
                        "zone": where,
                        "difference": d,
                        "low": lo,
                        "high": hi,
                        "rerun_low": r_lo,
                        "rerun_high": r_hi,
                        "p": p,
                    }
                )
    for name in variants:
        t = pairs[pairs.variant == name]
        # the same networks and images in both zones: the per (seed, image) gap
        per = t.assign(v=metrics.PAIR_METRICS[metric](t)).groupby(["seed", "image_id", "zone"]).v.mean()
        gap = (per.xs("edge", level="zone") - per.xs("centre", level="zone")).dropna().reset_index()
        d, lo, hi, p = metrics.seed_image_ci(gap.v, gap.seed, gap.image_id, with_p=True)
        r_lo, r_hi = metrics.rerun_interval(gap.v, gap.seed, gap.image_id)
        rows.append(
            {
                "comparison": f"{name}: edge - centre",
                "zone": "both",
                "difference": d,
                "low": lo,
                "high": hi,
                "rerun_low": r_lo,
                "rerun_high": r_hi,
                "p": p,
            }
        )
    out = pd.DataFrame(rows)
    out["p_holm"] = metrics.holm(out.p)
    return out.assign(finding=out.p_holm < 0.05, metric=metric)


def training_logs(runs: Mapping[tuple[str, int], Trained], window: int = 25) -> pd.DataFrame:
    """Per-step training loss and batch accuracy, smoothed over `window` steps: variant, seed, step, ..."""
    parts = []
    for (name, seed), run in runs.items():
        log = run.log.copy()
        log[["loss", "accuracy"]] = log[["loss", "accuracy"]].rolling(window, min_periods=1).mean()
        parts.append(log.assign(variant=name, seed=seed))
    return pd.concat(parts, ignore_index=True)


def final_training(runs: Mapping[tuple[str, int], Trained], window: int = 25) -> pd.DataFrame:
    """Per variant and seed: steps trained and the training loss and batch accuracy over the last `window`
    steps (the end of the curves in the setup figure)."""
    logs = training_logs(runs, window)
    return logs.groupby(["variant", "seed"], sort=False).tail(1).reset_index(drop=True)


def placement_samples(kinds: Sequence[str] = ("gaussian", "uniform"), n: int = 20000, **geometry: object):
    """{kind: (n, 2) offsets} drawn from each training distribution (seed 0), for histograms."""
    gen = torch.Generator().manual_seed(0)
    return {kind: PlacementDistribution(kind, **geometry).sample(n, gen) for kind in kinds}


def example_canvases(test: Split, offsets: Sequence[int], index: int = 0, canvas: int = 64) -> torch.Tensor:
    """One test object at diagonal offsets (d, d): (len(offsets), 3, canvas, canvas) uint8."""
    return embed(test.images[index], torch.tensor([[d, d] for d in offsets]), canvas)[0]


def describe(profile: str, runs: Mapping[tuple[str, int], Trained], train: Split, test: Split) -> str:
    """Figure footer: profile, what was trained (steps, seeds, data) and what was tested."""
    cfg = next(iter(runs.values())).config
    seeds = sorted({seed for _, seed in runs})
    barely = " (BARELY TRAINED: smoke run)" if cfg.steps < 100 else ""
    return (
        f"profile {profile} | CIFAR-10 (real) | small CNNs trained here from scratch{barely}: "
        f"{cfg.steps} steps x {cfg.batch_size} of {len(train):,} train images, seeds {seeds} | "
        f"test: {len(test):,} images x {cfg.placement.max_offset + 1} diagonal offsets "
        f"in a {cfg.placement.canvas}px black canvas"
    )
