"""One figure style and one `save_figure()`: PNG + PDF under figures/ with a provenance sidecar.

Smoke-profile figures go to build/figures-smoke/ so they never overwrite the committed ones.
"""

from __future__ import annotations

import textwrap
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch
from matplotlib.ticker import MaxNLocator

from invariance.claims import aliasing, bias
from invariance.claims.remedies import display_name as variant_name
from invariance.claims.typicality import rho_text
from invariance.core import files, paths
from invariance.sources import paper
from invariance.sources.datasets import class_names
from invariance.sources.models import display_name

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


def caption(fig: plt.Figure, text: str) -> None:
    """A left-aligned caption under everything drawn so far (call before stamp(), which goes below it)."""
    box = fig.get_tightbbox(fig.canvas.get_renderer())
    left, bottom = box.x0 / fig.get_figwidth(), box.y0 / fig.get_figheight()
    fig.text(max(left, 0.0), bottom - 0.01, text, ha="left", va="top", fontsize=7.5, color="0.15")


def tidy(values: Any) -> Any:
    """The values a figure shows, as JSON-able data: DataFrames become lists of row records (a named index
    becomes a column), dicts and lists are converted item by item, numpy scalars become Python numbers."""
    if isinstance(values, pd.DataFrame):
        t = values if isinstance(values.index, pd.RangeIndex) else values.reset_index()
        return [{str(k): tidy(v) for k, v in row.items()} for row in t.to_dict("records")]
    if isinstance(values, pd.Series):
        return tidy(values.to_frame())
    if isinstance(values, dict):
        return {str(k): tidy(v) for k, v in values.items()}
    if isinstance(values, list | tuple):
        return [tidy(v) for v in values]
    if isinstance(values, np.generic):
        return values.item()
    if isinstance(values, float) and not np.isfinite(values):
        return None  # JSON has no NaN
    return values


def save_figure(
    fig: plt.Figure, name: str, *, profile: str, info: dict[str, Any], values: Any = None
) -> Path:
    """Write <figures>/<name>.png and .pdf and <name>.json (provenance). Returns the PNG path.

    info: what the figure is of (settings, networks, image count); values: the numbers it shows (tables
    with CIs and counts), stored under "values" in the sidecar so every number can be traced to a file.
    The footer stamp is the caller's job.
    """
    folder = paths.figures_dir(profile)
    folder.mkdir(parents=True, exist_ok=True)
    png = folder / f"{name}.png"
    fig.savefig(png, bbox_inches="tight")
    # No creation date in the PDF: the same figure gives the same bytes, so a rerun can be checked with cmp.
    fig.savefig(folder / f"{name}.pdf", bbox_inches="tight", metadata={"CreationDate": None})
    record = files.provenance(info, profile=profile, figure=name, values=tidy(values))
    files.atomic_write_json(folder / f"{name}.json", record)
    return png


def ci_whiskers(ax: plt.Axes, x, s: pd.DataFrame) -> None:
    """Black 95% CI whiskers on bars at x for a table with value, ci_low, ci_high columns."""
    yerr = [s.value - s.ci_low, s.ci_high - s.value]
    ax.errorbar(x, s.value, yerr=yerr, fmt="none", ecolor="k", lw=0.8, capsize=2)


# --- figure builders (one per notebook figure; notebooks call these) ---------------------------------


def image_array(frame: torch.Tensor) -> np.ndarray:
    """(3, H, W) in [0, 1] -> (H, W, 3) for imshow."""
    return frame.detach().cpu().permute(1, 2, 0).clamp(0, 1).numpy()


def jaggedness_maps(
    mats: dict[str, pd.DataFrame],
    jag: pd.DataFrame,
    xlabel: str,
    geometry: Mapping[str, str] | None = None,
    order: str = "rows: the same images in every panel, sorted by mean P(correct class) over all networks "
    "and all shifts (highest first)",
) -> plt.Figure:
    """One panel per network: P(correct class) along the path, one row per image (rows aligned across the
    panels, e.g. by metrics.align_rows; `order` states the rule on the figure); geometry: per network a
    line for its title (canvas and object size, protocols.geometry)."""
    use_style()
    fig, axes = plt.subplots(1, len(mats), figsize=(3.9 * len(mats), 4.1), squeeze=False)
    im = None
    for ax, (model, mat) in zip(axes[0], mats.items(), strict=True):
        im = ax.imshow(mat.to_numpy(), aspect="auto", cmap="viridis", vmin=0, vmax=1, interpolation="nearest")
        j = jag.loc[model]
        where = f"\n{geometry[model]}" if geometry and model in geometry else ""
        ax.set_title(
            f"{display_name(model)}{where}\n"
            f"jaggedness {j.jaggedness:.3f} [{j.ci_low:.3f}, {j.ci_high:.3f}] (95% CI)",
            fontsize=8.5,
        )
        ax.set(
            xlabel=xlabel,
            ylabel=f"image ({len(mat)}; same order in every panel)" if ax is axes[0, 0] else None,
        )
    fig.colorbar(im, ax=axes[0].tolist(), label="P(correct class)", shrink=0.9)
    fig.suptitle(
        f"P(correct class) along a one-pixel vertical translation path; {order}.\n"
        "Jaggedness: share of one-pixel steps whose top-1 class changes, 95% bootstrap CI over images.",
        fontsize=8.5,
        y=1.14,
    )
    return fig


