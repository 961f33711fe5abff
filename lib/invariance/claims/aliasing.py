"""Claim 2, the sampling theorem (notebook 07): why the architecture gives no invariance (paper, Section 4).

Three tools:
- a 1-D toy (convolve, optional ReLU, optional blur, subsample by 2, global sum) against sub-pixel shifts
  of the input, made with exact Fourier shifts of a periodic signal;
- `circularize()`: the same network with circular padding everywhere, so that for circular shifts its
  output is exactly invariant to shifts that are multiples of its total stride (32) and only to those;
- stage-wise invariance: globally pooled features after each stage (forward hooks on the modules timm lists
  in `feature_info`), and how much they change under one-pixel shifts.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from timm.layers.padding import get_same_padding
from torch import nn

from invariance.kernels import metrics
from invariance.presentation.figures import use_style
from invariance.presentation.text import (
    NOT_REPRODUCED,
    REPRODUCED,
    Values,
    model_name,
    tidy_frame,
    verdict_text,
)
from invariance.runner import cache, protocols
from invariance.sources.images import SourceImage, content_key
from invariance.sources.models import UNTRAINED, LoadedModel, display_name, normalize

# --- 1-D toy -----------------------------------------------------------------------------------------


def fourier_shift(x: np.ndarray, shift: float) -> np.ndarray:
    """Periodic signal x (n,) moved right by a real-valued shift, exactly (band-limited interpolation)."""
    n = len(x)
    freqs = np.fft.fftfreq(n)
    return np.real(np.fft.ifft(np.fft.fft(x) * np.exp(-2j * np.pi * freqs * shift)))


def lowpass(x: np.ndarray, keep: float) -> np.ndarray:
    """Keep the frequencies below `keep` cycles/sample (0.5 = Nyquist): a band-limited signal."""
    spec = np.fft.fft(x)
    spec[np.abs(np.fft.fftfreq(len(x))) >= keep] = 0
    return np.real(np.fft.ifft(spec))


def _circ_conv(x: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    return np.real(np.fft.ifft(np.fft.fft(x) * np.fft.fft(kernel, len(x))))


def toy_layer(
    x: np.ndarray, kernel: np.ndarray, relu: bool, blur: bool, stride: int = 2
) -> tuple[float, float]:
    """circular conv -> (ReLU) -> (binomial [1,2,1]/4 blur) -> subsample by stride -> global sum.

    Returns (pooled, scale): the pooled value (x stride, so it estimates the full sum) and sum |y| before
    subsampling, a positive scale to express changes in."""
    y = _circ_conv(x, kernel)
    if relu:
        y = np.maximum(y, 0)
    if blur:
        y = _circ_conv(y, np.array([0.25, 0.5, 0.25]))
    return float(y[::stride].sum() * stride), float(np.abs(y).sum())


def toy_curves(
    n: int = 64, shifts: Sequence[float] = tuple(np.linspace(0, 2, 41)), seed: int = 0
) -> pd.DataFrame:
    """Pooled output of the toy layer against sub-pixel shifts of the input, for four variants:
    linear on a broadband input, ReLU (broadband), ReLU + blur before subsampling, and linear on a
    band-limited input. Columns: shift, variant, pooled: (pooled(shift) - pooled(0)) / scale(0), the change
    of the pooled output relative to the layer's output magnitude (0 everywhere = invariant)."""
    rng = np.random.default_rng(seed)
    broadband = rng.standard_normal(n)
    banded = lowpass(broadband, 0.2)
    kernel = rng.standard_normal(5)
    variants = {
        "linear, broadband input": (broadband, False, False),
        "ReLU, broadband input": (broadband, True, False),
        "ReLU + blur before subsampling": (broadband, True, True),
        "ReLU, band-limited input": (banded, True, False),
        "linear, band-limited input": (banded, False, False),
    }
    rows = []
    for name, (x, relu, blur) in variants.items():
        base, scale = toy_layer(x, kernel, relu, blur)
        for s in shifts:
            value, _ = toy_layer(fourier_shift(x, s), kernel, relu, blur)
            rows.append({"shift": float(s), "variant": name, "pooled": (value - base) / scale})
    return pd.DataFrame(rows)


