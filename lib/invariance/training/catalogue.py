"""Every network `make weights` trains, in the order it trains them, and how each is evaluated.

All use the airbench-style recipe (training/recipe.py) with batch 256 and the recipe's optimiser settings.

(a) "c10-*", notebook 10 (certified circular-shift invariance versus realistic shifts): 32x32 CIFAR-10 with
    random translation and alternating flips, widths 32-64-128, depth 2, 12 epochs; five variants differing
    only in the subsampling operator and the padding: stride (zero padding; the baseline), circular
    (stride, circular padding alone), blurpool (zeros), aps-circular (the certified one), aps (zeros).
    Seeds 0-2. 12 epochs, not the issue's 8: on this machine the baseline (seed 0) reached 0.829 test
    accuracy after 8 epochs in bf16 and 0.831 in float32 (so bf16 is not the cause; the issue's AVX2 machine
    measured 0.855), and 0.840 after 12 epochs in bf16 (0.850 with flip TTA, airbench's own measure): one
    point short of the 0.85 target without TTA, the most the 8-hour budget allows next to the canvas networks
    (benchmarks/logs/recipe-budget-2026-12-07.log, session 12).
(b) "depth*", claim 1's depth part: the same family with stride-2 subsampling and zero padding at depth
    1, 3 and 4 (conv blocks per group; same widths per group, same total stride 8, same recipe and
    epochs); depth 2 is (a)'s baseline, c10-stride-seed*, not trained twice. Seeds 0-2. The band: the
    depths' mean test accuracies should lie within 0.03 of each other (the manifest states what they
    reach; a depth outside it is reported, not retrained to fit).
(c) "canvas-*", notebook 09 redesigned: a 32 px CIFAR-10 object on a 112 px black canvas, photographer
    placement (Gaussian around the centre, sigma 2 px) or uniform placement, subsampling stride or
    blurpool; widths 24-48-96, depth 2, 10 epochs (see below). Three variants: photographer (the
    baseline), uniform (the augmentation remedy) and photographer-blurpool (the antialiasing remedy);
    seeds 0-2.
    Why this and not the issue's 128 px, 5 seeds, 4 variants (decided in session 13, before any canvas
    network of this recipe was evaluated): measured on this CPU (benchmarks/logs/recipe-budget-2026-12-07.log)
    a 128 px stride network reached 0.737 at typical positions after 4 epochs and 0.792 after 8 (3468 s
    of one thread), BlurPool costs twice that, and the 20 networks of the issue would need about 29
    one-thread hours, the 8-hour budget about 16 for everything. Following the issue's order: (1) the
    canvas shrinks to the smallest giving three zones; with sigma 4 px that is already 128 px (canvas >
    3 x 32 + 6 x sigma), so sigma goes to 2 px and the canvas to 112 px (0.77x the pixels); (2) seeds 5 ->
    3; (3) beyond the issue's list, the fourth variant (uniform-blurpool, the two remedies combined) is
    dropped: claim 3 needs photographer vs uniform and claim 4 each remedy against the baseline, which the
    three variants give. Estimated 6 x ~45 + 3 x ~90 one-thread minutes, about 7.6 h of wall time for the
    whole catalogue with two processes. The accuracy target (>= 0.80 at typical positions) stays: if
    canvas-photographer-seed0 lands below it, the recipe goes to 10 epochs (rule fixed here, in advance).
    Applied in session 14: after 8 epochs canvas-photographer-seed0 reached 0.7953 at typical positions
    (0.7968 atypical interior, 0.7916 border; benchmarks/logs/canvas-rule-2026-12-08.log), so the canvas
    recipe is 10 epochs and that network was removed. The 8-hour budget is then exceeded by about an hour
    (canvas ~40k one-thread s instead of ~32k): the issue's shrink order is exhausted and its targets stay.
    Along the diagonal, offsets d = 34-46 are typical (within 3 sigma of the centre 40), 32-33 and 47-48
    atypical interior (one object size from every border), 0-31 and 49-80 the border zone.
Order: seed-major within each group, so that one seed of every variant finishes before a second seed
of any, (a) then (b) then (c): the cheapest and most-needed networks first.

Estimate (`estimate_seconds`, `python -m invariance.apps.weights --list`): one-thread process time per
1,000 training images with bf16 autocast on this AVX-512-bf16 CPU (tools/recipe_budget.py throughput:
benchmarks/logs/recipe-budget-2026-12-07.log), over an assumed 1.8x from the second thread; it is about
half of what whole trainings take (evaluation, checkpoints, a second process on the other core). Measured
instead (the manifest's train_seconds, two one-thread processes side by side, session 12): c10 590-1400 s
per network (5530 s for the five variants of one seed), depth1 176 s; the 128 px canvas probe 3468 s for 8
epochs. Carried to the whole catalogue: c10 ~16.6k s, depth ~6k s, canvas ~32k s (the probe scaled by the
pixel count; BlurPool twice): ~55k one-thread seconds, ~7.6 h of wall time with two processes
(`make weights` twice, each with its own work folder and its own networks, `--only`; they share the
manifest under a lock).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from invariance.kernels.transforms import paste
from invariance.sources.cifar import Split
from invariance.training import recipe as R
from invariance.training.placement import PlacementDistribution

SEEDS = (0, 1, 2)
CANVAS_SEEDS = (0, 1, 2)  # the fallback from 5 (see (c) above)
C10_EPOCHS = 12.0
CANVAS_EPOCHS = 10.0  # 8 until session 14: the rule in (c) applied
CANVAS = PlacementDistribution("gaussian", canvas=112, size=32, sigma=2.0)
C10_VARIANTS: dict[str, R.Net] = {
    "stride": R.Net(),
    "circular": R.Net(padding="circular"),
    "blurpool": R.Net(downsampling="blurpool"),
    "aps-circular": R.Net(downsampling="aps", padding="circular"),
    "aps": R.Net(downsampling="aps"),
}
DEPTHS = (1, 3, 4)  # depth 2 is c10-stride
CANVAS_VARIANTS: dict[str, tuple[str, str]] = {
    "photographer": ("gaussian", "stride"),
    "uniform": ("uniform", "stride"),
    "photographer-blurpool": ("gaussian", "blurpool"),
}
ZONES = ("typical", "atypical-interior", "border")
# One-thread CPU seconds per 1,000 training images, bf16 autocast (tools/recipe_budget.py throughput,
# benchmarks/logs/recipe-budget-*.log), keyed by (group, variant): the estimate of `estimate_seconds`.
CPU_S_PER_1K = {
    ("c10", "stride"): 0.54,
    ("c10", "circular"): 1.02,
    ("c10", "blurpool"): 0.90,
    ("c10", "aps-circular"): 1.70,
    ("c10", "aps"): 1.49,
    ("depth", "1"): 0.34,
    ("depth", "3"): 0.84,
    ("depth", "4"): 1.09,
    # measured on a 128 px canvas (6.86 and 13.4), scaled by the pixel count to 112 px (not measured)
    ("canvas", "stride"): 6.86 * (112 / 128) ** 2,
    ("canvas", "blurpool"): 13.4 * (112 / 128) ** 2,
}


@dataclass(frozen=True)
class Network:
    """One catalogue entry: its name (the weights file's stem), group and recipe."""

    name: str
    group: str  # "c10", "depth" or "canvas"
    recipe: R.Recipe
    cost_key: tuple[str, str]


def networks() -> list[Network]:
    """The catalogue in training order (see the module docstring)."""
    out = []
    for seed in SEEDS:
        for variant, net in C10_VARIANTS.items():
            recipe = R.Recipe(net=net, epochs=C10_EPOCHS, seed=seed)
            out.append(Network(f"c10-{variant}-seed{seed}", "c10", recipe, ("c10", variant)))
    for seed in SEEDS:
        for depth in DEPTHS:
            recipe = R.Recipe(net=R.Net(depth=depth), epochs=C10_EPOCHS, seed=seed)
            out.append(Network(f"depth{depth}-seed{seed}", "depth", recipe, ("depth", str(depth))))
    for seed in CANVAS_SEEDS:
        for variant, (kind, down) in CANVAS_VARIANTS.items():
            placement = PlacementDistribution(kind, CANVAS.canvas, CANVAS.size, CANVAS.sigma)
            net = R.Net(widths=(24, 48, 96), downsampling=down)
            recipe = R.Recipe(net=net, placement=placement, epochs=CANVAS_EPOCHS, seed=seed)
            out.append(Network(f"canvas-{variant}-seed{seed}", "canvas", recipe, ("canvas", down)))
    return out


SHIPPED_LIMIT_BYTES = 40_000_000  # issue 33: everything in weights/ (files and manifest) at most 40 MB
_HEADER_BYTES = 16_000  # a safetensors header and a manifest entry per network, rounded up (measured < 12 kB)


def projected_bytes() -> int:
    """What weights/ holds once every catalogue network is shipped in float32: the parameters and buffers of
    each network (4 bytes per element) plus a header and manifest allowance per network."""
    total = 0
    for network in networks():
        state = R.make_network(network.recipe.net).state_dict()
        total += sum(4 * t.numel() for t in state.values()) + _HEADER_BYTES
    return total


def by_name() -> dict[str, Network]:
    return {n.name: n for n in networks()}


def estimate_seconds(network: Network, train_images: int = 50_000, threads: float = 1.8) -> float:
    """Expected wall seconds on this project's idle 2-core CPU: measured one-thread CPU seconds per image
    (CPU_S_PER_1K) x images seen, over the two threads' measured speed-up (`threads`)."""
    images = network.recipe.total_steps(train_images) * network.recipe.batch_size
    return CPU_S_PER_1K[network.cost_key] * images / 1000 / threads


# --- evaluation ----------------------------------------------------------------------------------------


def zone_offsets(placement: PlacementDistribution) -> dict[str, list[int]]:
    """Diagonal offsets d (the object's top-left corner at (d, d)) of each zone for the photographer's
    distribution: typical |d - centre| <= 3 sigma; atypical interior |d - centre| > 3 sigma with the object
    at least one object size from every border (size <= d <= canvas - 2 size); border: closer than that."""
    c, s, sigma = placement.centre, placement.size, placement.sigma
    zones: dict[str, list[int]] = {z: [] for z in ZONES}
    for d in range(placement.max_offset + 1):
        if d < s or d > placement.canvas - 2 * s:
            zones["border"].append(d)
        elif abs(d - c) > 3 * sigma:
            zones["atypical-interior"].append(d)
        else:
            zones["typical"].append(d)
    empty = [z for z, ds in zones.items() if not ds]
    if empty:
        raise ValueError(f"a {placement.canvas}px canvas has no {', '.join(empty)} offsets for {placement}")
    return zones


def zone_inputs(placement: PlacementDistribution, test: Split, zone: str, seed: int = 0) -> torch.Tensor:
    """(N, 2) offsets: each test image at a diagonal offset drawn uniformly from the zone (seeded)."""
    ds = torch.tensor(zone_offsets(placement)[zone])
    pick = ds[torch.randint(0, len(ds), (len(test),), generator=torch.Generator().manual_seed(seed))]
    return torch.stack([pick, pick], dim=1)


@torch.no_grad()
def predictions(model: nn.Module, recipe: R.Recipe, test: Split, batch: int = 500) -> dict[str, torch.Tensor]:
    """Top-1 (N,) per evaluation set: {"test", "test-flip-tta"} on 32x32 CIFAR-10; one per zone on a
    canvas (each test object at one diagonal offset of the zone, no TTA: a mirror image moves the object)."""
    if recipe.placement is None:
        return {
            "test": R.logits(model, test.images, batch=batch).argmax(1),
            "test-flip-tta": R.logits(model, test.images, tta=True, batch=batch).argmax(1),
        }
    out = {}
    for zone in ZONES:
        offsets = zone_inputs(recipe.placement, test, zone)
        preds = []
        for start in range(0, len(test), batch):
            chunk = slice(start, start + batch)
            x = paste(test.images[chunk], offsets[chunk], recipe.placement.canvas, with_covered=False)[0]
            preds.append(R.logits(model, x, batch=batch).argmax(1))
        out[zone] = torch.cat(preds)
    return out


def zone_accuracy(model: nn.Module, placement: PlacementDistribution, test: Split) -> dict[str, float]:
    """Test accuracy per zone of a canvas network (tools/recipe_budget.py)."""
    recipe = R.Recipe(placement=placement)
    return {z: float((p == test.labels).float().mean()) for z, p in predictions(model, recipe, test).items()}
