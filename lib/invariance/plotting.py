"""One figure style and one `save_figure()`: PNG + PDF under figures/ with a provenance sidecar.

Smoke-profile figures go to build/figures-smoke/ so they never overwrite the committed ones.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch

from . import files, paths

STYLE = {
    "figure.dpi": 110,
    "savefig.dpi": 150,
    "font.size": 9,
    "axes.titlesize": 10,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "legend.frameon": False,
}


LABELS = {
    "p_top1_change": "P(top-1 change)",
    "mac": "MAC (top class of frame k)",
    "mac_true": "change of P(correct class)",
    "accuracy": "accuracy (first frames)",
}


def label(metric: str) -> str:
    return LABELS.get(metric, metric.replace("_", " "))


def use_style() -> None:
    plt.rcParams.update(STYLE)


def stamp(fig: plt.Figure, text: str) -> None:
    """Small grey footer naming networks, image count and profile (and 'untrained'/'synthetic' labels)."""
    # Placed under everything already drawn (tick labels and axis labels stick out below the axes).
    bottom = fig.get_tightbbox(fig.canvas.get_renderer()).y0 / fig.get_figheight()
    fig.text(0.995, bottom - 0.01, text, ha="right", va="top", fontsize=6.5, color="0.4")


def save_figure(fig: plt.Figure, name: str, *, profile: str, info: dict[str, Any]) -> Path:
    """Write <figures>/<name>.png and .pdf and <name>.json (provenance). Returns the PNG path.

    info: what the figure shows (networks, image count, config); the footer stamp is the caller's job.
    """
    folder = paths.figures_dir(profile)
    folder.mkdir(parents=True, exist_ok=True)
    png = folder / f"{name}.png"
    fig.savefig(png, bbox_inches="tight")
    # No creation date in the PDF: the same figure gives the same bytes, so a rerun can be checked with cmp.
    fig.savefig(folder / f"{name}.pdf", bbox_inches="tight", metadata={"CreationDate": None})
    files.atomic_write_json(folder / f"{name}.json", files.provenance(info, profile=profile, figure=name))
    return png


def ci_whiskers(ax: plt.Axes, x, s: pd.DataFrame) -> None:
    """Black 95% CI whiskers on bars at x for a table with value, ci_low, ci_high columns."""
    yerr = [s.value - s.ci_low, s.ci_high - s.value]
    ax.errorbar(x, s.value, yerr=yerr, fmt="none", ecolor="k", lw=0.8, capsize=2)


# --- figure builders (one per notebook figure; notebooks call these) ---------------------------------


def _img(frame: torch.Tensor) -> np.ndarray:
    """(3, H, W) in [0, 1] -> (H, W, 3) for imshow."""
    return frame.detach().cpu().permute(1, 2, 0).clamp(0, 1).numpy()


def path_with_thumbnails(
    fig: plt.Figure,
    spec,
    x: np.ndarray,
    y: np.ndarray,
    frames: torch.Tensor,
    marks: list[int],
    *,
    title: str,
    xlabel: str,
    ylabel: str = "P(correct class)",
) -> None:
    """A curve (top) with thumbnails of the frames at the marked indices (bottom row), in a gridspec cell."""
    sub = spec.subgridspec(2, len(marks), height_ratios=[2.2, 1], hspace=0.6)
    ax = fig.add_subplot(sub[0, :])
    ax.plot(x, y, "-", color="C0", lw=1.2)
    ax.plot(x[marks], y[marks], "o", color="C3", ms=4)
    for k, m in enumerate(marks):
        ax.annotate(
            chr(ord("a") + k),
            (x[m], y[m]),
            textcoords="offset points",
            xytext=(0, 5),
            ha="center",
            fontsize=7,
            color="C3",
        )
    ax.set(title=title, xlabel=xlabel, ylabel=ylabel, ylim=(-0.02, 1.02))
    for k, m in enumerate(marks):
        t = fig.add_subplot(sub[1, k])
        t.imshow(_img(frames[m]))
        t.set_axis_off()
        t.set_title(f"{chr(ord('a') + k)}: {y[m]:.2f}", fontsize=7)


def marks_at_extremes(y: np.ndarray) -> list[int]:
    """Frames worth a thumbnail: both sides of the largest one-step rise and of the largest drop."""
    if len(y) < 2:
        return [0]
    d = np.diff(y)
    up, down = int(np.argmax(d)), int(np.argmin(d))
    return sorted({up, up + 1, down, down + 1})


def natural_change(ax: plt.Axes, table: pd.DataFrame, frames: torch.Tensor | None = None) -> None:
    """P(first frame's top class) across the frames of a natural sequence, top-1 names as labels."""
    x = np.arange(len(table))
    ax.plot(x, table.p_first_class, "o-", color="C0")
    for i, r in enumerate(table.itertuples()):
        ax.annotate(
            r.top1_name[:22],
            (i, r.p_first_class),
            textcoords="offset points",
            xytext=(0, 6),
            ha="center",
            fontsize=6.5,
        )
    ax.set(
        xticks=x,
        xticklabels=table.frame,
        ylim=(-0.02, 1.1),
        ylabel=f"P({table.first_class[0][:20]})",
        title="A small natural change",
    )


def jaggedness_maps(mats: dict[str, pd.DataFrame], jag: pd.DataFrame, xlabel: str) -> plt.Figure:
    """One panel per network: P(correct class) along the path, one row per image (sorted)."""
    use_style()
    fig, axes = plt.subplots(1, len(mats), figsize=(3.9 * len(mats), 3.8), squeeze=False)
    im = None
    for ax, (model, mat) in zip(axes[0], mats.items(), strict=True):
        im = ax.imshow(mat.to_numpy(), aspect="auto", cmap="viridis", vmin=0, vmax=1, interpolation="nearest")
        j = jag.loc[model]
        ax.set_title(
            f"{model}\njaggedness {j.jaggedness:.3f} [{j.ci_low:.3f}, {j.ci_high:.3f}]", fontsize=8.5
        )
        ax.set(xlabel=xlabel, ylabel="image (sorted)" if ax is axes[0, 0] else None)
    fig.colorbar(im, ax=axes[0].tolist(), label="P(correct class)", shrink=0.9)
    return fig


def protocol_pairs(pairs: dict[str, tuple[torch.Tensor, torch.Tensor]]) -> plt.Figure:
    """Rows: protocols; columns: frame a, frame b, |a - b| (amplified)."""
    use_style()
    fig, axes = plt.subplots(len(pairs), 3, figsize=(6.3, 2.1 * len(pairs)), squeeze=False)
    for row, (name, (a, b)) in zip(axes, pairs.items(), strict=True):
        diff = (a - b).abs().mean(0)
        row[0].imshow(_img(a))
        row[1].imshow(_img(b))
        row[2].imshow(diff.cpu().numpy(), cmap="magma", vmin=0, vmax=max(float(diff.max()), 1e-6))
        row[0].set_ylabel(name, fontsize=8)
        for ax in row:
            ax.set_xticks([])
            ax.set_yticks([])
    for ax, t in zip(axes[0], ["frame k", "frame k + 1", "|difference|"], strict=True):
        ax.set_title(t)
    return fig


def metric_bars(summary: pd.DataFrame, metrics: list[str], order: list[str]) -> plt.Figure:
    """Grouped bars with 95% CIs: conditions on x, one colour per network, one panel per metric."""
    use_style()
    models = list(dict.fromkeys(summary.model))
    fig, axes = plt.subplots(1, len(metrics), figsize=(4.2 * len(metrics), 3.2), squeeze=False)
    width = 0.8 / len(models)
    for ax, metric in zip(axes[0], metrics, strict=True):
        sub = summary[summary.metric == metric]
        for i, model in enumerate(models):
            s = sub[sub.model == model].set_index("condition").reindex(order)
            x = np.arange(len(order)) + (i - (len(models) - 1) / 2) * width
            ax.bar(x, s.value, width, label=model, color=f"C{i}")
            ci_whiskers(ax, x, s)
        ax.set(xticks=np.arange(len(order)), xticklabels=order, title=label(metric))
    axes[0, 0].legend(fontsize=7)
    return fig


def sweep_panels(summary: pd.DataFrame) -> plt.Figure:
    """Rows: networks; columns: P(top-1 change), MAC, accuracy, against object scale, one line per variant."""
    use_style()
    models = list(dict.fromkeys(summary.model))
    metrics = ["p_top1_change", "mac", "accuracy"]
    fig, axes = plt.subplots(len(models), 3, figsize=(11, 2.8 * len(models)), squeeze=False)
    for row, model in zip(axes, models, strict=True):
        for ax, metric in zip(row, metrics, strict=True):
            sub = summary[(summary.model == model) & (summary.metric == metric)]
            for i, (variant, s) in enumerate(sub.groupby("variant", sort=True)):
                s = s.sort_values("scale")
                ax.errorbar(
                    s.scale,
                    s.value,
                    yerr=[s.value - s.ci_low, s.ci_high - s.value],
                    fmt="o-",
                    ms=3,
                    lw=1,
                    capsize=2,
                    color=f"C{i}",
                    label=variant,
                )
            ax.set(
                title=f"{model}: {metric.replace('_', ' ')}", xlabel="crop fraction s  |  embedding: 224/s px"
            )
    axes[0, 0].legend(fontsize=6.5)
    return fig


def position_histograms(panels: dict[str, pd.DataFrame], bins: int = 20) -> plt.Figure:
    """2-D histograms of normalised object centres, one panel per set, with the size distributions below."""
    use_style()
    fig, axes = plt.subplots(2, len(panels), figsize=(3.3 * len(panels), 6.2), squeeze=False)
    for i, (name, t) in enumerate(panels.items()):
        ax = axes[0, i]
        ax.hist2d(t.cx, t.cy, bins=bins, range=[[0, 1], [0, 1]], density=True, cmap="magma")
        ax.set(title=f"{name}\n(n = {len(t):,})", xlabel="centre x / width", aspect="equal")
        ax.invert_yaxis()
        ax.set_ylabel("centre y / height")
        axes[1, i].hist(t["size"], bins=30, range=(0, 1.5), density=True, color=f"C{i}")
        axes[1, i].set(xlabel="object size: sqrt(box area / image (or crop) area)", ylabel="density")
    return fig


def grid_maps(summary: pd.DataFrame, metric: str = "p_top1_change") -> plt.Figure:
    """Heat maps of a metric over the grid of placements, one panel per embedded size."""
    use_style()
    sub = summary[summary.metric == metric]
    sides = sorted(sub.side.unique())
    fig, axes = plt.subplots(1, len(sides), figsize=(3.2 * len(sides), 3.0), squeeze=False)
    vmax = max(float(sub.value.max()), 1e-3)
    im = None
    for ax, side in zip(axes[0], sides, strict=True):
        s = sub[sub.side == side].pivot(index="row", columns="col", values="value")
        im = ax.imshow(s.to_numpy(), cmap="Reds", vmin=0, vmax=vmax)
        for (r, c), v in np.ndenumerate(s.to_numpy()):
            ax.text(c, r, f"{v:.2f}", ha="center", va="center", fontsize=7)
        ax.set(
            title=f"embedded side {side} px",
            xticks=[],
            yticks=[],
            xlabel="left ... right",
            ylabel="top ... bottom",
        )
    fig.colorbar(im, ax=axes[0].tolist(), label=label(metric), shrink=0.9)
    return fig


def figure1(
    translation: dict, scale: dict, natural: pd.DataFrame, natural_frames: list, scale_sides
) -> plt.Figure:
    """Figure 1: P(correct class) along a one-pixel vertical shift, a one-pixel size increase, and across a
    small natural change, with thumbnails at marked points."""
    use_style()
    fig = plt.figure(figsize=(12, 4.6))
    grid = fig.add_gridspec(1, 3, wspace=0.28)
    y = translation["curve"].p_true.to_numpy()
    path_with_thumbnails(
        fig,
        grid[0],
        np.arange(len(y)),
        y,
        translation["frames"],
        marks_at_extremes(y),
        title=f"Vertical shift: {translation['image'].id}",
        xlabel="shift (px)",
    )
    y = scale["curve"].p_true.to_numpy()
    sides = np.asarray(scale_sides)
    path_with_thumbnails(
        fig,
        grid[1],
        sides,
        y,
        scale["frames"],
        marks_at_extremes(y),
        title=f"Size increase: {scale['image'].id}",
        xlabel="shorter side (px)",
    )
    sub = grid[2].subgridspec(2, len(natural_frames), height_ratios=[2.2, 1], hspace=0.6)
    natural_change(fig.add_subplot(sub[0, :]), natural)
    for k, frame in enumerate(natural_frames):
        t = fig.add_subplot(sub[1, k])
        t.imshow(frame.pixels.permute(1, 2, 0).numpy())
        t.set_axis_off()
        t.set_title(frame.id, fontsize=7)
    return fig


def path_examples(examples: list[dict], xlabel: str = "shift (px)") -> plt.Figure:
    """The automatically chosen jumpiest images: one column each, curve and thumbnails."""
    use_style()
    fig = plt.figure(figsize=(4 * len(examples), 3.8))
    grid = fig.add_gridspec(1, len(examples), wspace=0.3)
    for cell, ex in zip(grid, examples, strict=True):
        y = ex["curve"].p_true.to_numpy()
        path_with_thumbnails(
            fig,
            cell,
            np.arange(len(y)),
            y,
            ex["frames"],
            marks_at_extremes(y),
            title=ex["image"].id[:28],
            xlabel=xlabel,
        )
    return fig


def sampling_toy(curves: pd.DataFrame) -> plt.Figure:
    """The 1-D toy: relative change of the globally pooled output against sub-pixel input shifts."""
    use_style()
    fig, ax = plt.subplots(figsize=(6.2, 3.4))
    for i, (variant, c) in enumerate(curves.groupby("variant", sort=False)):
        ax.plot(c["shift"], c.pooled, "-", lw=1.4, color=f"C{i}", label=variant)
    ax.axhline(0, color="0.6", lw=0.6)
    ax.set(
        xlabel="input shift (samples; subsampling stride 2)",
        ylabel="change of pooled output\n(/ output magnitude)",
        title="1-D toy: conv -> (ReLU) -> (blur) -> subsample -> sum (SYNTHETIC signal)",
    )
    ax.legend(fontsize=7)
    return fig


def periodicity(checks: dict[str, pd.DataFrame], stride: int = 32) -> plt.Figure:
    """Max |logit change| under circular shifts, with circular padding, log scale; multiples of the total
    stride marked."""
    use_style()
    fig, ax = plt.subplots(figsize=(6.2, 3.2))
    for i, (model, t) in enumerate(checks.items()):
        ax.semilogy(
            t["shift"], t.max_abs_logit_diff.clip(lower=1e-9), "o-", ms=2.5, lw=1, color=f"C{i}", label=model
        )
    top = max(float(t["shift"].max()) for t in checks.values())
    for m in range(stride, int(top) + 1, stride):
        ax.axvline(m, color="0.7", ls="--", lw=0.8)
    ax.set(
        xlabel="diagonal circular shift (px)",
        ylabel="max |logit change|",
        title=f"Circular padding: invariant exactly at multiples of {stride}",
    )
    ax.legend(fontsize=7)
    return fig


def stage_curves(table: pd.DataFrame) -> plt.Figure:
    """Normalised change of globally pooled stage features under one-pixel shifts, against stage stride."""
    use_style()
    fig, ax = plt.subplots(figsize=(6.2, 3.4))
    for i, (model, t) in enumerate(table.groupby("model", sort=False)):
        err = [t.change - t.ci_low, t.ci_high - t.change]
        ax.errorbar(
            t.stride, t.change, yerr=err, fmt="o-", ms=3, lw=1.2, capsize=2, color=f"C{i}", label=model
        )
    ax.set_xscale("log", base=2)
    ax.set(
        xlabel="total stride of the stage",
        ylabel="||f(x) - f(shifted x)|| / ||f||",
        title="Globally pooled features, one-pixel shifts",
    )
    ax.legend(fontsize=7)
    return fig


def typicality_bins(summary: pd.DataFrame) -> plt.Figure:
    """P(top-1 change) and accuracy per typicality bin (quantiles of images), one line per network."""
    use_style()
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.4))
    for i, (model, t) in enumerate(summary.groupby("model", sort=False)):
        x = (t.typicality_from + t.typicality_to) / 2
        for ax, metric in zip(axes, ["p_top1_change", "accuracy"], strict=True):
            err = [t[metric] - t[f"{metric}_low"], t[f"{metric}_high"] - t[metric]]
            ax.errorbar(
                x,
                t[metric],
                yerr=err,
                fmt="o-",
                ms=3,
                capsize=2,
                color=f"C{i}",
                label=f"{model} (Spearman {t.spearman.iloc[0]:+.2f})",
            )
            ax.set(
                xlabel="typicality: mean cosine similarity to 10 nearest sample photos", title=label(metric)
            )
    axes[0].legend(fontsize=7)
    return fig


