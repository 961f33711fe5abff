"""Notebook 09 on the shipped canvas networks, the views around the verdicts (canvas_remedies.py holds the
zone measurement and claims 3 and 4): the setup (example canvases, where each variant placed its objects in
training, the training loss curves from weights/manifest.json), the position curves (accuracy and P(top-1
change) of a one-pixel diagonal step at every diagonal offset) and the object-size curves (every network saw
only 32 px objects).

Geometry (catalogue.CANVAS): a 32 px object on a 112 px black canvas, its top-left corner at (d, d), d =
0..80. A pair is the step (d, d) -> (d + 1, d + 1). Zones of offsets (catalogue.zone_offsets, by the
photographer's distribution): typical d = 34-46, atypical interior 32-33 and 47-48, border 0-31 and 49-80.
A pair's zone is its frames' zone when both share one, else STRADDLES (pair_zones).

Position curves: every test image at every offset (81 frames give the 80 consecutive pairs, so every offset
costs what every second one would). Sizes: the test objects resized (antialiased bicubic) to each side,
centred on the canvas centre, moved by one-pixel diagonal steps around it (typical positions).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch

from invariance.claims.canvas_remedies import (
    ATYPICAL,
    BORDER,
    NAMES,
    TYPICAL,
    UNTRAINED_TITLE,
    VARIANTS,
    ZONES,
    CanvasNetwork,
    untrained_run,
)
from invariance.core import progress
from invariance.kernels import metrics
from invariance.kernels.transforms import diagonal_positions, embed, paste, resize
from invariance.presentation.figures import legend_above, use_style
from invariance.presentation.text import Values, tidy_frame, value_range
from invariance.runner import cache, evaluate
from invariance.sources.cifar import Split
from invariance.training import catalogue, weights
from invariance.training.placement import PlacementDistribution

SETUP_FIGURE = "09_canvas_setup"
POSITIONS_FIGURE = "09_canvas_positions"
SIZE_FIGURE = "09_canvas_size"
EVAL_VERSION = 1
TRAINED_SIZE = catalogue.CANVAS.size  # every canvas network saw only objects of this side (px)
STRADDLES = "straddles"  # a pair whose two frames lie in different zones
EXAMPLE_OFFSETS = (0, 16, 32, 40, 48, 80)  # border, border, atypical, typical, atypical, border
# zone colours: yellow, lavender, grey, apart from the variants' blue, orange and green
ZONE_FILL = {TYPICAL: "#fff0b3", ATYPICAL: "#e8d6f3", BORDER: "0.9"}  # shading behind curves
ZONE_EDGE = {TYPICAL: "#d9a400", ATYPICAL: "tab:purple", BORDER: "0.45"}  # lines and frames
PLACEMENTS = {"photographer": "gaussian", "uniform": "uniform"}  # variant -> placement kind in training


# --- geometry -----------------------------------------------------------------------------------------------


def zone_spans(placement: PlacementDistribution = catalogue.CANVAS) -> list[tuple[str, int, int]]:
    """The zones as runs of consecutive offsets along the diagonal, in order: [(zone, first d, last d)]
    (a zone on both sides of the centre gives two runs)."""
    zone_of = {d: z for z, ds in catalogue.zone_offsets(placement).items() for d in ds}
    spans: list[list] = []
    for d in range(placement.max_offset + 1):
        if spans and spans[-1][0] == zone_of[d]:
            spans[-1][2] = d
        else:
            spans.append([zone_of[d], d, d])
    return [(z, lo, hi) for z, lo, hi in spans]


def pair_zones(offsets, placement: PlacementDistribution = catalogue.CANVAS) -> np.ndarray:
    """The zone of each pair (d, d) -> (d + 1, d + 1), d in offsets: the zone of both frames, or STRADDLES."""
    zone_of = {d: z for z, ds in catalogue.zone_offsets(placement).items() for d in ds}
    return np.array(
        [zone_of[d] if zone_of[d] == zone_of.get(d + 1) else STRADDLES for d in map(int, offsets)]
    )


def shade_zones(
    ax: plt.Axes, placement: PlacementDistribution = catalogue.CANVAS, legend: bool = True
) -> None:
    """Shade each zone's offsets [first - 0.5, last + 0.5] on ax's x axis (offset d); a pair drawn at its
    midpoint d + 0.5 then lies inside its zone, or on a boundary when it straddles two."""
    seen = set()
    for zone, lo, hi in zone_spans(placement):
        name = zone.replace("-", " ") if legend and zone not in seen else None
        ax.axvspan(lo - 0.5, hi + 0.5, color=ZONE_FILL[zone], lw=0, zorder=0, label=name)
        seen.add(zone)
    ax.set_xlim(-0.5, placement.max_offset + 0.5)
    ax.set_xticks(range(0, placement.max_offset + 1, 8))  # multiples of the total stride 8


def placement_probabilities(placement: PlacementDistribution) -> np.ndarray:
    """(max_offset + 1,) float64: the probability of each offset per axis under the training distribution
    (PlacementDistribution.sample: Gaussian rounded to the nearest offset and clipped to the canvas; uniform;
    centre)."""
    n = placement.max_offset + 1
    if placement.kind == "uniform":
        return np.full(n, 1 / n)
    if placement.kind == "centre":
        return np.eye(n)[int(placement.centre)]
    edges = torch.arange(n + 1, dtype=torch.float64) - 0.5  # offset d collects (d - 0.5, d + 0.5]
    cdf = torch.special.ndtr((edges - placement.centre) / placement.sigma).numpy()
    cdf[0], cdf[-1] = 0.0, 1.0  # clipping: everything beyond the canvas lands on the first or last offset
    return np.diff(cdf)


def zone_mass(placements: Mapping[str, PlacementDistribution]) -> pd.DataFrame:
    """Per training distribution (name -> placement) and zone (catalogue.zone_offsets of the first one): the
    probability per axis that an offset lies in the zone. Columns: placement, zone, offsets, mass."""
    rows = []
    zones = catalogue.zone_offsets(next(iter(placements.values())))
    for name, p in placements.items():
        prob = placement_probabilities(p)
        for zone, ds in zones.items():
            rows.append({"placement": name, "zone": zone, "offsets": len(ds), "mass": float(prob[ds].sum())})
    return pd.DataFrame(rows)


def training_placements(
    placement: PlacementDistribution = catalogue.CANVAS,
) -> dict[str, PlacementDistribution]:
    """{variant: its training placement} for the photographer and the uniform variant (the BlurPool variant
    places like the photographer)."""
    return {
        v: PlacementDistribution(kind, placement.canvas, placement.size, placement.sigma)
        for v, kind in PLACEMENTS.items()
    }


def example_canvases(
    test: Split,
    offsets: Sequence[int] = EXAMPLE_OFFSETS,
    index: int = 0,
    canvas: int = catalogue.CANVAS.canvas,
) -> torch.Tensor:
    """One test object with its top-left corner at each (d, d): (len(offsets), 3, canvas, canvas) uint8."""
    return embed(test.images[index], torch.tensor([[d, d] for d in offsets]), canvas, with_covered=False)[0]


# --- training curves from the manifest ----------------------------------------------------------------------


def curve_steps(record: Mapping) -> np.ndarray:
    """The training step at which each point of a manifest entry's loss curve ends: its points are means
    over windows of `every_steps` steps (the last window may be shorter), so point i ends at step
    min((i + 1) * every_steps, steps)."""
    curve = record["loss_curve"]
    every, n = int(curve["every_steps"]), len(curve["mean_loss"])
    ends = (np.arange(n) + 1) * every
    return np.minimum(ends, int(record.get("steps", ends[-1] if n else 0)))


def loss_curves(nets: Sequence[CanvasNetwork], folder: Path | None = None) -> pd.DataFrame:
    """The training loss curve of every trained network in nets, read from the weights manifest (untrained
    ones have none): variant, seed, name, step (the window's last step), loss (the window's mean), epoch
    (step / steps per epoch)."""
    columns = ["variant", "seed", "name", "step", "loss", "epoch"]
    rows = []
    for n in nets:
        if n.manifest_accuracy is None:
            continue
        record = weights.entry(n.name, folder)
        steps = curve_steps(record)
        per_epoch = record["steps"] / record["config"]["epochs"] if record.get("steps") else np.nan
        for step, loss in zip(steps, record["loss_curve"]["mean_loss"], strict=True):
            rows.append([n.variant, n.seed, n.name, int(step), float(loss), step / per_epoch])
    return pd.DataFrame(rows, columns=columns)


def final_losses(curves: pd.DataFrame) -> pd.DataFrame:
    """The last point of each network's loss curve: variant, seed, name, step, loss, epoch."""
    return curves.groupby("name", sort=False).tail(1).reset_index(drop=True)