def protocol_pairs(
    pairs: dict[str, tuple[torch.Tensor, torch.Tensor]], names: Mapping[str, str] | None = None
) -> plt.Figure:
    """Rows: protocols (ours, and the paper's name from `names`, default paper.PROTOCOL_NAMES); columns:
    frame k, frame k + 1 and |difference| (mean over RGB of pixel values in [0, 1]) on one colour scale
    for every row, with its colour bar."""
    from matplotlib.colors import PowerNorm

    use_style()
    names = paper.PROTOCOL_NAMES if names is None else names
    diffs = {name: (a - b).abs().mean(0).cpu().numpy() for name, (a, b) in pairs.items()}
    norm = PowerNorm(0.5, vmin=0, vmax=max(max(float(d.max()) for d in diffs.values()), 1e-6))
    fig, axes = plt.subplots(len(pairs), 3, figsize=(8.4, 2.1 * len(pairs)), squeeze=False)
    im = None
    for row, (name, (a, b)) in zip(axes, pairs.items(), strict=True):
        row[0].imshow(image_array(a))
        row[1].imshow(image_array(b))
        im = row[2].imshow(diffs[name], cmap="magma", norm=norm)
        paper_name = names.get(name, "")
        row[0].set_ylabel(
            f"ours: {name}\n\npaper: {paper_name}", fontsize=7.5, rotation=0, ha="right", va="center"
        )
        for ax in row:
            ax.set_xticks([])
            ax.set_yticks([])
    for ax, t in zip(axes[0], ["frame k", "frame k + 1", "|frame k + 1 - frame k|"], strict=True):
        ax.set_title(t)
    fig.colorbar(
        im,
        ax=axes[:, 2].tolist(),
        shrink=0.5,
        label="|difference|, mean over RGB (pixel values 0-1);\none square-root scale for all rows",
    )
    return fig


def metric_bars(
    summary: pd.DataFrame,
    metrics: list[str],
    order: list[str],
    reference: pd.DataFrame | None = None,
    reference_at: Mapping[str, str] | None = None,
    ticks: Mapping[str, str] | None = None,
) -> plt.Figure:
    """Grouped bars with 95% CIs: conditions on x, one colour per network, one panel per metric.

    reference: published values (paper.TABLE1: model, protocol, metric, pytorch), drawn as markers beside
    the bars of the condition reference_at[protocol] (e.g. the paper's 'black' at our 'mean', the background
    its code used); ticks: x tick labels per condition."""
    use_style()
    models = list(dict.fromkeys(summary.model))
    reference_at = reference_at or {}
    ref = reference if reference is not None else pd.DataFrame(columns=["model", "protocol", "metric"])
    ref = ref.assign(condition=ref.protocol.map(lambda p: reference_at.get(p, p)))
    ref_models = list(dict.fromkeys(ref.model))
    markers = ["D", "s", "^", "v", "o"]
    fig, axes = plt.subplots(1, len(metrics), figsize=(5.0 * len(metrics), 3.5), squeeze=False)
    n = len(models)
    width = 0.8 / (n + 1) if len(ref) else 0.8 / n
    for ax, metric in zip(axes[0], metrics, strict=True):
        sub = summary[summary.metric == metric]
        theirs = ref[ref.metric == metric]
        has_ref = np.array([c in set(theirs.condition) for c in order])
        centre = np.where(has_ref, -width / 2, 0.0)
        for i, model in enumerate(models):
            s = sub[sub.model == model].set_index("condition").reindex(order)
            x = np.arange(len(order)) + centre + (i - (n - 1) / 2) * width
            ax.bar(x, s.value, width, label=display_name(model), color=f"C{i}")
            ci_whiskers(ax, x, s)
        for j, model in enumerate(ref_models):
            t = theirs[theirs.model == model]
            x = [order.index(c) + (n / 2) * width + (j - 1) * width * 0.25 for c in t.condition]
            ax.plot(
                x,
                t.pytorch,
                markers[j % 5],
                ms=5,
                mfc="white",
                mec="k",
                mew=0.9,
                ls="none",
                label=f"paper Table 1: {paper.MODEL_NAMES.get(model, model)}",
            )
        labels = [ticks.get(c, c) if ticks else c for c in order]
        ax.set_xticks(np.arange(len(order)), labels, fontsize=7.5)
        ax.set_ylabel(label(metric))
        if ticks:
            ax.set_xlabel("protocol: ours (the paper's name)", fontsize=8)
        has_any = len(theirs) > 0
        ax.set_title(label(metric) + ("" if has_any or not len(ref) else "\n(not in the paper's Table 1)"))
    handles, names = axes[0, 0].get_legend_handles_labels()
    fig.legend(
        handles, names, loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=min(len(names), 6), fontsize=7.5
    )
    return fig


SWEEP_NAMES = {
    "crop": "crop (official code)",
    "crop shift-before-rescale": "crop, shift before rescale (camera pan)",
    "embed black": "embedding on true black",
    "embed mean": "embedding on mean grey (official code's 'black')",
}