def remedies_setup(
    examples: torch.Tensor, offsets: list[int], samples: dict[str, torch.Tensor], logs: pd.DataFrame
) -> plt.Figure:
    """Top: one CIFAR-10 test object at diagonal offsets of the canvas. Bottom: 2-D histograms of the
    training offsets per placement distribution, and the smoothed training loss per variant.

    examples: (K, 3, N, N) uint8; samples: {kind: (n, 2) offsets}; logs: remedies.training_logs."""
    use_style()
    fig = plt.figure(figsize=(11, 6.4))
    outer = fig.add_gridspec(2, 1, height_ratios=[1, 1.5], hspace=0.35)
    top = outer[0].subgridspec(1, len(offsets))
    for k, d in enumerate(offsets):
        ax = fig.add_subplot(top[k])
        ax.imshow(examples[k].permute(1, 2, 0).numpy(), interpolation="nearest")
        ax.set(xticks=[], yticks=[], title=f"offset ({d}, {d})")
    size = examples.shape[-1]
    bottom = outer[1].subgridspec(1, len(samples) + 1, width_ratios=[1] * len(samples) + [1.9], wspace=0.45)
    for i, (kind, off) in enumerate(samples.items()):
        ax = fig.add_subplot(bottom[i])
        top_offset = int(off.max()) + 1 if len(off) else 1
        ax.hist2d(
            off[:, 1].numpy(), off[:, 0].numpy(), bins=top_offset, range=[[0, top_offset]] * 2, cmap="magma"
        )
        ax.set(title=f"training offsets:\n{kind}", xlabel="column (top-left corner)", aspect="equal")
        ax.invert_yaxis()
        ax.set_ylabel(f"row ({size}px canvas)")
    ax = fig.add_subplot(bottom[len(samples)])
    for i, (variant, t) in enumerate(logs.groupby("variant", sort=False)):
        for j, (_, s) in enumerate(t.groupby("seed")):
            ax.plot(
                s.step,
                s.loss,
                color=f"C{i}",
                lw=1,
                alpha=1 if j == 0 else 0.5,
                label=variant if j == 0 else None,
            )
    ax.set(xlabel="training step", ylabel="training loss (smoothed)", title="Training (all seeds)")
    ax.legend(fontsize=7)
    return fig


