"""Claim 1's depth part under control (notebook 03): one plain CNN family at depths 1-4, trained alike.

The paper's depth contrast (VGG16 -> ResNet50 -> InceptionResNetV2) changes depth together with everything
else, and its networks do not install offline. `make weights` ships a controlled series instead: the
CIFAR-10 network of notebook 10 (whitening, three groups of widths 32-64-128, stride-2 subsampling, zero
padding, total stride 8, 12 epochs of the same recipe) with 1, 2, 3 or 4 conv blocks per group, three seeds
each (depth 2 is notebook 10's c10-stride baseline, not trained twice). Measured under the paper's
protocol on a small canvas: each test image resized to 24 px on a black 32 px canvas, moved one pixel
diagonally 8 times (certified.embed_frames); one pair table row per step.

The test, fixed before the networks were evaluated: the series is only a depth contrast among depths
trained to within ACCURACY_BAND of the best depth's mean test accuracy (a depth outside it is shown, not
used); the deepest minus the shallowest depth inside the band, P(top-1 change) per step, 95% CI over seeds
and images (seeds independent, images paired: metrics.values_difference_ci): reproduced if the CI lies
above 0, not reproduced if below, inconclusive if it covers 0 or if the same difference among the steps
from a correctly classified frame lies on the other side of 0.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch

from invariance.claims import certified
from invariance.kernels import metrics
from invariance.presentation.figures import use_style
from invariance.presentation.text import (
    INCONCLUSIVE,
    NOT_REPRODUCED,
    NOT_TESTABLE,
    REPRODUCED,
    Values,
    tidy_frame,
    verdict_text,
)
from invariance.runner import cache, evaluate
from invariance.training import catalogue, weights
from invariance.training import recipe as R

DEPTHS = (1, 2, 3, 4)
ACCURACY_BAND = 0.03  # the catalogue's band: depths whose mean test accuracy lies this close to the best
SIDE, STEPS = 24, 8  # the object's side on the 32 px canvas, one-pixel diagonal steps


def network_name(depth: int, seed: int) -> str:
    """The shipped file's stem: depth 2 is notebook 10's stride baseline."""
    return f"c10-stride-seed{seed}" if depth == 2 else f"depth{depth}-seed{seed}"


def load_networks(
    depths: Sequence[int] = DEPTHS,
    seeds: Sequence[int] | None = None,
    pretrained: bool = True,
    folder: Path | None = None,
) -> list[certified.C10Network]:
    """The series' networks, depth-major, as certified.C10Network with variant "depth <d>"; seeds None: the
    catalogue's (every depth x seed must be shipped: the series' CIs need them all). pretrained: the
    shipped, digest-verified networks (a missing one raises weights.WeightsError naming `make weights`);
    otherwise each depth at random initialisation (torch seed k), labelled untrained."""
    out = []
    for d in depths:
        for k in catalogue.SEEDS if seeds is None else seeds:
            if not pretrained:
                torch.manual_seed(k)
                module = R.make_network(R.Net(depth=d)).eval()
                out.append(
                    certified.C10Network(
                        f"depth {d}", k, module, f"depth{d}-untrained{k}", f"untrained-seed{k}", None
                    )
                )
                continue
            name = network_name(d, k)
            module, record = weights.load_with_entry(name, folder)
            out.append(
                certified.C10Network(
                    f"depth {d}", k, module, name, record["sha256"], record["test_accuracy"]["test"]
                )
            )
    return out


def measure_network(
    net: certified.C10Network,
    images: torch.Tensor,
    labels: torch.Tensor,
    images_id: str,
    batch: int = 512,
    device: str = "cpu",
) -> pd.DataFrame:
    """One network's pair table (evaluate.COLUMNS) of the black-canvas one-pixel path of every image
    (N * STEPS rows), cached by the network's identity and the images; with depth and seed columns."""
    key = {
        "network": net.identity,
        "images": images_id,
        "n": len(images),
        "side": SIDE,
        "steps": STEPS,
        "v": 1,
    }

    def compute() -> pd.DataFrame:
        frames = certified.embed_frames(images, SIDE, 32, STEPS)
        probs = certified.probabilities(net.module.to(device), frames, batch, device)
        return evaluate.pairs_of(probs, list(range(len(images))), labels.tolist())

    t = cache.cached_once(f"depth-series-{net.name}", key, compute)
    return t.assign(depth=int(net.variant.split()[-1]), seed=net.seed)