# --- measurement --------------------------------------------------------------------------------------------


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
    computed on device in eval mode, returned on the CPU."""
    n, k = len(objects), len(offsets)
    obj_idx = torch.arange(n).repeat_interleave(k)
    off_idx = torch.arange(k).repeat(n)
    out = []
    with evaluate.eval_mode(model):
        model.to(device, memory_format=torch.channels_last)  # ~1.5x faster on CPU; same weights
        for i in range(0, n * k, batch):
            sel = slice(i, i + batch)
            x = paste(objects[obj_idx[sel]].to(device), offsets[off_idx[sel]], canvas)[0].float().div_(255)
            out.append(model(x.contiguous(memory_format=torch.channels_last)).float().softmax(1).cpu())
        model.to("cpu")
    return torch.cat(out).view(n, k, -1)


def step_pairs(probs: torch.Tensor, labels: torch.Tensor, step: str) -> pd.DataFrame:
    """evaluate.pairs_of for objects 0..N-1 (probs (N, K, C)), frame_a named `step`, frame_b dropped."""
    table = evaluate.pairs_of(probs, range(len(probs)), labels)
    return table.drop(columns="frame_b").rename(columns={"frame_a": step})


def resized_objects(images: torch.Tensor, side: int) -> torch.Tensor:
    """Objects (N, 3, h, w) uint8 resized to side x side (antialiased bicubic), uint8."""
    return (resize(images.float() / 255, (side, side)) * 255).round().to(torch.uint8)


def _network_key(net: CanvasNetwork, test: Split, canvas: int) -> dict:
    return {
        "network": net.identity,
        "variant": net.variant,
        "test": test.source,
        "n": len(test),
        "canvas": canvas,
    }


def measure_path(
    net: CanvasNetwork,
    test: Split,
    placement: PlacementDistribution = catalogue.CANVAS,
    batch: int = 256,
    device: str = "cpu",
) -> pd.DataFrame:
    """One network's pairs along the whole diagonal (cached by network identity and test images): every test
    image at every offset d = 0..max_offset, pairs (d, d) -> (d + 1, d + 1): evaluate.COLUMNS less frame_b,
    frame_a named offset, plus zone (pair_zones), variant and seed; N x max_offset rows."""
    key = _network_key(net, test, placement.canvas) | {"path": "diagonal", "version": EVAL_VERSION}

    def compute() -> pd.DataFrame:
        offsets = diagonal_positions((0, 0), placement.max_offset)
        probs = position_probs(net.module, test.images, offsets, placement.canvas, batch, device)
        t = step_pairs(probs, test.labels, "offset")
        return t.assign(zone=pair_zones(t.offset, placement))

    return cache.cached_once(f"canvas-path-{net.name}", key, compute).assign(
        variant=net.variant, seed=net.seed
    )


def measure_sizes(
    net: CanvasNetwork,
    test: Split,
    sizes: Sequence[int],
    steps: int = 2,
    canvas: int = catalogue.CANVAS.canvas,
    batch: int = 256,
    device: str = "cpu",
) -> pd.DataFrame:
    """One network's pairs per object size (cached): each test object resized to each side in sizes, centred
    on the canvas centre and moved by `steps` one-pixel diagonal steps around it (first frame at
    centre_start): evaluate.COLUMNS less frame_b, frame_a named step, plus size, offset (of the first frame),
    variant and seed."""
    key = _network_key(net, test, canvas) | {"sizes": list(sizes), "steps": steps, "version": EVAL_VERSION}

    def compute() -> pd.DataFrame:
        tables = []
        for side in sizes:
            start = centre_start(side, steps, canvas)
            offsets = diagonal_positions((start, start), steps)
            probs = position_probs(
                net.module, resized_objects(test.images, side), offsets, canvas, batch, device
            )
            t = step_pairs(probs, test.labels, "step")
            tables.append(t.assign(size=side, offset=start + t.step))
        return pd.concat(tables, ignore_index=True)

    return cache.cached_once(f"canvas-sizes-{net.name}", key, compute).assign(
        variant=net.variant, seed=net.seed
    )


def centre_start(side: int, steps: int, canvas: int = catalogue.CANVAS.canvas) -> int:
    """The first frame's offset d of a `steps`-step diagonal path of a side-px object centred on the canvas
    (its centre at the canvas centre, to a pixel); ValueError when the path leaves the canvas."""
    start = (canvas - side - steps) // 2
    if start < 0:
        raise ValueError(f"{side}px objects moved {steps}px do not fit the {canvas}px canvas")
    return start


def path_table(
    nets: Sequence[CanvasNetwork],
    test: Split,
    placement: PlacementDistribution = catalogue.CANVAS,
    batch: int | None = None,
    device: str = "cpu",
) -> pd.DataFrame:
    """measure_path of every network (a progress bar per network), concatenated."""
    frames = len(test) * (placement.max_offset + 1)
    bar = progress.bar(len(nets), "position curves", unit="network", where=f"cache ({frames:,} frames each)")
    tables = []
    for n in nets:
        tables.append(measure_path(n, test, placement, batch or 256, device))
        bar.update(1)
    bar.close()
    return pd.concat(tables, ignore_index=True)


def size_pairs(
    nets: Sequence[CanvasNetwork],
    test: Split,
    sizes: Sequence[int],
    steps: int = 2,
    canvas: int = catalogue.CANVAS.canvas,
    batch: int | None = None,
    device: str = "cpu",
) -> pd.DataFrame:
    """measure_sizes of every network (a progress bar per network), concatenated."""
    bar = progress.bar(len(nets), "object sizes", unit="network", where="cache")
    tables = []
    for n in nets:
        tables.append(measure_sizes(n, test, sizes, steps, canvas, batch or 256, device))
        bar.update(1)
    bar.close()
    return pd.concat(tables, ignore_index=True)


# --- tables -------------------------------------------------------------------------------------------------


def metric_ci(t: pd.DataFrame, metric: str) -> dict[str, float]:
    """A pair metric of trained networks with its 95% CI over seeds and test images (seed_image_ci) and the
    interval a rerun with new trainings should land in (rerun_interval): {metric, metric_low, metric_high,
    metric_rerun_low, metric_rerun_high}."""
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


def position_curves(pairs: pd.DataFrame) -> pd.DataFrame:
    """Mean accuracy, P(top-1 change) and MAC per variant and diagonal offset (seeds and images pooled),
    each with a 95% CI over seeds and test images (<metric>_low, <metric>_high; seed_image_ci), the number
    of test images per point (images) and, where pairs has one, the pair's zone."""
    rows = []
    for (variant, offset), t in pairs.groupby(["variant", "offset"], sort=False):
        row = {
            "variant": variant,
            "offset": offset,
            "images": t.image_id.nunique(),
            "seeds": t.seed.nunique(),
        }
        if "zone" in t:
            row["zone"] = t.zone.iloc[0]
        for metric in ("accuracy", "p_top1_change", "mac"):
            row |= metric_ci(t, metric)
        rows.append(row)
    return pd.DataFrame(rows)


