"""Notebook 11, part 1: is a one-pixel shift special, or just a small change near a decision boundary?

For each one-pixel pair (x1, x2) of a protocol (the crop protocol: the view moves one pixel diagonally inside
a real photo; or the black-canvas embedding moved one pixel), with d = x2 - x1, control pairs (x1, x1 + c)
of the same size but without the shift:
    noise      c = Gaussian noise scaled to ||c||_2 = ||d||_2 (per image)
    permuted   c = d with its pixel positions permuted (the same RGB values, no spatial structure)
    jpeg       x1 re-encoded as JPEG at JPEG_QUALITY (a natural non-geometric change; its own ||c||_2)
    half_shift x1 moved half a pixel diagonally by bilinear interpolation (the mean of each 2x2
               neighbourhood; the last row and column replicated): a geometric reference
Control frames are clipped to [0, 1]; the size-matched controls are rescaled after clipping until their
norm reaches ||d||_2 (matched()), and the table records every achieved ||c||_2. An equal L2 norm in a random
direction is a weak control (most random directions barely move a network): the permuted d keeps the
shift's values and differs only in where they sit.
P(top-1 change) and MAC per control, per network, overall and by the first frame's top-1/top-2 margin and
correctness; the verdict compares the shift with the size-matched controls (paired over images).
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import PIL
import torch
from PIL import Image

from invariance.core import config
from invariance.kernels import metrics
from invariance.presentation.figures import use_style
from invariance.presentation.text import (
    INCONCLUSIVE,
    NOT_REPRODUCED,
    REPRODUCED,
    Values,
    tidy_frame,
    value_range,
    verdict_text,
)
from invariance.runner import cache, evaluate, protocols
from invariance.runner.protocols import Protocol
from invariance.sources.images import SourceImage, content_key
from invariance.sources.models import LoadedModel, display_name

CONTROLS = ("shift", "noise", "permuted", "jpeg", "half_shift")
SIZE_MATCHED = ("noise", "permuted")  # the controls with ||c|| = ||d||: the verdict's comparison
JPEG_QUALITY = 90
NAMES = {
    "shift": "one-pixel shift",
    "noise": "Gaussian noise, ||c|| = ||d||",
    "permuted": "d with pixels permuted",
    "jpeg": f"JPEG re-encoding (quality {JPEG_QUALITY})",
    "half_shift": "half-pixel shift (bilinear)",
}
TICKS = {
    "shift": "one-pixel\nshift",
    "noise": "Gaussian noise\n(same norm)",
    "permuted": "d, pixels\npermuted",
    "jpeg": f"JPEG\n(quality {JPEG_QUALITY})",
    "half_shift": "half-pixel\nshift",
}
CONTROLS_VERSION = "2"  # bump when a control changes, so cached tables are recomputed


# --- the controls (pure tensor code) ---------------------------------------------------------------------


def _norms(c: torch.Tensor) -> torch.Tensor:
    """(B, 3, H, W) -> (B,) L2 norms."""
    return c.flatten(1).norm(dim=1)


def noise_like(d: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """(B, 3, H, W) Gaussian noise with each image's L2 norm equal to d's (zero where d is zero)."""
    g = torch.randn(d.shape, generator=generator, dtype=d.dtype)
    scale = _norms(d) / _norms(g).clamp(min=1e-12)
    return g * scale.view(-1, 1, 1, 1)


def permute_pixels(d: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """(B, 3, H, W) d with its H * W pixel positions permuted per image (each pixel's RGB values move
    together): the same multiset of values and the same norm, no spatial structure."""
    b, ch, h, w = d.shape
    flat = d.reshape(b, ch, h * w)
    order = torch.stack([torch.randperm(h * w, generator=generator) for _ in range(b)])
    return flat.gather(2, order[:, None, :].expand(b, ch, h * w)).reshape(b, ch, h, w)


def jpeg(x: torch.Tensor, quality: int = JPEG_QUALITY) -> torch.Tensor:
    """(B, 3, H, W) in [0, 1] -> the same re-encoded as JPEG (PIL, 4:2:0 subsampling, the given quality)
    and decoded, in [0, 1]; the input is rounded to 8 bits first, as a saved file would be."""
    out = []
    for frame in x:
        pixels = (frame.clamp(0, 1) * 255).round().to(torch.uint8).permute(1, 2, 0).numpy()
        buffer = io.BytesIO()
        Image.fromarray(pixels).save(buffer, format="JPEG", quality=quality)
        decoded = np.asarray(Image.open(io.BytesIO(buffer.getvalue())).convert("RGB"))
        out.append(torch.from_numpy(decoded.copy()).permute(2, 0, 1).to(x.dtype) / 255)
    return torch.stack(out)


def half_shift(x: torch.Tensor) -> torch.Tensor:
    """(B, 3, H, W) moved half a pixel down and right (content moves up-left by half a pixel, as the crop
    protocol's view moving one pixel down-right moves it by one): bilinear interpolation at (i + 1/2,
    j + 1/2), the mean of each 2x2 neighbourhood, with the last row and column replicated."""
    p = torch.nn.functional.pad(x, (0, 1, 0, 1), mode="replicate")
    return (p[..., :-1, :-1] + p[..., 1:, :-1] + p[..., :-1, 1:] + p[..., 1:, 1:]) / 4


def matched(x1: torch.Tensor, c: torch.Tensor, target: torch.Tensor, rounds: int = 20) -> torch.Tensor:
    """x1 + c clipped to [0, 1], with c rescaled per image until the clipped change's L2 norm reaches
    target (B,) or rounds run out: clipping (e.g. on a black canvas, where half of any noise is cut)
    would otherwise make the control smaller than the shift. Returns the frames (B, 3, H, W)."""
    scale = torch.ones(len(x1), dtype=x1.dtype)
    out = (x1 + c).clamp(0, 1)
    for _ in range(rounds):
        achieved = _norms(out - x1)
        scale = scale * (target / achieved.clamp(min=1e-12)).clamp(max=4.0)
        out = (x1 + c * scale.view(-1, 1, 1, 1)).clamp(0, 1)
    return out


def control_frames(
    x1: torch.Tensor, x2: torch.Tensor, seed: int = 0
) -> tuple[dict[str, torch.Tensor], dict[str, torch.Tensor]]:
    """Frames (B, 3, H, W) in [0, 1] of every control for pairs (x1, x2), and the achieved ||c||_2 (B,)
    of each (x1 + c, clipped to [0, 1], minus x1; noise and permuted rescaled to reach ||d|| where the
    clipping allows). The shift's frames are x2 itself."""
    gen = torch.Generator().manual_seed(seed)
    d = x2 - x1
    frames = {
        "shift": x2,
        "noise": matched(x1, noise_like(d, gen), _norms(d)),
        "permuted": matched(x1, permute_pixels(d, gen), _norms(d)),
        "jpeg": jpeg(x1),
        "half_shift": half_shift(x1),
    }
    return frames, {name: _norms(f - x1) for name, f in frames.items()}