def sweep_panels(
    summary: pd.DataFrame, canvas: int = 224, names: Mapping[str, str] | None = None
) -> plt.Figure:
    """Rows: networks; columns: P(top-1 change), MAC, accuracy, against object scale, one line per variant.

    Crop fractions s <= 1 and centred embeddings of int(canvas / s) px (s > 1) share the x axis, with a
    break between them; names: legend text per variant."""
    use_style()
    names = SWEEP_NAMES if names is None else names
    models = list(dict.fromkeys(summary.model))
    metrics = ["p_top1_change", "mac", "accuracy"]
    scales = sorted(summary.scale.unique())
    crops = [s for s in scales if s <= 1]
    embeds = [s for s in scales if s > 1]
    fig, axes = plt.subplots(len(models), 3, figsize=(11.5, 3.1 * len(models)), squeeze=False)
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
                    label=names.get(variant, variant) if names else variant,
                )
            if crops and embeds:
                lo, hi = max(crops), min(embeds)
                ax.axvspan(lo + 0.06, hi - 0.06, color="0.92", lw=0)
                ax.axvline((lo + hi) / 2, color="0.5", lw=0.8, ls=(0, (2, 2)))
            ticks = [f"{s:g}" for s in crops] + [f"{int(canvas / s)} px" for s in embeds]
            ax.set_xticks(crops + embeds, ticks, fontsize=7.5)
            ax.set(title=f"{display_name(model)}: {label(metric)}", ylabel=label(metric))
            ax.set_xlabel("crop: area fraction s          |          centred embedding: side", fontsize=8)
    fig.tight_layout()
    handles, labels_ = axes[0, 0].get_legend_handles_labels()
    fig.legend(
        handles, labels_, loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=len(labels_), fontsize=7.5
    )
    return fig


def position_histograms(
    panels: dict[str, pd.DataFrame], bins: int = 20, left_crop: Mapping[str, str] | None = None
) -> plt.Figure:
    """Normalised object centres, one panel per set (a 2-D histogram with its colour bar, or the points
    themselves for sets under 200 boxes), with the size distributions below; left_crop: per set a note
    for its title (e.g. how many boxes left the crop)."""
    use_style()
    fig, axes = plt.subplots(2, len(panels), figsize=(3.9 * len(panels), 7.0), squeeze=False)
    # one colour scale for every histogram, so that a flatter spread looks flatter
    vmax = max(
        (
            np.histogram2d(t.cx, t.cy, bins=bins, range=[[0, 1], [0, 1]], density=True)[0].max()
            for t in panels.values()
            if len(t) >= 200
        ),
        default=None,  # no histogram panel: points only
    )
    for i, (name, t) in enumerate(panels.items()):
        ax = axes[0, i]
        central = bias.centre_concentration(t)["central_third"]
        note = f"\n{central:.0%} of centres in the central ninth (uniform: 11%)"
        note += f"\n{left_crop[name]}" if left_crop and name in left_crop else ""
        if len(t) < 200:
            ax.plot(t.cx, t.cy, "o", ms=3.5, color=f"C{i}", mec="k", mew=0.3, alpha=0.8)
            ax.set(xlim=(0, 1), ylim=(0, 1))
            ax.set_title(f"{name}\n(n = {len(t):,}, one point per box){note}", fontsize=8.5)
        else:
            *_, im = ax.hist2d(
                t.cx, t.cy, bins=bins, range=[[0, 1], [0, 1]], density=True, cmap="magma", vmin=0, vmax=vmax
            )
            fig.colorbar(im, ax=ax, shrink=0.8, label="density of centres")
            ax.set_title(f"{name}\n(n = {len(t):,}){note}", fontsize=8.5)
        ax.set(xlabel="centre x / width", ylabel="centre y / height", aspect="equal")
        ax.invert_yaxis()
        ax.axhline(1 / 3, color="0.6", lw=0.5, ls=":")
        ax.axhline(2 / 3, color="0.6", lw=0.5, ls=":")
        ax.axvline(1 / 3, color="0.6", lw=0.5, ls=":")
        ax.axvline(2 / 3, color="0.6", lw=0.5, ls=":")
        area = "crop" if "crop" in name else "image"
        axes[1, i].hist(t["size"], bins=30, range=(0, 1.5), density=True, color=f"C{i}")
        axes[1, i].set(xlabel=f"object size: sqrt(box area / {area} area)", ylabel="density")
    fig.tight_layout()
    return fig


def grid_maps(summary: pd.DataFrame, metrics: Sequence[str] = ("p_top1_change", "accuracy")) -> plt.Figure:
    """Heat maps over the grid of placements, one row per metric, one panel per embedded size; each cell
    shows its value and 95% CI (text dark or light by the cell's colour)."""
    use_style()
    sides = sorted(summary.side.unique())
    cmaps = {"p_top1_change": "Reds", "accuracy": "Blues"}
    fig, axes = plt.subplots(
        len(metrics), len(sides), figsize=(3.6 * len(sides), 3.3 * len(metrics)), squeeze=False
    )
    for row, metric in zip(axes, metrics, strict=True):
        sub = summary[summary.metric == metric]
        vmax = max(float(sub.value.max()), 1e-3)
        im = None
        for ax, side in zip(row, sides, strict=True):
            s = sub[sub.side == side]
            grid = np.full((int(s.row.max()) + 1, int(s.col.max()) + 1), np.nan)
            grid[s.row, s.col] = s.value
            im = ax.imshow(grid, cmap=cmaps.get(metric, "Greys"), vmin=0, vmax=vmax)
            for r in s.itertuples():
                ax.text(
                    r.col,
                    r.row,
                    f"{r.value:.2f}\n{r.ci_low:.2f}-{r.ci_high:.2f}",
                    ha="center",
                    va="center",
                    fontsize=6.5,
                    color="white" if r.value > 0.55 * vmax else "black",
                )
            first = ax is row[0]
            ax.set(title=f"embedded side {side} px", xticks=[], yticks=[], xlabel="left ... right")
            ax.set_ylabel(f"{label(metric)}\n\ntop ... bottom" if first else "top ... bottom")
        fig.colorbar(im, ax=row.tolist(), label=label(metric), shrink=0.9)
    n = ", ".join(str(k) for k in sorted(summary.images.unique()))
    cells = f"{int(summary.row.max()) + 1} x {int(summary.col.max()) + 1}"
    fig.suptitle(
        f"Embedded image at a {cells} grid of positions: each cell the mean over {n} images (one one-pixel "
        "diagonal pair each)\nand below it the 95% bootstrap CI over images",
        fontsize=8.5,
    )
    return fig