def zone_means(curves: pd.DataFrame) -> pd.DataFrame:
    """Per variant and zone (pairs that straddle two zones left out): the mean over the zone's offsets of
    the curves' accuracy and P(top-1 change), and their lowest and highest offset values: variant, zone,
    offsets, accuracy, accuracy_min, accuracy_max, p_top1_change, p_top1_change_min, p_top1_change_max. A
    description of the curves; the zones' tests are canvas_remedies'."""
    rows = []
    inside = curves[curves.zone != STRADDLES]
    for (variant, zone), t in inside.groupby(["variant", "zone"], sort=False):
        row = {"variant": variant, "zone": zone, "offsets": len(t)}
        for m in ("accuracy", "p_top1_change"):
            row |= {m: float(t[m].mean()), f"{m}_min": float(t[m].min()), f"{m}_max": float(t[m].max())}
        rows.append(row)
    out = pd.DataFrame(rows)
    order = {z: i for i, z in enumerate(ZONES)} | {v: i for i, v in enumerate(VARIANTS)}
    return out.sort_values(["variant", "zone"], key=lambda c: c.map(order), kind="stable", ignore_index=True)


def size_table(pairs: pd.DataFrame) -> pd.DataFrame:
    """Per variant x object size: accuracy and P(top-1 change) with 95% CIs over seeds and test images."""
    rows = []
    for (variant, side), t in pairs.groupby(["variant", "size"], sort=False):
        row = {"variant": variant, "size": side}
        for metric in ("accuracy", "p_top1_change"):
            row |= metric_ci(t, metric)
        rows.append(row)
    return pd.DataFrame(rows)