def measure_networks(
    nets: Sequence[certified.C10Network], images: torch.Tensor, labels: torch.Tensor, images_id: str, **kw
) -> pd.DataFrame:
    """measure_network for every network, concatenated."""
    return pd.concat([measure_network(n, images, labels, images_id, **kw) for n in nets], ignore_index=True)


def _given_correct(t: pd.DataFrame) -> pd.Series:
    """P(top-1 change) per pair where the first frame is correct, NaN elsewhere."""
    right = metrics.correct(t.top1_a, t.label).astype(bool)
    return metrics.PAIR_METRICS["p_top1_change"](t).where(right)


def _ci(v: pd.Series, g: pd.DataFrame) -> tuple[float, float, float]:
    """seed_image_ci, or NaNs where no value exists (e.g. no correctly classified frame: untrained networks
    on a few images)."""
    if v.notna().any():
        return metrics.seed_image_ci(v, g.seed, g.image_id)
    return (float("nan"),) * 3


def series_table(pairs: pd.DataFrame, nets: Sequence[certified.C10Network] = ()) -> pd.DataFrame:
    """Per depth: P(top-1 change) over all steps and over the steps from a correctly classified frame, the
    first frames' accuracy (each with a 95% CI over seeds and images), the manifest's full-test accuracy
    (mean over seeds; NaN untrained) and whether the depth lies in the accuracy band."""
    shipped = pd.DataFrame([(n.variant, n.manifest_accuracy) for n in nets], columns=["variant", "acc"])
    rows = []
    for depth, g in pairs.groupby("depth"):
        row = {"depth": int(depth), "seeds": g.seed.nunique(), "images": g.image_id.nunique()}
        for name, v in (
            ("p_top1_change", metrics.PAIR_METRICS["p_top1_change"](g)),
            ("p_top1_change_given_correct", _given_correct(g)),
            ("accuracy", metrics.PAIR_METRICS["accuracy"](g)),
        ):
            row |= metrics.ci_columns(name, _ci(v, g))
        full = shipped[shipped.variant == f"depth {depth}"].acc.dropna()
        row["test_accuracy"] = float(full.mean()) if len(full) else float("nan")
        rows.append(row)
    t = pd.DataFrame(rows)
    best = t.test_accuracy.max()
    t["in_band"] = (t.test_accuracy >= best - ACCURACY_BAND) if np.isfinite(best) else True
    return t


def contrast(pairs: pd.DataFrame, table: pd.DataFrame) -> pd.DataFrame:
    """The deepest minus the shallowest depth in the accuracy band (and, beside it, the deepest minus the
    shallowest of all depths): P(top-1 change) over all steps and over the steps from a correct frame,
    95% CI over seeds (independent) and images (paired). Columns: deeper, shallower, scope ("in band" or
    "all depths"), measure, difference, low, high, p."""
    rows = []
    scopes = {"in band": table[table.in_band].depth.tolist(), "all depths": table.depth.tolist()}
    for scope, depths in scopes.items():
        if len(depths) < 2:
            continue
        deep, shallow = max(depths), min(depths)
        a, b = pairs[pairs.depth == deep], pairs[pairs.depth == shallow]
        for measure, value in (
            ("p_top1_change", metrics.PAIR_METRICS["p_top1_change"]),
            ("p_top1_change_given_correct", _given_correct),
        ):
            va, vb = value(a), value(b)
            if va.notna().any() and vb.notna().any():
                d, lo, hi, p = metrics.values_difference_ci(va, a.seed, a.image_id, vb, b.seed, b.image_id)
            else:  # no value on one side (no correct frame): nothing to compare
                d = lo = hi = p = float("nan")
            rows.append(
                {"deeper": deep, "shallower": shallow, "scope": scope, "measure": measure}
                | {"difference": d, "low": lo, "high": hi, "p": p}
            )
    return pd.DataFrame(rows)


# --- figure ---------------------------------------------------------------------------------------------