def toy_spread(curves: pd.DataFrame, signals: int = 1) -> pd.DataFrame:
    """Per variant: max - min over the shifts of the relative change of the pooled output (0 = invariant),
    for the signal of `curves`; with signals > 1 also its smallest and largest value over that many random
    signals and kernels (toy_curves with seeds 0..signals-1, 64 samples, the shifts of `curves`), since one
    random signal is one draw."""
    g = curves.groupby("variant", sort=False).pooled
    out = (g.max() - g.min()).rename("max - min over shifts").to_frame()
    if signals > 1:
        shifts = tuple(curves["shift"].unique())
        draws = pd.concat(
            [toy_spread(toy_curves(shifts=shifts, seed=seed)).iloc[:, 0] for seed in range(signals)], axis=1
        )
        out[f"min over {signals} signals"] = draws.min(axis=1)
        out[f"max over {signals} signals"] = draws.max(axis=1)
    return out


# --- circular padding and the total stride -----------------------------------------------------------


class _CircularPad(nn.Module):
    def __init__(self, pad: tuple[int, int, int, int]) -> None:
        super().__init__()
        self.pad = pad

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.pad(x, self.pad, mode="circular")


class _CircularSameConv(nn.Module):
    """timm's TF-'same' Conv2d with its (possibly asymmetric) padding made circular."""

    def __init__(self, conv: nn.Conv2d) -> None:
        super().__init__()
        self.conv = conv

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        c = self.conv
        ph = get_same_padding(x.shape[-2], c.kernel_size[0], c.stride[0], c.dilation[0])
        pw = get_same_padding(x.shape[-1], c.kernel_size[1], c.stride[1], c.dilation[1])
        x = F.pad(x, (pw // 2, pw - pw // 2, ph // 2, ph - ph // 2), mode="circular")
        return F.conv2d(x, c.weight, c.bias, c.stride, 0, c.dilation, c.groups)


def circularize(module: nn.Module) -> nn.Module:
    """A copy of the network whose convolutions and max-pools pad circularly (torus topology)."""
    net = copy.deepcopy(module)
    for child in list(net.modules()):
        for attr, sub in list(child.named_children()):
            if type(sub).__name__ == "Conv2dSame":
                setattr(child, attr, _CircularSameConv(sub))
            elif isinstance(sub, nn.Conv2d) and any(p > 0 for p in sub.padding):
                sub.padding_mode = "circular"
            elif isinstance(sub, nn.MaxPool2d) and sub.padding:
                p = sub.padding if isinstance(sub.padding, int) else sub.padding[0]
                pool = nn.MaxPool2d(sub.kernel_size, sub.stride, 0, sub.dilation, ceil_mode=sub.ceil_mode)
                setattr(child, attr, nn.Sequential(_CircularPad((p, p, p, p)), pool))
    return net.eval()


def shift_periodicity(
    model: LoadedModel, images: Sequence[SourceImage], shifts: Sequence[int] = tuple(range(0, 65))
) -> pd.DataFrame:
    """Max |logit(roll(x, s)) - logit(x)| over images, for diagonal circular shifts s, with circular padding.

    x: the standard centre crop. Returns shift, max_abs_logit_diff, top1_changes.
    """
    net = circularize(model.module)
    x = normalize(protocols.center_crop_frames(model, images), model.data_config)
    rows = []
    with torch.inference_mode():
        base = net(x)
        for s in shifts:
            out = net(torch.roll(x, shifts=(s, s), dims=(-2, -1)))
            rows.append(
                {
                    "shift": s,
                    "max_abs_logit_diff": float((out - base).abs().max()),
                    "top1_changes": int((out.argmax(-1) != base.argmax(-1)).sum()),
                }
            )
    return pd.DataFrame(rows)


# --- stage-wise invariance ---------------------------------------------------------------------------


def stage_modules(module: nn.Module) -> list[tuple[str, int]]:
    """(module name, total stride) of each stage, from timm's feature_info."""
    return [(f["module"], int(f["reduction"])) for f in module.feature_info]


def pooled_stage_features(model: LoadedModel, frames: torch.Tensor) -> list[torch.Tensor]:
    """Globally average-pooled output of each stage for frames (M, 3, N, N) in [0, 1]: list of (M, C_s)."""
    named = dict(model.module.named_modules())
    captured: list[torch.Tensor] = []
    hooks = [
        named[name].register_forward_hook(lambda _m, _i, out: captured.append(out.mean(dim=(-2, -1))))
        for name, _ in stage_modules(model.module)
    ]
    try:
        with torch.inference_mode():
            model.module(normalize(frames, model.data_config))
    finally:
        for h in hooks:
            h.remove()
    return captured


def stage_changes(
    model: LoadedModel, protocol: protocols.Protocol, images: Sequence[SourceImage], batch_images: int = 4
) -> pd.DataFrame:
    """Per stage and pair of consecutive frames: normalised change of the pooled features,
    ||f(a) - f(b)|| / mean(||f(a)||, ||f(b)||).

    Columns: stage, stride, image_id, change (one row per stage x image x pair)."""
    canvas = model.data_config.input_size
    stages = stage_modules(model.module)
    per_stage: list[list[np.ndarray]] = [[] for _ in stages]
    ids: list[str] = []
    for i in range(0, len(images), batch_images):
        group = images[i : i + batch_images]
        frames = protocols.build_frames(protocol, group, canvas, model.data_config.mean, model.device)
        b, k = frames.shape[:2]
        for s, feats in enumerate(pooled_stage_features(model, frames.flatten(0, 1))):
            f = feats.view(b, k, -1).double()
            a, c = f[:, :-1], f[:, 1:]
            change = (a - c).norm(dim=-1) / ((a.norm(dim=-1) + c.norm(dim=-1)) / 2).clamp_min(1e-12)
            per_stage[s].append(change.flatten().cpu().numpy())
        ids += [img.id for img in group for _ in range(k - 1)]
    return pd.concat(
        [
            pd.DataFrame({"stage": name, "stride": stride, "image_id": ids, "change": np.concatenate(chunks)})
            for (name, stride), chunks in zip(stages, per_stage, strict=True)
        ],
        ignore_index=True,
    )


def stage_summary(pairs: pd.DataFrame) -> pd.DataFrame:
    """Per network label and stage: mean change with its 95% CI. pairs: stage_changes rows with model and
    seed columns (seed -1 for a pretrained network). One network: a bootstrap over images; several
    initialisation seeds of one architecture: metrics.seed_image_ci (seed-to-seed and image-to-image noise),
    with the range of the per-seed means and the interval a rerun with new seeds should land in
    (metrics.rerun_interval; NaN for one network).

    Columns: model, stage, stride, change, ci_low, ci_high, rerun_low, rerun_high, seeds, seed_low,
    seed_high."""
    rows = []
    for (model, stage, stride), t in pairs.groupby(["model", "stage", "stride"], sort=False):
        seeds = t.seed.nunique()
        r_lo = r_hi = float("nan")  # one network: no training noise, a rerun repeats it up to rounding
        if seeds > 1:
            v, lo, hi = metrics.seed_image_ci(t.change, t.seed, t.image_id)
            r_lo, r_hi = metrics.rerun_interval(t.change, t.seed, t.image_id)
        else:
            v, lo, hi = metrics.bootstrap_ci(t.change.to_numpy(), t.image_id.to_numpy(), n_boot=500)
        per_seed = t.groupby("seed").change.mean()
        rows.append(
            {
                "model": model,
                "stage": stage,
                "stride": int(stride),
                "change": v,
                "ci_low": lo,
                "ci_high": hi,
                "rerun_low": r_lo,
                "rerun_high": r_hi,
                "seeds": seeds,
                "seed_low": float(per_seed.min()),
                "seed_high": float(per_seed.max()),
            }
        )
    return pd.DataFrame(rows)


# --- cached runs over networks (notebook 07) -----------------------------------------------------------


def _seed(model: LoadedModel) -> int:
    """The initialisation seed of an untrained network, -1 for a pretrained one (a table column)."""
    return -1 if model.seed is None else model.seed


def _distinct(models: Sequence[LoadedModel]) -> list[LoadedModel]:
    """models without repeats of one label and seed (the paper profile lists pretrained resnet50 both as a
    network and as an architecture), so no network's pairs are pooled twice."""
    seen: set[tuple[str, int]] = set()
    out = []
    for m in models:
        if (m.label, _seed(m)) not in seen:
            seen.add((m.label, _seed(m)))
            out.append(m)
    return out


def ci_note(stages: pd.DataFrame) -> str:
    """What the stage figure's error bars are, from the table itself (figure footers)."""
    seeds = int(stages.seeds.max())
    return "95% CIs over images" if seeds <= 1 else f"95% CIs over images (and {seeds} init seeds)"


def head_note(label: str) -> str | None:
    """Why a network's output changes even under shifts by multiples of its total stride, where its head says
    why (None otherwise): VGG's classifier is a fully connected layer on the 7 x 7 map (timm runs it as a
    7 x 7 convolution), not a global pooling, so a shift by one cell of that map changes it."""
    return "FC head on the 7x7 map, no global pool" if label.split(".")[0].startswith("vgg") else None


def periodicity_checks(
    models: Sequence[LoadedModel], images: Sequence[SourceImage], shifts: Sequence[int]
) -> dict[str, pd.DataFrame]:
    """shift_periodicity for every network (cached), the initialisation seeds of one untrained architecture
    in one table: {model label: table with a seed column}."""
    ids = [img.id for img in images]
    tables: dict[str, list[pd.DataFrame]] = {}
    for m in _distinct(models):
        key = {
            "model": m.cache_key(),
            "images": ids,
            "pixels": content_key(images),
            "shifts": list(shifts),
            "what": "circular periodicity",
        }
        t = cache.cached_once(f"{m.name}-periodicity", key, lambda m=m: shift_periodicity(m, images, shifts))
        tables.setdefault(m.label, []).append(t.assign(seed=_seed(m)))
    return {label: pd.concat(ts, ignore_index=True) for label, ts in tables.items()}


def periodicity_summary(checks: Mapping[str, pd.DataFrame], stride: int = 32) -> pd.DataFrame:
    """Per network: the largest logit change at multiples of the stride, and the smallest elsewhere, over
    all its initialisation seeds (an untrained architecture is judged by its worst seed)."""
    rows = []
    for model, t in checks.items():
        on = t["shift"] % stride == 0
        rows.append(
            {
                "model": model,
                f"max at multiples of {stride}": t.max_abs_logit_diff[on].max(),
                "min at other shifts": t.max_abs_logit_diff[~on & (t["shift"] > 0)].min(),
                "init seeds": int(t.seed[t.seed >= 0].nunique()),  # 0: pretrained
            }
        )
    return pd.DataFrame(rows).set_index("model")


def stage_invariance_table(
    models: Sequence[LoadedModel], protocol: protocols.Protocol, images: Sequence[SourceImage]
) -> pd.DataFrame:
    """Stage-wise invariance of every network (stage_changes, cached per network), summarised per network
    label over its initialisation seeds (stage_summary)."""
    ids = [img.id for img in images]
    tables = []
    for m in _distinct(models):
        key = {
            "model": m.cache_key(),
            "protocol": protocol,
            "images": ids,
            "pixels": content_key(images),
            "what": "stage changes per pair",
        }
        t = cache.cached_once(f"{m.name}-stages", key, lambda m=m: stage_changes(m, protocol, images))
        tables.append(t.assign(model=m.label, seed=_seed(m)))
    return stage_summary(pd.concat(tables, ignore_index=True))


# --- figures (the notebook calls these; save_figure writes them with their sidecars) ---


def plot_sampling_toy(curves: pd.DataFrame, spread: pd.DataFrame | None = None) -> plt.Figure:
    """The 1-D toy: relative change of the globally pooled output against sub-pixel input shifts (left)
    and, when given (toy_spread), its spread over all shifts per variant on a log axis (right), where
    exact invariance (~1e-16, float64 round-off) and small but real changes can both be seen."""
    use_style()
    fig, axes = plt.subplots(
        1,
        2 if spread is not None else 1,
        figsize=(11.5, 3.5),
        squeeze=False,
        gridspec_kw={"width_ratios": [1.5, 1]} if spread is not None else None,
    )
    ax = axes[0, 0]
    colours = {}
    for i, (variant, c) in enumerate(curves.groupby("variant", sort=False)):
        colours[variant] = f"C{i}"
        ax.plot(c["shift"], c.pooled, "-", lw=1.4, color=f"C{i}", label=variant)
    ax.axhline(0, color="0.6", lw=0.6)
    ax.set(
        xlabel="input shift (samples; subsampling stride 2)",
        ylabel="change of pooled output\n(/ output magnitude)",
        title="conv -> (ReLU) -> (blur) -> subsample by 2 -> global sum",
    )
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(0.0, 1.0))
    if spread is not None:
        ax = axes[0, 1]
        values = spread.iloc[:, 0]
        y = np.arange(len(values))
        # points, not bars: on a log axis a bar's length depends on where the axis starts
        ranges = [c for c in spread.columns if c.startswith(("min over", "max over"))]
        if ranges:  # the same spread for other random signals: the point is one draw
            lo, hi = spread[ranges[0]].clip(lower=1e-18), spread[ranges[1]].clip(lower=1e-18)
            ax.hlines(y, lo, hi, color="k", lw=1.2, zorder=1)
            ax.plot(lo, y, "k|", hi, y, "k|", ms=7, zorder=1)
        ax.scatter(
            values.clip(lower=1e-18), y, s=40, c=[colours.get(v, "0.5") for v in values.index], zorder=2
        )
        for k, v in enumerate(values):
            ax.text(max(v, 1e-18), k - 0.3, f"{v:.1e}", ha="center", va="bottom", fontsize=7)
        if ranges:
            ax.text(
                0.02,
                0.98,
                f"dot: the plotted signal\nblack line: range over {ranges[0].split()[2]} random signals",
                transform=ax.transAxes,
                ha="left",
                va="top",
                fontsize=7,
            )
        ax.set_xscale("log")
        ax.set_xlim(1e-18, 10)
        ax.set_yticks(y, list(values.index), fontsize=7.5)
        ax.invert_yaxis()
        ax.set(
            xlabel="max - min over shifts (log scale; exact invariance, 0, lies off the axis)",
            title="Spread over all shifts (band-limited: exact for linear,\nnot after a ReLU)",
        )
    fig.suptitle(
        "1-D toy on a SYNTHETIC signal: a sub-pixel input shift and the globally pooled output", y=1.02
    )
    fig.tight_layout()
    return fig


def plot_periodicity(checks: dict[str, pd.DataFrame], stride: int = 32) -> plt.Figure:
    """Max |logit change| under circular shifts, with circular padding, log scale; multiples of the total
    stride marked."""
    use_style()
    fig, ax = plt.subplots(figsize=(7.4, 3.4))
    for i, (model, t) in enumerate(checks.items()):
        seeds = t.groupby("seed", sort=False) if "seed" in t else [(None, t)]
        n = t.seed[t.seed >= 0].nunique() if "seed" in t else 0
        for j, (_, one) in enumerate(seeds):  # an untrained architecture: one line per init seed
            ax.semilogy(
                one["shift"],
                one.max_abs_logit_diff.clip(lower=1e-9),
                "o-",
                ms=2.5,
                lw=1,
                alpha=1 if n <= 1 else 0.7,
                color=f"C{i}",
                label=_periodicity_label(model, n) if j == 0 else None,
            )
    top = max(float(t["shift"].max()) for t in checks.values())
    for m in range(stride, int(top) + 1, stride):
        ax.axvline(m, color="0.7", ls="--", lw=0.8)
    ax.set(
        xlabel="diagonal circular shift (px)",
        ylabel="max |logit change|\n(over images and classes)",
        title=f"Circular padding, circular shifts; dashed: multiples of the total stride {stride}",
    )
    ax.legend(fontsize=7, loc="center left", bbox_to_anchor=(1.01, 0.5))
    ax.text(0.01, 0.02, "exact zeros drawn at 1e-9", transform=ax.transAxes, fontsize=7, color="0.4")
    return fig


def _periodicity_label(model: str, seeds: int) -> str:
    """Legend entry: the network's name, its init seeds when several, and why its head breaks periodicity."""
    parts = [display_name(model)] + ([f"{seeds} init seeds"] if seeds > 1 else [])
    note = head_note(model)
    return ", ".join(parts) + (f"\n({note})" if note else "")


def plot_stage_curves(table: pd.DataFrame) -> plt.Figure:
    """Normalised change of globally pooled stage features under one-pixel shifts, against stage stride,
    with 95% CIs (error bars): trained networks (left) and untrained ones (right; random weights, means
    over init seeds) in separate panels with their own scales, since training changes the features' scale
    and spread (compare a trained network with its own architecture at random init, not across panels)."""
    use_style()
    untrained = table.model.str.endswith(UNTRAINED)
    groups = [
        ("trained (ImageNet weights)", table[~untrained]),
        ("untrained (random weights)", table[untrained]),
    ]
    groups = [(title, t) for title, t in groups if len(t)]
    fig, axes = plt.subplots(1, len(groups), figsize=(5.6 * len(groups), 3.8), squeeze=False)
    colours = {m: f"C{i}" for i, m in enumerate(dict.fromkeys(table.model.str.removesuffix(UNTRAINED)))}
    for ax, (title, part) in zip(axes[0], groups, strict=True):
        for model, t in part.groupby("model", sort=False):
            err = [t.change - t.ci_low, t.ci_high - t.change]
            seeds = int(t.seeds.iloc[0]) if "seeds" in t else 1
            ax.errorbar(
                t.stride,
                t.change,
                yerr=err,
                fmt="o-" if not model.endswith(UNTRAINED) else "s--",
                ms=3,
                lw=1.2,
                capsize=2,
                color=colours[model.removesuffix(UNTRAINED)],
                label=f"{display_name(model)}, mean of {seeds} init seeds"
                if seeds > 1
                else display_name(model),
            )
        ax.set_xscale("log", base=2)
        ax.set(
            xlabel="total stride of the stage (its output is globally average-pooled)",
            ylabel="||f(x) - f(shifted x)|| / ||f||",
            title=title,
        )
        ax.legend(fontsize=7, loc="upper left")
    fig.suptitle(
        "Globally pooled stage features, one-pixel diagonal shifts (error bars: 95% CI over images; for "
        "several init seeds over seeds and images)\nThe panels have their own scales: compare a network with "
        "its own architecture at random init, not across architectures",
        fontsize=8.5,
    )
    fig.tight_layout()
    return fig


# --- findings: one sentence per figure, from its sidecar, and the claim's verdict ---


def f07_toy(v: Values) -> str:
    t = tidy_frame(v).set_index("variant")
    ranges = [c for c in t.columns if c.startswith(("min over", "max over"))]

    def spread(variant: str, fmt: str) -> str:
        text = format(t.loc[variant, "max - min over shifts"], fmt)
        if ranges:
            lo, hi = t.loc[variant, ranges[0]], t.loc[variant, ranges[1]]
            text += f" ({format(lo, fmt)} to {format(hi, fmt)})"
        return text

    largest = t.loc["linear, band-limited input", ranges[1] if ranges else "max - min over shifts"]
    rounding = ": float64 rounding" if largest < 1e-12 else ""
    over = (
        f" (the plotted signal; in brackets the range over {ranges[0].split()[2]} random signals)"
        if ranges
        else ""
    )
    return (
        f"Synthetic 1-D toy{over}: the globally pooled output of conv -> subsample is exactly invariant to "
        f"sub-pixel shifts for a band-limited input (spread {spread('linear, band-limited input', '.1e')}"
        f"{rounding}; after a ReLU the same input gives {spread('ReLU, band-limited input', '.3f')}), "
        "while a broadband input is not invariant even without a ReLU "
        f"({spread('linear, broadband input', '.2f')}; {spread('ReLU, broadband input', '.2f')} after a "
        "ReLU); a blur before subsampling cuts the broadband ReLU case to "
        f"{spread('ReLU + blur before subsampling', '.2f')}."
    )


def _exact_at_multiples(t: pd.DataFrame) -> pd.Series:
    """Per network (periodicity summary indexed by model): is its largest logit change at multiples of the
    stride at least 1000x below its smallest change elsewhere (rounding, against real change)?"""
    return t.iloc[:, 0] < 1e-3 * t.iloc[:, 1]


def f07_periodicity(v: Values) -> str:
    t = tidy_frame(v).set_index("model")
    at, other = t.columns[0], t.columns[1]
    exact = _exact_at_multiples(t)
    parts = []
    for m, r in t.iterrows():
        seeds = int(r.get("init seeds", 0))
        name = f"{m}, worst of {seeds} init seeds" if seeds > 1 else m
        note = "" if exact[m] else " (not exact at multiples either)"
        parts.append(f"{name}: {r[at]:.1e} at multiples, >= {r[other]:.2g} elsewhere{note}")
    return (
        "Circular padding, circular shifts, max |logit change| over images and classes (values at the "
        f"rounding level differ from machine to machine): {'; '.join(parts)}."
    )


def f07_stages(v: Values) -> str:
    t = tidy_frame(v)
    parts = []
    for model, g in t.groupby("model", sort=False):
        g = g.sort_values("stride")
        first, last = g.iloc[0], g.iloc[-1]
        seeds = int(last.get("seeds", 1))
        name = model_name(model)
        if seeds > 1:  # "resnet50 (untrained)" -> "resnet50 (untrained, 3 init seeds)"
            name = (
                f"{name[:-1]}, {seeds} init seeds)" if name.endswith(")") else f"{name} ({seeds} init seeds)"
            )
        parts.append(
            f"{name} {first.change:.3f} (stride {first.stride}) -> {last.change:.3f} "
            f"[{last.ci_low:.3f}, {last.ci_high:.3f}]"
        )
    return (
        "Globally pooled stage features under one-pixel shifts, relative change from the first to the last "
        f"stage (95% CI; for untrained networks over init seeds and images): {', '.join(parts)}."
    )


# the paper's claim that notebook 07 tests
CLAIM = "Subsampling ignores the sampling theorem: invariance only at multiples of the stride."


def verdict(read) -> str:
    """Our verdict on CLAIM with its reason, given a reader of this run's sidecars (name -> values)."""
    toy = tidy_frame(read("07_sampling_toy")).set_index("variant")
    worst = [c for c in toy.columns if c.startswith("max over")] or ["max - min over shifts"]
    best = [c for c in toy.columns if c.startswith("min over")] or ["max - min over shifts"]
    # exact for every random signal when linear and band-limited, broken for every one after a ReLU
    ok = toy.loc["linear, band-limited input", worst[0]] < 1e-9 < toy.loc["ReLU, band-limited input", best[0]]
    if not ok:
        return verdict_text(
            NOT_REPRODUCED, "in the toy, the band-limited linear path is not exact, or a ReLU keeps it"
        )
    text = (
        "exact invariance needs band-limited input and a linear path; a ReLU or a broadband input breaks it"
    )
    try:
        exact = _exact_at_multiples(tidy_frame(read("07_total_stride_periodicity")).set_index("model"))
    except FileNotFoundError:
        return verdict_text(REPRODUCED, text)
    yes, no = list(exact.index[exact]), list(exact.index[~exact])
    if yes:
        text += f"; only shifts by multiples of the total stride are exact ({', '.join(yes)})"
    if no:
        text += f"; not even those for {', '.join(no)} (see the note under (b))"
    return verdict_text(REPRODUCED, text)


# claims at a glance (README): the claim in a line, the paper's evidence, the figure, the key number
SHORT = "Subsampling ignores the sampling theorem: exact invariance only at multiples of the stride."
PAPER_EVIDENCE = "a 1-D toy and layer-wise pooled features: exact only at multiples of the total stride"
FIGURE = "07_sampling_toy"


def headline(read) -> str:
    """The toy's worst change over shifts: linear on band-limited input against after a ReLU."""
    toy = tidy_frame(read("07_sampling_toy")).set_index("variant")
    col = next(c for c in toy.columns if c.startswith("max over"))
    return (
        f"toy, largest change over shifts: linear on band-limited input "
        f"{toy.loc['linear, band-limited input', col]:.0e}, after a ReLU "
        f"{toy.loc['ReLU, band-limited input', col]:.2f}"
    )