# --- figures ------------------------------------------------------------------------------------------------


def _untrained_mark(fig: plt.Figure, y: float = 1.06) -> None:
    fig.text(0.5, y, UNTRAINED_TITLE, ha="center", va="bottom", color="C3", fontsize=11, weight="bold")


def _colour(variant: str) -> str:
    return f"C{VARIANTS.index(variant)}" if variant in VARIANTS else "0.3"


def plot_setup(
    examples: torch.Tensor,
    offsets: Sequence[int],
    placements: Mapping[str, PlacementDistribution],
    curves: pd.DataFrame,
    untrained: bool = False,
) -> plt.Figure:
    """Top: one test object at diagonal offsets (d, d), the diagonal of top-left corners coloured by zone, the
    frame in the zone's colour. Bottom left: per axis, the probability of each offset under each training
    distribution (log scale), the zones shaded. Bottom right: the shipped networks' training loss
    (loss_curves), or, untrained, a note that there are none.

    examples: (K, 3, N, N) uint8 (example_canvases); placements: {variant: placement}
    (training_placements)."""
    use_style()
    first = next(iter(placements.values()))
    zone_of = {d: z for z, ds in catalogue.zone_offsets(first).items() for d in ds}
    fig = plt.figure(figsize=(12, 6.3))
    outer = fig.add_gridspec(2, 1, height_ratios=[1, 1.6], hspace=0.22)
    top = outer[0].subgridspec(1, len(offsets), wspace=0.08)
    for k, d in enumerate(offsets):
        ax = fig.add_subplot(top[k])
        ax.imshow(examples[k].permute(1, 2, 0).numpy(), interpolation="nearest")
        for zone, lo, hi in zone_spans(first):  # the path of the object's top-left corner
            ax.plot([lo, hi], [lo, hi], color=ZONE_EDGE[zone], lw=2.2, solid_capstyle="butt")
        ax.plot(d, d, "o", ms=6, mfc="white", mec="k", mew=1)
        ax.set(xticks=[], yticks=[])
        zone = zone_of[d]
        for spine in ax.spines.values():
            spine.set(visible=True, color=ZONE_EDGE[zone], lw=3)
        ax.set_title(f"{zone.replace('-', ' ')}\nd = {d}", fontsize=9)
    bottom = outer[1].subgridspec(1, 2, wspace=0.25)
    ax = fig.add_subplot(bottom[0])
    shade_zones(ax, first)
    for variant, p in placements.items():
        prob = placement_probabilities(p)
        d = np.arange(len(prob))
        ax.step(
            d, np.where(prob > 0, prob, np.nan), where="mid", color=_colour(variant), lw=1.5, label=variant
        )
    ax.set_yscale("log")
    ax.set_ylim(1e-6, 1)
    ax.set(
        xlabel="offset d of the object's top-left corner (per axis; ticks: multiples of the stride 8)",
        ylabel="probability in training (per axis, log)",
        title=f"where training placed the object (photographer: sigma {first.sigma:g} px)",
    )
    ax.legend(fontsize=7.5, loc="lower left", ncol=2)
    ax = fig.add_subplot(bottom[1])
    if curves.empty:
        ax.text(
            0.5,
            0.5,
            "UNTRAINED networks:\nno training curves\n(`make weights` has not trained them yet)",
            ha="center",
            va="center",
            color="C3",
            fontsize=10,
            weight="bold",
            transform=ax.transAxes,
        )
        ax.set(xticks=[], yticks=[])
    else:
        for variant, t in curves.groupby("variant", sort=False):
            for j, (_, s) in enumerate(t.groupby("seed")):
                label = NAMES.get(variant, variant) if j == 0 else None
                ax.plot(
                    s.epoch, s.loss, color=_colour(variant), lw=1.1, alpha=1 if j == 0 else 0.55, label=label
                )
        ax.set(xlabel="epoch", ylabel="training loss (window mean)")
        ax.legend(fontsize=7.5)
    seeds = curves.groupby("variant").seed.nunique()
    ax.set_title(
        "training loss of the shipped networks"
        + (f" ({value_range(seeds, 0)} seeds per variant)" if len(seeds) else ""),
        fontsize=10,
    )
    if untrained:
        _untrained_mark(fig, 0.93)
    return fig