def _thumb(ax: plt.Axes, frame: torch.Tensor, title: str, edge: str | None = None) -> None:
    ax.imshow(image_array(frame))
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_title(title, fontsize=7)
    for spine in ax.spines.values():
        spine.set_visible(edge is not None)
        spine.set_color(edge or "k")
        spine.set_linewidth(1.5)


def _short(name: str, n: int = 22) -> str:
    """First synonym of an ImageNet class name, cut to n characters."""
    first = name.split(",")[0]
    return first if len(first) <= n else first[: n - 1] + "."


def _object_region(frames: torch.Tensor, margin: int = 12) -> torch.Tensor:
    """Frames (K, 3, N, N) cut to the box holding every non-black pixel of any of them, plus a margin (the
    embedded object and a little of the canvas): thumbnails where the one-pixel change can be seen."""
    rows = torch.nonzero(frames.amax(dim=(0, 1, 3)) > 0).flatten()
    cols = torch.nonzero(frames.amax(dim=(0, 1, 2)) > 0).flatten()
    if len(rows) == 0:
        return frames
    n = frames.shape[-1]
    r0, r1 = max(int(rows[0]) - margin, 0), min(int(rows[-1]) + margin + 1, n)
    c0, c1 = max(int(cols[0]) - margin, 0), min(int(cols[-1]) + margin + 1, n)
    return frames[..., r0:r1, c0:c1]


def _path_row(fig: plt.Figure, spec, ex: dict, x: np.ndarray, *, title: str, xlabel: str, names) -> None:
    """One path (curve of P(correct), its largest one-pixel step in red) and the frames on both sides."""
    sub = spec.subgridspec(1, 3, width_ratios=[2.4, 0.9, 0.9], wspace=0.15)
    ax = fig.add_subplot(sub[0])
    curve = ex["curve"]
    y = curve.p_true.to_numpy()
    right = (curve.top1 == curve.label).to_numpy()
    k = ex["stats"]["largest_step"]
    ax.plot(x, y, "-", color="C0", lw=1.1, zorder=1)
    ax.scatter(x[right], y[right], s=12, color="C0", zorder=2)
    ax.scatter(x[~right], y[~right], s=12, facecolor="white", edgecolor="C0", zorder=2)
    ax.plot(x[k : k + 2], y[k : k + 2], "-", color="C3", lw=2.2, zorder=3)
    ax.annotate(
        f"one pixel: {y[k]:.2f} -> {y[k + 1]:.2f}",
        (x[k + 1], y[k + 1]),
        textcoords="offset points",
        xytext=(6, -10 if y[k + 1] < y[k] else 4),
        fontsize=7,
        color="C3",
    )
    ax.set(title=title, xlabel=xlabel, ylabel="P(correct class)", ylim=(-0.03, 1.03))
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    shown = _object_region(ex["frames"][k : k + 2])
    for col, j in enumerate((k, k + 1)):
        t = fig.add_subplot(sub[col + 1])
        top = _short(names[int(curve.top1.iloc[j])])
        _thumb(t, shown[col], f"{xlabel.split(' (')[0]} {x[j]:g}\nP(correct) {y[j]:.2f}\ntop-1: {top}", "C3")


def _clip_row(fig: plt.Figure, spec, clips: list[dict]) -> None:
    """P(clip's class) over the frames of each clip, with the frames around each clip's largest change."""
    sub = spec.subgridspec(1, 3, width_ratios=[2.4, 1, 1], wspace=0.15)
    ax = fig.add_subplot(sub[0])
    thumbs = sub[1:].subgridspec(len(clips), 2, hspace=0.45, wspace=0.1)
    for i, ex in enumerate(clips):
        t, st = ex["table"], ex["stats"]
        colour = f"C{i + 1}"
        right = t.correct.to_numpy(dtype=float) == 1
        ax.plot(t["index"], t.p_reference, "-", color=colour, lw=1.1)
        ax.scatter(t["index"][right], t.p_reference[right], s=10, color=colour)
        ax.scatter(t["index"][~right], t.p_reference[~right], s=10, facecolor="white", edgecolor=colour)
        ax.plot(
            [],
            [],
            "-o",
            ms=3,
            color=colour,
            label=(
                f"{ex['clip'].name} ({_short(st['reference'])}): top-1 changes in "
                f"{st['top1_changes']} of {st['steps']} steps"
            ),
        )
        k = st["largest_step"]
        ax.plot(t["index"][k : k + 2], t.p_reference[k : k + 2], "-", color="C3", lw=2.2)
        for col, j in enumerate((k, k + 1)):
            r = t.iloc[j]
            _thumb(
                fig.add_subplot(thumbs[i, col]),
                ex["frames"][j],
                f"{ex['clip'].name} frame {j}: P {r.p_reference:.2f}\ntop-1: {_short(r.top1_name, 18)}",
                "C3",
            )
    ax.set(
        title="c) Consecutive frames of real video (DAVIS 2016, hand-held camera)",
        xlabel="frame",
        ylabel="P(class of the clip)",
        ylim=(-0.03, 1.03),
    )
    ax.legend(fontsize=6.5, loc="upper left", borderaxespad=0.2)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))