# --- the runs (cached per network, protocol and images) --------------------------------------------------


def _controls_per_image(
    x1: torch.Tensor, x2: torch.Tensor, images: Sequence[SourceImage], seed: int
) -> tuple[dict[str, torch.Tensor], dict[str, torch.Tensor]]:
    """control_frames one image at a time, seeded by the image's id: the same controls whatever the chunk."""
    per = [
        control_frames(
            x1[i : i + 1], x2[i : i + 1], seed=int(protocols.image_rng(seed, img.id).integers(1 << 30))
        )
        for i, img in enumerate(images)
    ]
    frames = {name: torch.cat([f[name] for f, _ in per]) for name in CONTROLS}
    norms = {name: torch.cat([n[name] for _, n in per]) for name in CONTROLS}
    return frames, norms


def _table(
    model: LoadedModel, protocol: Protocol, images: Sequence[SourceImage], seed: int, batch_size: int | None
) -> pd.DataFrame:
    """One row per image: label, the first frame's top1, p_top, p_second (margin = p_top - p_second),
    and per control its top1_<c>, p_top_<c> (probability of the first frame's top class) and norm_<c>."""
    canvas = model.data_config.input_size
    frames = protocols.build_frames(protocol, images, canvas, model.data_config.mean)[:, :2]
    x1, x2 = frames[:, 0], frames[:, 1]
    controls, norms = _controls_per_image(x1, x2, images, seed)
    probs = evaluate.forward_probs(model, torch.cat([x1, *controls.values()]), batch_size).cpu()
    n = len(images)
    first = probs[:n]
    top2 = first.topk(2, dim=-1)
    row = {
        "image_id": [img.id for img in images],
        "label": [img.label for img in images],
        "top1": top2.indices[:, 0].numpy(),
        "p_top": top2.values[:, 0].numpy(),
        "p_second": top2.values[:, 1].numpy(),
    }
    for i, name in enumerate(controls):
        p = probs[n * (i + 1) : n * (i + 2)]
        row[f"top1_{name}"] = p.argmax(-1).numpy()
        row[f"p_top_{name}"] = p.gather(1, top2.indices[:, :1])[:, 0].numpy()
        row[f"norm_{name}"] = norms[name].numpy()
    return pd.DataFrame(row)