def plot_positions(
    curves: pd.DataFrame, placement: PlacementDistribution = catalogue.CANVAS, untrained: bool = False
) -> plt.Figure:
    """Accuracy (first frame) and P(top-1 change) of the step (d, d) -> (d + 1, d + 1) against d, drawn at
    the pair's midpoint d + 0.5, one line per variant with its 95% CI shaded (position_curves); the zones
    shaded behind (zone_spans)."""
    use_style()
    fig, axes = plt.subplots(1, 2, figsize=(12, 3.9))
    for ax, metric, title, ylabel in zip(
        axes,
        ("accuracy", "p_top1_change"),
        ("accuracy of frame (d, d)", "P(top-1 change), (d, d) -> (d + 1, d + 1)"),
        ("accuracy (first frame)", "P(top-1 change)"),
        strict=True,
    ):
        shade_zones(ax, placement)
        for variant, t in curves.groupby("variant", sort=False):
            x, c = t.offset + 0.5, _colour(variant)
            ax.fill_between(x, t[f"{metric}_low"], t[f"{metric}_high"], color=c, alpha=0.15, lw=0)
            ax.plot(x, t[metric], "o-", ms=2, lw=1.1, color=c, label=NAMES.get(variant, variant))
        ax.set(
            xlabel="object offset d (pair midpoint d + 0.5; ticks at multiples of the stride 8)", title=title
        )
        ax.set_ylabel(ylabel)
        ax.set_ylim(0, 1.02 if metric == "accuracy" else None)
    axes[1].set_ylim(bottom=0)
    fig.tight_layout()
    n = value_range(curves.images, 0) if len(curves) else "?"
    seeds = value_range(curves.seeds, 0) if "seeds" in curves and len(curves) else "?"
    legend_above(
        fig,
        axes[0],
        f"lines: means over {n} test images x {seeds} seed(s) per offset; bands: 95% CI over seeds and "
        "test images; shaded: the zones",
    )
    if untrained:
        _untrained_mark(fig, 1.13)
    return fig