def figure1(translation: dict, scale: dict, clips: list[dict], scale_sides, *, network: str) -> plt.Figure:
    """Figure 1 in three rows: (a) a one-pixel vertical shift and (b) a one-pixel growth of an embedded
    image, each picked from a whole sample by the stated rule, and (c) consecutive frames of real video.
    Red: each curve's largest one-pixel (one-frame) change, with the frames on both sides."""
    use_style()
    names = class_names()
    fig = plt.figure(figsize=(10.5, 10.2))
    grid = fig.add_gridspec(3, 1, hspace=0.62, height_ratios=[1, 1, 1.25])
    for spec, ex, x, what, xlabel in (
        (
            grid[0],
            translation,
            np.arange(len(translation["curve"])),
            "a) One-pixel vertical shift",
            "shift (px)",
        ),
        (grid[1], scale, np.asarray(scale_sides), "b) One-pixel growth", "shorter side (px)"),
    ):
        img = ex["image"]
        _path_row(
            fig,
            spec,
            ex,
            x,
            title=f"{what}: {_short(names[img.label], 28)} ({img.id.split('_')[0]})\n"
            f"picked from {len(ex['steps']):,} images by the rule below; thumbnails: the object's region",
            xlabel=xlabel,
            names=names,
        )
    _clip_row(fig, grid[2], clips)
    lines = [line for part in network.split("\n") for line in textwrap.wrap(part, 140)]
    fig.suptitle("\n".join(lines), fontsize=9, y=0.995)
    key = [
        plt.Line2D([], [], ls="", marker="o", ms=4, color="0.3", label="top-1 = the correct class"),
        plt.Line2D([], [], ls="", marker="o", ms=4, mfc="white", mec="0.3", label="top-1 wrong"),
        plt.Line2D(
            [], [], color="C3", lw=2.2, label="largest one-pixel (one-frame) change; its frames at right"
        ),
    ]
    fig.legend(handles=key, loc="upper center", ncol=3, fontsize=7.5, bbox_to_anchor=(0.5, 0.947))
    return fig


def figure1_caption(translation: dict, scale: dict) -> str:
    """The selection rule and how common such one-pixel changes are (printed under Figure 1)."""
    lines = [f"Rows a, b, selection rule, applied to every image searched: {translation['rule']}."]
    for what, ex in (("a", translation), ("b", scale)):
        sh = ex["shares"]
        parts = ", ".join(
            f">= {r.threshold:g}: {r.share:.1%} [{r.ci_low:.1%}, {r.ci_high:.1%}]" for r in sh.itertuples()
        )
        lines.append(
            f"{what}) share of the {int(sh.images.iloc[0]):,} images with a one-pixel change of P(correct) "
            f"{parts} (95% Wilson CIs)"
        )
    return "\n".join(line for part in lines for line in textwrap.wrap(part, 185))


