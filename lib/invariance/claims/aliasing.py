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

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from timm.layers.padding import get_same_padding
from torch import nn

from invariance.kernels import metrics
from invariance.runner import cache, protocols
from invariance.sources.images import SourceImage, content_key
from invariance.sources.models import LoadedModel, normalize

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