def remedies_bars(table: pd.DataFrame) -> plt.Figure:
    """Per metric a panel: variants on x, centre vs edge positions as paired bars with 95% CIs."""
    use_style()
    metrics = ["accuracy", "p_top1_change", "mac"]
    variants = list(dict.fromkeys(table.variant))
    zones = ["centre", "edge"]
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.6))
    width = 0.38
    for ax, metric in zip(axes, metrics, strict=True):
        for i, where in enumerate(zones):
            s = table[(table.metric == metric) & (table.zone == where)].set_index("variant").reindex(variants)
            x = np.arange(len(variants)) + (i - 0.5) * width
            ax.bar(
                x,
                s.value,
                width,
                color=["C0", "C3"][i],
                label="centre (typical: within 1 sigma)" if i == 0 else "edge (atypical: beyond 3 sigma)",
            )
            ci_whiskers(ax, x, s)
        ax.set_xticks(np.arange(len(variants)), variants, rotation=20, ha="right")
        ax.set_title(label(metric).replace(" (first frames)", ""))
    axes[0].legend(fontsize=7, loc="lower left")
    return fig


def position_curves(curves: pd.DataFrame, centre: float, sigma: float) -> plt.Figure:
    """Accuracy and P(top-1 change) against the object's diagonal offset, one line per variant; the
    photographer's 1-sigma band shaded, the 3-sigma limits dashed."""
    use_style()
    fig, axes = plt.subplots(1, 2, figsize=(11, 3.5))
    for ax, metric in zip(axes, ["accuracy", "p_top1_change"], strict=True):
        ax.axvspan(centre - sigma, centre + sigma, color="0.9", lw=0)
        for edge in (centre - 3 * sigma, centre + 3 * sigma):
            ax.axvline(edge, color="0.6", ls="--", lw=0.8)
        for i, (variant, t) in enumerate(curves.groupby("variant", sort=False)):
            ax.plot(t.offset + 0.5, t[metric], "o-", ms=2.5, lw=1.2, color=f"C{i}", label=variant)
        ax.set(xlabel="object offset (d, d) along the diagonal (pair midpoint)", title=label(metric))
    axes[0].legend(fontsize=7)
    axes[0].set_title("accuracy (frame d)")
    return fig


def size_curves(table: pd.DataFrame, trained_size: int) -> plt.Figure:
    """Accuracy and P(top-1 change) (one-pixel shifts near the centre) against object size, one line per
    variant, 95% CIs; the training size marked."""
    use_style()
    fig, axes = plt.subplots(1, 2, figsize=(11, 3.3))
    for ax, metric in zip(axes, ["accuracy", "p_top1_change"], strict=True):
        ax.axvline(trained_size, color="0.6", ls="--", lw=0.8)
        for i, (variant, t) in enumerate(table.groupby("variant", sort=False)):
            err = [t[metric] - t[f"{metric}_low"], t[f"{metric}_high"] - t[metric]]
            ax.errorbar(
                t["size"],
                t[metric],
                yerr=err,
                fmt="o-",
                ms=3,
                lw=1.2,
                capsize=2,
                color=f"C{i}",
                label=variant,
            )
        ax.set(xlabel=f"object side (px; trained at {trained_size}, dashed)", title=label(metric))
    axes[0].set_title("accuracy (frame k)")
    axes[0].legend(fontsize=7)
    return fig