def jumps_in_context(translation: dict, scale: dict, paper_examples: dict[str, tuple]) -> plt.Figure:
    """Left: share of images whose largest one-pixel change of P(correct) is at least x, per path (log
    scale), with 95% CIs at the thresholds and the picks marked. Right: the paper's own images on the same
    paths, ranked among the images searched. paper_examples: {what: (path_example, x values, search)}."""
    use_style()
    names = class_names()
    fig = plt.figure(figsize=(13, 3.8))
    n_right = len(paper_examples)
    grid = fig.add_gridspec(1, 1 + n_right, width_ratios=[1.25] + [1] * n_right, wspace=0.3)
    ax = fig.add_subplot(grid[0, 0])
    for i, (what, ex) in enumerate((("vertical shift", translation), ("growth", scale))):
        v = np.sort(ex["steps"].largest_change.to_numpy())
        share = 1 - np.arange(len(v)) / len(v)
        sh = ex["shares"]
        at = ", ".join(f"{r.share:.1%}" for r in sh.itertuples())
        ax.step(v, share, where="post", color=f"C{i}", lw=1.2, label=f"{what}: {at} at 0.1 / 0.3 / 0.5")
        ax.errorbar(
            sh.threshold,
            sh.share.clip(lower=0.5 / len(v)),  # a share of 0 is drawn at the axis floor (and labelled)
            yerr=[
                sh.share.clip(lower=0.5 / len(v)) - sh.ci_low.clip(lower=0.5 / len(v)),
                sh.ci_high - sh.share,
            ],
            fmt="o",
            ms=3.5,
            color=f"C{i}",
            capsize=2,
        )
        pick = ex["stats"]["largest_change"]
        ax.plot(pick, 1 / len(v), "*", ms=9, color=f"C{i}", mec="k", mew=0.5, zorder=4)
        ax.annotate(  # left of the star, on a white patch so the grid lines and CI bars do not cut it
            f"pick {pick:.2f}",
            (pick, 1 / len(v)),
            textcoords="offset points",
            xytext=(-6, 4 + 9 * i),
            ha="right",
            fontsize=6.5,
            color=f"C{i}",
            bbox={"boxstyle": "round,pad=0.15", "fc": "white", "ec": "none", "alpha": 0.9},
            zorder=5,
        )
        for r in sh[sh.hits == 0].itertuples():  # a share of 0 cannot sit on a log axis: say it
            ax.annotate(
                f"0 of {len(v):,}\n(CI to {r.ci_high:.1%})",
                (r.threshold, 0.5 / len(v)),
                textcoords="offset points",
                xytext=(6, 2),
                fontsize=6,
                color=f"C{i}",
            )
    n = len(translation["steps"])
    ax.set(
        xlabel="largest one-pixel change of P(correct) on the path",
        ylabel="share of images with at least x",
        title=f"How common are large one-pixel jumps?\n({n:,} images searched)",
        xlim=(0, 0.7),
        yscale="log",
        ylim=(0.4 / n, 1.3),
    )
    for t in (0.1, 0.3, 0.5):
        ax.axvline(t, color="0.85", lw=0.8, zorder=0)
    ax.legend(
        fontsize=6.5, loc="upper right", title="share of images (bars: 95% Wilson CIs)", title_fontsize=6.5
    )
    for col, (what, (ex, x, search)) in enumerate(paper_examples.items(), start=1):
        a = fig.add_subplot(grid[0, col])
        y = ex["curve"].p_true.to_numpy()
        k = ex["stats"]["largest_step"]
        change = ex["stats"]["largest_change"]
        rank = int((search["steps"].largest_change > change).sum()) + 1
        a.plot(x, y, "o-", ms=2.5, lw=1, color="C0")
        a.plot(x[k : k + 2], y[k : k + 2], "-", color="C3", lw=2)
        a.set(
            title=f"The paper's {_short(names[ex['image'].label])} ({what})\n"
            f"largest change {change:.2f} (rank {rank:,} / {len(search['steps']):,})",
            xlabel="shift (px)" if "shift" in what else "shorter side (px)",
            ylabel="P(correct class)",
            ylim=(-0.03, 1.03),
        )
    return fig


def sampling_toy(curves: pd.DataFrame, spread: pd.DataFrame | None = None) -> plt.Figure:
    """The 1-D toy: relative change of the globally pooled output against sub-pixel input shifts (left)
    and, when given (aliasing.toy_spread), its spread over all shifts per variant on a log axis (right), where
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
            xlabel="max - min over shifts (log scale; 0 = invariant)",
            title="Spread over all shifts (band-limited: exact for linear,\nnot after a ReLU)",
        )
    fig.suptitle(
        "1-D toy on a SYNTHETIC signal: a sub-pixel input shift and the globally pooled output", y=1.02
    )
    fig.tight_layout()
    return fig


def periodicity(checks: dict[str, pd.DataFrame], stride: int = 32) -> plt.Figure:
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
    note = aliasing.head_note(model)
    return ", ".join(parts) + (f"\n({note})" if note else "")


def stage_curves(table: pd.DataFrame) -> plt.Figure:
    """Normalised change of globally pooled stage features under one-pixel shifts, against stage stride,
    with 95% CIs (error bars)."""
    use_style()
    fig, ax = plt.subplots(figsize=(8.4, 3.6))
    for i, (model, t) in enumerate(table.groupby("model", sort=False)):
        err = [t.change - t.ci_low, t.ci_high - t.change]
        seeds = int(t.seeds.iloc[0]) if "seeds" in t else 1
        ax.errorbar(
            t.stride,
            t.change,
            yerr=err,
            fmt="o-",
            ms=3,
            lw=1.2,
            capsize=2,
            color=f"C{i}",
            label=f"{display_name(model)}, mean of {seeds} init seeds" if seeds > 1 else display_name(model),
        )
    ax.set_xscale("log", base=2)
    ax.set(
        xlabel="total stride of the stage (its output is globally average-pooled)",
        ylabel="||f(x) - f(shifted x)|| / ||f||",
        title="Globally pooled stage features, one-pixel diagonal shifts\n"
        "(error bars: 95% CI over images; for several init seeds over seeds and images)",
    )
    ax.legend(fontsize=7, loc="upper left")
    return fig


def typicality_bins(summary: pd.DataFrame) -> plt.Figure:
    """P(top-1 change) and accuracy per typicality bin (quantiles of images), one line per network, 95% CIs;
    the legend above the panels."""
    use_style()
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.6))
    n = ", ".join(str(k) for k in sorted(summary.images.unique()))
    bins = "quartile" if summary.bin.nunique() == 4 else "bin"
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
                label=f"{display_name(model)} ({rho_text(t.iloc[0])})",
            )
            ax.set(
                xlabel="typicality: mean cosine similarity to the 10 nearest sample photos\n"
                "(all of other classes; bin midpoint)",
                ylabel=label(metric),
                title=f"{label(metric)} per typicality {bins} ({n} images each)",
            )
    fig.tight_layout()
    handles, names = axes[0].get_legend_handles_labels()
    fig.legend(
        handles,
        names,
        loc="lower center",
        bbox_to_anchor=(0.5, 1.0),
        ncol=len(names),
        fontsize=7.5,
        title="Spearman rank correlation over images of typicality and P(top-1 change)"
        + (", 95% bootstrap CI" if "spearman_low" in summary else ""),
        title_fontsize=7.5,
    )
    return fig


def depth_controls(table: pd.DataFrame, titles: dict[str, str], verdicts: dict[str, str]) -> plt.Figure:
    """One panel per depth comparison (depth.depth_table): P(top-1 change) per one-pixel step per network
    (shallowest first) with 95% CIs over images, the accuracy of the frames written above each bar, and the
    comparison's verdict on "deeper is less invariant" in its title."""
    use_style()
    names = list(dict.fromkeys(table.comparison))
    fig, axes = plt.subplots(1, len(names), figsize=(3.3 * len(names), 3.6), sharey=True, squeeze=False)
    top = float(table.ci_high.max())
    for ax, name in zip(axes[0], names, strict=True):
        t = table[table.comparison == name].reset_index(drop=True)
        x = np.arange(len(t))
        ax.bar(x, t.p_top1_change, color=[f"C{i}" for i in x], alpha=0.8)
        ci_whiskers(ax, x, t.rename(columns={"p_top1_change": "value"}))
        for i, r in t.iterrows():
            ax.text(i, r.ci_high + 0.02 * top, f"acc {r.accuracy:.2f}", ha="center", va="bottom", fontsize=7)
        # "EfficientNet-\nLite0": three full names side by side would overlap under narrow panels
        ax.set_xticks(x, [display_name(m).replace("-", "-\n", 1) for m in t.model], fontsize=8)
        images = ", ".join(str(n) for n in dict.fromkeys(t.images))
        ax.set_title(
            f"{titles.get(name, name)}\n({images} images)\ndeeper less invariant? {verdicts[name]}",
            fontsize=8.5,
        )
    axes[0, 0].set_ylabel("P(top-1 change) per one-pixel step")
    axes[0, 0].set_ylim(0, top * 1.15)
    fig.tight_layout()
    return fig