def control_table(
    model: LoadedModel,
    protocol: Protocol,
    images: Sequence[SourceImage],
    seed: int = 0,
    batch_size: int | None = None,
    chunk_images: int = 32,
) -> pd.DataFrame:
    """_table over all images, cached and resumable (keyed by the network, protocol, image contents, seed
    and CONTROLS_VERSION)."""
    key = {
        "what": "shift-controls",
        "version": CONTROLS_VERSION,
        "model": model.cache_key(),
        "protocol": protocol,
        "canvas": model.data_config.input_size,
        "pixels": content_key(images),
        "seed": seed,
        "numerics": config.numerics_record(),
        "pillow": PIL.__version__,  # the JPEG control's bytes depend on the encoder
    }
    return cache.cached_table(
        f"{model.name}-controls-{protocol.name}",
        key,
        list(images),
        lambda chunk: _table(model, protocol, chunk, seed, batch_size),
        chunk_size=chunk_images,
        device=model.device,
    )


def control_runs(
    models: Sequence[LoadedModel],
    conditions: Mapping[str, Protocol],
    images: Sequence[SourceImage],
    seed: int = 0,
) -> dict[tuple[str, str], pd.DataFrame]:
    """control_table for every network and protocol: {(model label, condition): table}."""
    return {
        (m.label, name): control_table(m, p, images, seed) for m in models for name, p in conditions.items()
    }


# --- summaries ---------------------------------------------------------------------------------------------


def _changed(t: pd.DataFrame, control: str) -> pd.Series:
    return (t[f"top1_{control}"] != t.top1).astype(float)


def _mac(t: pd.DataFrame, control: str) -> pd.Series:
    return (t.p_top - t[f"p_top_{control}"]).abs()