def plot_sizes(table: pd.DataFrame, trained_size: int = TRAINED_SIZE, untrained: bool = False) -> plt.Figure:
    """Accuracy and P(top-1 change) (one-pixel diagonal steps around the canvas centre) against object size,
    one line per variant, 95% CIs; the training size dashed; the legend above the panels."""
    use_style()
    fig, axes = plt.subplots(1, 2, figsize=(11, 3.6))
    variants = list(dict.fromkeys(table.variant))
    for ax, metric, title in zip(
        axes, ("accuracy", "p_top1_change"), ("accuracy (first frame)", "P(top-1 change)"), strict=True
    ):
        ax.axvline(trained_size, color="0.5", ls="--", lw=0.9)
        for i, variant in enumerate(variants):
            t = table[table.variant == variant]
            err = [t[metric] - t[f"{metric}_low"], t[f"{metric}_high"] - t[metric]]
            nudge = (i - (len(variants) - 1) / 2) * 0.35  # keep the bars apart
            ax.errorbar(
                t["size"] + nudge,
                t[metric],
                yerr=err,
                fmt="o-",
                ms=3.5,
                lw=1.2,
                capsize=2,
                color=_colour(variant),
                label=NAMES.get(variant, variant),
            )
        ax.set(xlabel=f"object side (px; every network trained on {trained_size} px, dashed)", title=title)
        ax.set_ylabel(title)
        ax.set_xticks(sorted(table["size"].unique()))
        ax.set_ylim(0, 1.02 if metric == "accuracy" else None)
    axes[1].set_ylim(bottom=0)
    fig.tight_layout()
    legend_above(
        fig,
        axes[0],
        "object centred on the canvas centre (typical position), one-pixel diagonal steps around it; "
        "95% CIs over seeds and test images (points nudged sideways)",
    )
    if untrained:
        _untrained_mark(fig, 1.13)
    return fig


# --- findings: the figures' sentences, from their sidecars --------------------------------------------------