FRAMING_PROTOCOLS = {"crop": "one-pixel shift of the view (crop protocol)", "zoom": "one-pixel zoom"}


def _tick(fmt: str, x: float) -> str:
    text = fmt.format(x)
    return text[1:] if text.startswith("-") and float(text) == 0 else text  # no "-0.0"


def real_framing(summary: pd.DataFrame, corr: pd.DataFrame, stratifiers: dict[str, str]) -> plt.Figure:
    """Real photos at their natural framing: P(top-1 change) per quantile bin of each stratifier (columns)
    for each protocol (rows), then accuracy (last row, first protocol's frames); one colour per network,
    95% CIs over photos; each legend gives the network's Spearman rho (photo's P(change) vs the stratifier)
    with its CI. summary: framing.framing_summary; corr: framing.correlations."""
    use_style()
    protocols = list(dict.fromkeys(summary.protocol))
    rows = [(p, "p_top1_change") for p in protocols] + [(protocols[0], "accuracy")]
    fig, axes = plt.subplots(len(rows), len(stratifiers), figsize=(4.1 * len(stratifiers), 2.9 * len(rows)))
    axes = np.atleast_2d(axes)
    models = list(dict.fromkeys(summary.model))
    width = 0.12
    for r, (protocol, metric) in enumerate(rows):
        for c, column in enumerate(stratifiers):
            ax = axes[r, c]
            for i, model in enumerate(models):
                t = summary[(summary.model == model) & (summary.protocol == protocol)]
                t = t[t.stratifier == column].sort_values("bin")
                x = t.bin + (i - (len(models) - 1) / 2) * width
                err = [t[metric] - t[f"{metric}_low"], t[f"{metric}_high"] - t[metric]]
                name = display_name(model)
                if metric == "p_top1_change":
                    k = corr[
                        (corr.model == model) & (corr.protocol == protocol) & (corr.stratifier == column)
                    ]
                    k = k.iloc[0]
                    name += f": rho {k.rho:+.2f} [{k.low:+.2f}, {k.high:+.2f}]"
                ax.errorbar(x, t[metric], yerr=err, fmt="o-", ms=3, capsize=2, color=f"C{i}", label=name)
            ticks = summary[(summary.stratifier == column)].drop_duplicates("bin").sort_values("bin")
            fmt = "{:.2f}" if column == "area" else "{:.1f}"
            ax.set_xticks(
                ticks.bin,
                [
                    f"Q{b + 1}\n{_tick(fmt, lo)} to {_tick(fmt, hi)}"
                    for b, lo, hi in zip(ticks.bin, ticks["from"], ticks["to"], strict=True)
                ],
                fontsize=7,
            )
            ax.set_ylabel(label(metric) if metric != "accuracy" else "accuracy (frames)")
            if metric == "p_top1_change":  # one scale per row, headroom for the legend above the data
                row = summary[summary.protocol == protocol]
                ax.set_ylim(0, 1.55 * float(row[f"{metric}_high"].max()))
                ax.legend(fontsize=6.5, loc="upper right", title="Spearman over photos", title_fontsize=6.5)
            if r == 0:
                ax.set_title(stratifiers[column], fontsize=9)
            if c == 0:
                what = FRAMING_PROTOCOLS.get(protocol, protocol)
                what = what if metric == "p_top1_change" else f"accuracy ({protocol} frames)"
                ax.annotate(
                    what,
                    xy=(-0.26, 0.5),
                    xycoords="axes fraction",
                    rotation=90,
                    ha="center",
                    va="center",
                    fontsize=9,
                    fontweight="bold",
                )
            if r == len(rows) - 1:
                ax.set_xlabel(
                    "quartile of photos (bin range)" if ticks.bin.nunique() == 4 else "bin of photos"
                )
    fig.tight_layout()
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
        shown = {"gaussian": "photographer (Gaussian)", "uniform": "uniform (augmentation)"}.get(kind, kind)
        ax.set(title=f"training offsets:\n{shown}", xlabel="column (top-left corner)", aspect="equal")
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
                label=variant_name(variant) if j == 0 else None,
            )
    ax.set(xlabel="training step", ylabel="training loss (smoothed)", title="Training (all seeds)")
    ax.legend(fontsize=7)
    return fig