def plot_series(table: pd.DataFrame, diffs: pd.DataFrame, untrained: bool = False) -> plt.Figure:
    """P(top-1 change) per one-pixel step against depth (all steps; steps from a correct frame), 95% CIs over
    seeds and images, the test accuracy under each depth, depths outside the accuracy band greyed."""
    use_style()
    fig, ax = plt.subplots(figsize=(8.6, 3.9))
    t = table.sort_values("depth")
    for i, (measure, name) in enumerate(
        (("p_top1_change", "all steps"), ("p_top1_change_given_correct", "steps from a correct frame"))
    ):
        x = t.depth + (i - 0.5) * 0.08
        ax.errorbar(
            x,
            t[measure],
            yerr=[t[measure] - t[f"{measure}_low"], t[f"{measure}_high"] - t[measure]],
            fmt="o-",
            ms=4,
            lw=1.2,
            capsize=3,
            color=f"C{i}",
            label=name,
        )
    for r in t.itertuples():
        if not r.in_band:
            ax.axvspan(r.depth - 0.4, r.depth + 0.4, color="0.9", lw=0, zorder=0)
    acc = [
        f"{d}\ntest acc {a:.3f}" + ("" if band else "\n(outside the band)")
        for d, a, band in zip(t.depth, t.test_accuracy, t.in_band, strict=True)
    ]
    ax.set_xticks(t.depth, acc if t.test_accuracy.notna().all() else [str(d) for d in t.depth], fontsize=8)
    ax.set(xlabel="conv blocks per group (same widths, stride, recipe)", ylabel="P(top-1 change)")
    ax.set_ylim(bottom=0)
    band = diffs[diffs.scope == "in band"] if len(diffs) else diffs
    if len(band):
        r = band[band.measure == "p_top1_change"].iloc[0]
        ax.set_title(
            f"depth {r.deeper} minus depth {r.shallower} (the depths within {ACCURACY_BAND} of the best test "
            f"accuracy): {r.difference:+.3f} [{r.low:+.3f}, {r.high:+.3f}]",
            fontsize=9,
        )
    if untrained:
        ax.text(0.5, 0.5, "UNTRAINED", transform=ax.transAxes, ha="center", va="center", fontsize=28,
                color="0.75", alpha=0.6, rotation=20)  # fmt: skip
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


# --- sentence and verdict -------------------------------------------------------------------------------


def verdict_series(v: Values) -> tuple[str, str]:
    """(verdict word, reason) of the controlled series from its sidecar (see the module docstring)."""
    d = tidy_frame(v["differences"])
    band = d[d.scope == "in band"]
    if band.empty:
        return NOT_TESTABLE, "fewer than two depths within the accuracy band"
    allp = band[band.measure == "p_top1_change"].iloc[0]
    right = band[band.measure == "p_top1_change_given_correct"].iloc[0]
    text = (
        f"depth {allp.deeper} minus depth {allp.shallower} (depths within {ACCURACY_BAND} test accuracy): "
        f"{allp.difference:+.3f} [{allp.low:+.3f}, {allp.high:+.3f}], from correct frames "
        f"{right.difference:+.3f} [{right.low:+.3f}, {right.high:+.3f}]"
    )
    if allp.low > 0 and not right.high < 0:
        return REPRODUCED, text
    if allp.high < 0 and not right.low > 0:
        return NOT_REPRODUCED, text
    return INCONCLUSIVE, text


def f03_series(v: Values) -> str:
    t = tidy_frame(v["table"]).sort_values("depth")
    parts = "; ".join(
        f"depth {r.depth} {r.p_top1_change:.3f} [{r.p_top1_change_low:.3f}, {r.p_top1_change_high:.3f}] "
        f"(from correct frames {r.p_top1_change_given_correct:.3f}; test accuracy {r.test_accuracy:.3f}"
        + ("" if r.in_band else ", outside the band")
        + ")"
        for r in t.itertuples()
    )
    word, reason = verdict_series(v)
    lo, hi = int(t.seeds.min()), int(t.seeds.max())
    return (
        f"A plain CNN family at depths {', '.join(str(d) for d in t.depth)} ("
        f"{lo if lo == hi else f'{lo}-{hi}'} seed{'s' if hi > 1 else ''} per depth, "
        f"{int(t.images.max())} CIFAR-10 test images, 24 px on a "
        f"black 32 px canvas, 8 one-pixel steps): P(top-1 change) per step {parts}. "
        f'Verdict on "deeper is less invariant": {verdict_text(word, reason)}.'
    )