def _parts(t: pd.DataFrame, bins: int) -> list[tuple[str, str, pd.DataFrame]]:
    """(split, part, rows): all; first frame correct / wrong (labelled images); margin quantile bins."""
    margin = t.p_top - t.p_second
    order = margin.rank(method="first").to_numpy() - 1
    binned = (order * bins // max(len(t), 1)).astype(int)
    labelled = t[t.label >= 0]
    right = labelled.top1 == labelled.label
    out = [
        ("all", "all", t),
        ("correctness", "correct", labelled[right]),
        ("correctness", "wrong", labelled[~right]),
    ]
    return out + [("margin", str(b), t[binned == b]) for b in range(bins)]


def summary(runs: Mapping[tuple[str, str], pd.DataFrame], bins: int = 4, n_boot: int = 1000) -> pd.DataFrame:
    """Per network x protocol x control x part: P(top-1 change) and MAC with 95% bootstrap CIs over images
    (one pair per image), the mean ||c||_2 and, for the margin bins, the margin range. Long table."""
    rows = []
    for (model, condition), t in runs.items():
        for split, part, rows_t in _parts(t, bins):
            if rows_t.empty:
                continue
            margin = rows_t.p_top - rows_t.p_second
            for control in CONTROLS:
                row = {"model": model, "condition": condition, "control": control, "split": split}
                row |= {"part": part, "images": len(rows_t), "norm": float(rows_t[f"norm_{control}"].mean())}
                row |= {"margin_from": float(margin.min()), "margin_to": float(margin.max())}
                for name, values in (
                    ("p_top1_change", _changed(rows_t, control)),
                    ("mac", _mac(rows_t, control)),
                ):
                    row |= metrics.ci_columns(
                        name, metrics.bootstrap_ci(values, rows_t.image_id, n_boot=n_boot)
                    )
                rows.append(row)
    return pd.DataFrame(rows)


def shift_minus_controls(
    runs: Mapping[tuple[str, str], pd.DataFrame], bins: int = 4, n_boot: int = 1000
) -> pd.DataFrame:
    """P(top-1 change) of the shift minus each size-matched control, paired over images (the same first
    frame), with a 95% bootstrap CI, per network x protocol x part (all, and margin bins)."""
    rows = []
    for (model, condition), t in runs.items():
        for split, part, rows_t in _parts(t, bins):
            if split == "correctness" or rows_t.empty:
                continue
            for control in SIZE_MATCHED:
                diff = _changed(rows_t, "shift") - _changed(rows_t, control)
                mean, lo, hi = metrics.bootstrap_ci(diff, rows_t.image_id, n_boot=n_boot)
                rows.append(
                    {
                        "model": model,
                        "condition": condition,
                        "control": control,
                        "split": split,
                        "part": part,
                        "images": len(rows_t),
                        "difference": mean,
                        "low": lo,
                        "high": hi,
                    }
                )
    return pd.DataFrame(rows)


# --- figures (the notebook calls these; save_figure writes them with their sidecars) ---


def plot_controls(table: pd.DataFrame) -> plt.Figure:
    """Top: P(top-1 change) of the one-pixel shift and of each control, per network, one panel per
    protocol (95% CIs over images). Bottom: the shift and the size-matched controls per quartile of the
    first frame's top-1/top-2 margin, first network."""
    use_style()
    conditions = list(dict.fromkeys(table.condition))
    models = list(dict.fromkeys(table.model))
    fig, axes = plt.subplots(2, len(conditions), figsize=(5.6 * len(conditions), 6.6), squeeze=False)
    width = 0.8 / len(models)
    for j, condition in enumerate(conditions):
        ax = axes[0, j]
        for i, model in enumerate(models):
            t = table[(table.condition == condition) & (table.model == model) & (table.split == "all")]
            t = t.set_index("control").reindex(list(CONTROLS))
            x = np.arange(len(CONTROLS)) + (i - (len(models) - 1) / 2) * width
            err = [t.p_top1_change - t.p_top1_change_low, t.p_top1_change_high - t.p_top1_change]
            ax.bar(x, t.p_top1_change, width, color=f"C{i}", label=display_name(model))
            ax.errorbar(x, t.p_top1_change, yerr=err, fmt="none", ecolor="k", lw=0.8, capsize=2)
        ax.set_xticks(np.arange(len(CONTROLS)), [TICKS[c] for c in CONTROLS], fontsize=7.5)
        ax.set(title=condition, ylabel="P(top-1 change)")
        ax.legend(fontsize=7)
        ax = axes[1, j]
        t = table[(table.condition == condition) & (table.model == models[0]) & (table.split == "margin")]
        for k, control in enumerate(("shift", *SIZE_MATCHED)):
            c = t[t.control == control].assign(q=lambda f: f.part.astype(int) + 1).sort_values("q")
            ax.errorbar(
                c.q + (k - 1) * 0.06,
                c.p_top1_change,
                yerr=[c.p_top1_change - c.p_top1_change_low, c.p_top1_change_high - c.p_top1_change],
                fmt="o-",
                ms=3,
                lw=1,
                capsize=2,
                color=("C3", "C7", "C9")[k],
                label=NAMES[control],
            )
        bins = t.part.nunique()
        ax.set(
            xlabel=f"{bins}-quantile bin of the first frame's top-1 minus top-2 probability (1: a near tie)",
            ylabel="P(top-1 change)",
            title=f"{display_name(models[0])}: by margin",
            xticks=list(range(1, bins + 1)),
        )
        ax.xaxis.label.set_fontsize(7.5)
        ax.legend(fontsize=7)
    fig.tight_layout()
    return fig


# --- findings: one sentence per figure, from its sidecar, and the claim's verdict ---


def f11_controls(v: Values) -> str:
    t = tidy_frame(v["summary"])
    d = tidy_frame(v["differences"])
    overall = t[t.split == "all"]
    parts = []
    for condition, g in overall.groupby("condition", sort=False):
        shift = g[g.control == "shift"]
        ctrl = "; ".join(
            f"{NAMES[c]} {value_range(g[g.control == c].p_top1_change, 3)}" for c in CONTROLS if c != "shift"
        )
        parts.append(f"{condition}: shift {value_range(shift.p_top1_change, 3)} vs {ctrl}")
    diffs = d[d.split == "all"]
    above = int((diffs.low > 0).sum())
    below = int((diffs.high < 0).sum())
    return (
        "P(top-1 change) of a one-pixel shift against controls of the same size without the shift (ranges "
        f"over the networks): {' | '.join(parts)}. The shift minus a size-matched control (paired over "
        f"images): CI above 0 in {above}, below 0 in {below} of {len(diffs)} network x protocol x control "
        "cases."
    )


# the claim notebook 11 tests (ours, beyond the paper)
CLAIM = (
    "A one-pixel shift changes the top-1 more often than a non-geometric change of the same L2 size "
    "(Gaussian noise, or the same pixel difference with its positions permuted)."
)


def verdict(read) -> str:
    """Our verdict on CLAIM: the shift minus each size-matched control, paired over images, in every network
    x protocol case: reproduced when every CI lies above 0, not reproduced when every one lies below."""
    v = read("11_shift_controls")
    d = tidy_frame(v["differences"])
    d = d[d.split == "all"]
    above, below = int((d.low > 0).sum()), int((d.high < 0).sum())
    word = REPRODUCED if above == len(d) else NOT_REPRODUCED if below == len(d) else INCONCLUSIVE
    s = tidy_frame(v["summary"])
    s = s[s.split == "all"].set_index(["model", "condition", "control"])
    ratio = [
        s.loc[(r.model, r.condition, r.control), "norm"] / s.loc[(r.model, r.condition, "shift"), "norm"]
        for r in d.itertuples()
    ]
    text = "; ".join(
        f"{display_name(r.model)} {r.condition} vs {r.control} {r.difference:+.3f} "
        f"[{r.low:+.3f}, {r.high:+.3f}]"
        for r in d.itertuples()
    )
    return verdict_text(
        word,
        f"shift minus size-matched control, P(top-1 change): {text} (the controls' achieved norms are "
        f"{min(ratio):.2f}-{max(ratio):.2f} of the shift's)",
    )


# claims at a glance (README): the claim in a line, the paper's evidence, the figure, the key number
SHORT = "A one-pixel shift is more harmful than a change of the same size without the shift."
PAPER_EVIDENCE = "beyond the paper (after the question Shifman & Weiss 2024 raise)"
FIGURE = "11_shift_controls"


def headline(read) -> str:
    """The shift minus each size-matched control in P(top-1 change): range over networks and protocols."""
    d = tidy_frame(read("11_shift_controls")["differences"])
    d = d[d.split == "all"]
    return (
        f"shift minus size-matched control, P(top-1 change): {d.difference.min():+.3f} to "
        f"{d.difference.max():+.3f} (CI below 0 in {int((d.high < 0).sum())} of {len(d)} cases)"
    )