def remedies_bars(table: pd.DataFrame) -> plt.Figure:
    """Per metric a panel: variants on x, centre vs edge positions as paired bars with 95% CIs; the legend
    above the panels."""
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
                label="centre (typical: within 1 sigma of the photographer's placements)"
                if i == 0
                else "edge (atypical: beyond 3 sigma)",
            )
            ci_whiskers(ax, x, s)
        ax.set_xticks(np.arange(len(variants)), [variant_name(v) for v in variants], rotation=20, ha="right")
        name = label(metric).replace(" (first frames)", " (frame k)")
        ax.set(title=name, ylabel=name)
    fig.tight_layout()
    handles, names = axes[0].get_legend_handles_labels()
    handles.append(plt.Line2D([], [], color="k", lw=0.8, marker="_", ms=6))
    names.append("95% CI over trained seeds and test images")
    fig.legend(handles, names, loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=3, fontsize=8)
    return fig


def position_curves(curves: pd.DataFrame, centre: float, sigma: float) -> plt.Figure:
    """Accuracy and P(top-1 change) against the object's diagonal offset, one line per variant with its 95%
    CI shaded (columns <metric>_low/_high, remedies.position_curves); the photographer's 1-sigma band
    shaded grey, the 3-sigma limits dashed; the legend above the panels."""
    use_style()
    fig, axes = plt.subplots(1, 2, figsize=(11, 3.6))
    for ax, metric in zip(axes, ["accuracy", "p_top1_change"], strict=True):
        ax.axvspan(
            centre - sigma, centre + sigma, color="0.9", lw=0, label="photographer's placements: 1 sigma"
        )
        for k, edge in enumerate((centre - 3 * sigma, centre + 3 * sigma)):
            ax.axvline(edge, color="0.6", ls="--", lw=0.8, label="3 sigma" if k == 0 else None)
        for i, (variant, t) in enumerate(curves.groupby("variant", sort=False)):
            x = t.offset + 0.5
            if f"{metric}_low" in t:
                ax.fill_between(x, t[f"{metric}_low"], t[f"{metric}_high"], color=f"C{i}", alpha=0.18, lw=0)
            ax.plot(x, t[metric], "o-", ms=2.5, lw=1.2, color=f"C{i}", label=variant_name(variant))
        ax.set(xlabel="object offset (d, d) along the diagonal (pair midpoint, px)", ylabel=label(metric))
    axes[0].set_title("accuracy (frame d)")
    axes[0].set_ylabel("accuracy (frame d)")
    axes[1].set_title("P(top-1 change), step (d, d) -> (d + 1, d + 1)")
    n = ", ".join(str(k) for k in sorted(curves.images.unique())) if "images" in curves else "?"
    fig.tight_layout()
    handles, names = axes[0].get_legend_handles_labels()
    fig.legend(
        handles,
        names,
        loc="lower center",
        bbox_to_anchor=(0.5, 1.0),
        ncol=3,
        fontsize=8,
        title=f"lines: means over test images and seeds; shaded: 95% CI over trained seeds and test images "
        f"({n} per offset; seed t interval and image spread combined)",
        title_fontsize=7.5,
    )
    return fig


def size_curves(table: pd.DataFrame, trained_size: int) -> plt.Figure:
    """Accuracy and P(top-1 change) (one-pixel shifts near the centre) against object size, one line per
    variant, 95% CIs; the training size marked; the legend above the panels."""
    use_style()
    fig, axes = plt.subplots(1, 2, figsize=(11, 3.4))
    for ax, metric in zip(axes, ["accuracy", "p_top1_change"], strict=True):
        ax.axvline(trained_size, color="0.6", ls="--", lw=0.8)
        for i, (variant, t) in enumerate(table.groupby("variant", sort=False)):
            err = [t[metric] - t[f"{metric}_low"], t[f"{metric}_high"] - t[metric]]
            ax.errorbar(
                t["size"] + (i - 1.5) * 0.25,
                t[metric],
                yerr=err,
                fmt="o-",
                ms=3,
                lw=1.2,
                capsize=2,
                color=f"C{i}",
                label=variant_name(variant),
            )
        ax.set(
            xlabel=f"object side (px; trained at {trained_size}, dashed)",
            title=label(metric),
            ylabel=label(metric),
        )
    axes[0].set_title("accuracy (frame k)")
    axes[0].set_ylabel("accuracy (frame k)")
    fig.tight_layout()
    handles, names = axes[0].get_legend_handles_labels()
    fig.legend(
        handles,
        [*names],
        loc="lower center",
        bbox_to_anchor=(0.5, 1.0),
        ncol=len(names),
        fontsize=8,
        title="error bars: 95% CI over trained seeds and test images (points nudged sideways to "
        "keep the bars apart)",
        title_fontsize=7.5,
    )
    return fig