def _head(v: Values) -> str:
    return "UNTRAINED networks (the numbers test the code only). " if untrained_run(v) else ""


def f09_setup(v: Values) -> str:
    mass = tidy_frame(v["placement"]).set_index(["placement", "zone"]).mass
    parts = "; ".join(
        f"{name} " + ", ".join(f"{mass[(name, z)]:.2%} {z.replace('-', ' ')}" for z in ZONES)
        for name in dict.fromkeys(mass.index.get_level_values(0))
    )
    text = (
        f"{_head(v)}Training positions per axis of the object's top-left corner on the 112 px canvas: "
        f"{parts} (zones by the photographer's distribution)."
    )
    final = tidy_frame(v.get("final_losses", []))
    if final.empty:
        return text + " No training curves: the networks are untrained."
    per = "; ".join(
        f"{variant} {value_range(g.loss)} after {value_range(g.epoch, 0)} epochs ({len(g)} seeds)"
        for variant, g in final.groupby("variant", sort=False)
    )
    return text + f" Final training loss (mean of the last window) per variant: {per}."


def f09_positions(v: Values) -> str:
    z = tidy_frame(v["zone_means"])
    curves = tidy_frame(v["curves"])
    parts = []
    for variant, g in z.groupby("variant", sort=False):
        cells = ", ".join(
            f"{r.zone.replace('-', ' ')} {r.p_top1_change:.3f} "
            f"({r.p_top1_change_min:.3f}-{r.p_top1_change_max:.3f})"
            for r in g.itertuples()
        )
        parts.append(f"{variant}: {cells}")
    return (
        f"{_head(v)}P(top-1 change) of the one-pixel diagonal step at every offset d = "
        f"{int(curves.offset.min())}-{int(curves.offset.max())}, {value_range(curves.images, 0)} test "
        f"images x {value_range(curves.seeds, 0)} seed(s), mean over each zone's offsets "
        "(lowest-highest offset): "
        + "; ".join(parts)
        + f". Accuracy per offset {value_range(curves.accuracy)}. A description; the zones' tests are in "
        "09_canvas_contrasts."
    )


def size_sentence(t: pd.DataFrame, trained_size: int, name=lambda variant: variant) -> str:
    """The object-size figure's sentence from its table (size_table): per variant the accuracy range and
    P(top-1 change) at the smallest, training and largest size, and whether the largest size changes less
    than the training size with CIs apart."""
    parts = []
    for variant, g in t.groupby("variant", sort=False):
        g = g.set_index("size")
        shown = [s for s in (g.index.min(), trained_size, g.index.max()) if s in g.index]
        parts.append(
            f"{name(variant)} accuracy {value_range(g.accuracy)} (best at {g.accuracy.idxmax()} px), "
            "P(top-1 change) "
            + " / ".join(f"{g.p_top1_change[s]:.2f}" for s in shown)
            + f" at {' / '.join(str(s) for s in shown)} px"
        )
    text = f"Object size against the training size ({trained_size} px): {'; '.join(parts)}."
    largest = int(t["size"].max())
    at = t.set_index(["variant", "size"])
    both = [v for v in dict.fromkeys(t.variant) if (v, trained_size) in at.index and (v, largest) in at.index]
    if both and largest > trained_size and "p_top1_change_low" in t:
        lower = [
            name(v)
            for v in both
            if at.loc[(v, largest), "p_top1_change_high"] < at.loc[(v, trained_size), "p_top1_change_low"]
        ]
        below = sum(
            at.loc[(v, largest), "p_top1_change"] < at.loc[(v, trained_size), "p_top1_change"] for v in both
        )
        text += (
            f" P(top-1 change) at {largest} px is below its value at the training size (CIs apart) for "
            f"{', '.join(lower)} ({len(lower)} of {len(both)} variants): larger objects change "
            "less even past the size the networks were trained on, not what a typicality account "
            "predicts (the fewest changes at the typical size)."
            if lower
            else f" P(top-1 change) at {largest} px vs {trained_size} px: the CIs overlap for every variant "
            f"(point estimates lower at {largest} px for {below} of {len(both)})."
        )
    return text


def f09_size(v: Values) -> str:
    t = tidy_frame(v["sizes"])
    return _head(v) + size_sentence(t, int(v.get("trained_size", TRAINED_SIZE)))
