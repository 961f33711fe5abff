"""Claim 1, Figure 1 (notebook 01): one-pixel changes make the output jump.

Single images along a path, picked from a whole sample by a stated rule (RULE) and put in context (how many
images have such jumps), and consecutive frames of real video clips; the figures, their sentences and the
verdict. Every network run on ImageNet images goes through `evaluate.run`, so it is cached and resumable.
The protocols' frame pairs (notebook 02) are in `frame_pairs`, the jaggedness maps (03) in `depth`.
"""

from __future__ import annotations

import textwrap
from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch
from matplotlib.ticker import MaxNLocator

from invariance.kernels import metrics
from invariance.presentation.figures import image_array, use_style
from invariance.presentation.text import (
    NOT_REPRODUCED,
    REPRODUCED,
    Values,
    pct,
    verdict_text,
)
from invariance.runner import evaluate, protocols
from invariance.runner.protocols import Protocol
from invariance.sources import datasets, models
from invariance.sources.datasets import class_names
from invariance.sources.images import SourceImage
from invariance.sources.models import LoadedModel
from invariance.sources.video import Clip


def frames_for_image(model: LoadedModel, image: SourceImage, protocol: Protocol) -> torch.Tensor:
    """The frames (K, 3, N, N) of one image under a protocol at the model's canvas (for thumbnails)."""
    canvas = model.data_config.input_size
    return protocols.build_frames(protocol, [image], canvas, model.data_config.mean)[0]


# --- Figure 1's selection rule: the largest one-pixel change, and how common such changes are ------------

# The rule, as printed on the figure and in the notebook: the paper's Figure 1 shows the prediction itself
# flipping, so the pick is a step where the top-1 goes from the correct class to a wrong one.
RULE = (
    "of all images searched, the one-pixel step where the top-1 goes from correct to wrong with the largest "
    "drop of P(correct)"
)
# When no image flips from correct to wrong (a small or hard sample), the earlier rule, said on the figure.
FALLBACK_RULE = (
    "no image's top-1 goes from correct to wrong on the path, so: of the images whose P(correct) reaches "
    "{min_best} somewhere on the path, the one with the largest change of P(correct) in a single one-pixel "
    "step (either direction)"
)


CONFIDENT = 0.5  # a frame whose top-1 probability (for paths: P(correct)) reaches this: no near-tie


def largest_steps(pairs: pd.DataFrame) -> pd.DataFrame:
    """Per image of a path's pair table: the largest one-pixel |change of P(correct)| and where it is.

    Returns one row per image_id (index): largest_change, step (frame_a of that pair; the first of ties),
    p_before, p_after (P(correct) at frames step and step + 1), p_best (highest P(correct) on the path),
    top1_changes and steps (pairs on the path); and for the steps whose top-1 goes from the correct class to
    a wrong one: flips (how many), flip_drop (the largest drop of P(correct) among them; NaN when none) and
    flip_step (where; the first of ties).
    """
    t = pairs.assign(
        change=metrics.abs_change(pairs.p_true_a, pairs.p_true_b),
        flipped=metrics.top1_changed(pairs.top1_a, pairs.top1_b).astype(int),
        to_wrong=(pairs.top1_a == pairs.label) & (pairs.top1_b != pairs.label) & (pairs.label >= 0),
    )
    t = t.assign(confident_to_wrong=t.to_wrong & (t.p_true_a >= CONFIDENT))
    t = t.sort_values(["image_id", "frame_a"], kind="stable")
    at = t.loc[t.groupby("image_id", sort=True).change.idxmax()].set_index("image_id")
    by = t.groupby("image_id", sort=True)
    flips = t[t.to_wrong].assign(drop=lambda f: f.p_true_a - f.p_true_b)
    flip_at = flips.loc[flips.groupby("image_id", sort=True)["drop"].idxmax()].set_index("image_id")
    return pd.DataFrame(
        {
            "largest_change": at.change,
            "step": at.frame_a,
            "p_before": at.p_true_a,
            "p_after": at.p_true_b,
            "p_best": np.maximum(by.p_true_a.max(), by.p_true_b.max()),
            "top1_changes": by.flipped.sum(),
            "steps": by.size(),
            "flips": by.to_wrong.sum().astype(int),
            "confident_flips": by.confident_to_wrong.sum().astype(int),
            "flip_drop": flip_at["drop"].reindex(at.index),
            "flip_step": flip_at.frame_a.reindex(at.index).astype("Int64"),
        }
    )


def pick_flip(steps: pd.DataFrame) -> str | None:
    """The image RULE picks from a largest_steps() table (ties: the first id in sorted order), or None when
    no image's top-1 goes from correct to wrong."""
    flips = steps.flip_drop.dropna()
    return None if flips.empty else str(flips.sort_index().idxmax())


def flip_share(steps: pd.DataFrame, column: str = "flips") -> dict[str, float]:
    """Share of images with at least one correct-to-wrong top-1 flip on the path (column "flips"), or one
    from a confident first frame (P(correct) >= CONFIDENT before the step: "confident_flips", no near-tie),
    with a 95% Wilson CI."""
    hits = int((steps[column] > 0).sum())
    share, lo, hi = metrics.wilson_ci(hits, len(steps))
    return {"share": share, "ci_low": lo, "ci_high": hi, "images": len(steps), "hits": hits}


def pick_striking(steps: pd.DataFrame, min_best: float = 0.5) -> str:
    """The image FALLBACK_RULE picks from a largest_steps() table (ties: the first id in sorted order)."""
    eligible = steps[steps.p_best >= min_best]
    if eligible.empty:
        raise ValueError(
            f"No image reaches P(correct) >= {min_best} on the path ({len(steps)} searched); "
            "search more images or lower min_best."
        )
    return str(eligible.sort_index().largest_change.idxmax())


def jump_shares(steps: pd.DataFrame, thresholds: Sequence[float] = (0.1, 0.3, 0.5)) -> pd.DataFrame:
    """Share of images whose largest one-pixel change of P(correct) is at least each threshold, with a 95%
    Wilson interval (one value per image, so images are independent; informative at zero hits too).
    Columns threshold, share, ci_low, ci_high, images, hits."""
    rows = []
    for th in thresholds:
        hits = int((steps.largest_change >= th).sum())
        share, lo, hi = metrics.wilson_ci(hits, len(steps))
        rows.append(
            {"threshold": th, "share": share, "ci_low": lo, "ci_high": hi, "images": len(steps), "hits": hits}
        )
    return pd.DataFrame(rows)


def path_example(
    model: LoadedModel,
    image: SourceImage,
    protocol: Protocol,
    table: pd.DataFrame | None = None,
    flip: bool = False,
) -> dict:
    """One image along a path: its per-frame table, frames (for thumbnails) and step statistics.

    table: the image's rows of a pair table already computed (else the path is run, cached); flip: show its
    largest correct-to-wrong flip (shown_step), else its largest one-pixel change."""
    pairs = table if table is not None else evaluate.run(model, protocol, [image], progress=False)
    curve = metrics.frame_table(pairs)
    step = largest_steps(pairs).iloc[0]
    return {
        "image": image,
        "curve": curve,
        "frames": frames_for_image(model, image, protocol),
        "stats": {
            "image": image.id,
            "frames": len(curve),
            "jaggedness": metrics.jaggedness(curve.top1.to_numpy()),
            "largest_change": float(step.largest_change),
            "largest_step": int(step.step),
            "p_true_range": (float(curve.p_true.min()), float(curve.p_true.max())),
            "flips": int(step.flips),
            "flip_drop": None if pd.isna(step.flip_drop) else float(step.flip_drop),
            "shown_step": int(step.flip_step) if flip and not pd.isna(step.flip_step) else int(step.step),
        },
    }


def striking_example(
    model: LoadedModel, protocol: Protocol, images: Sequence[SourceImage], min_best: float = 0.5
) -> dict:
    """RULE applied to every image (runs cached and resumable): path_example() of the pick, plus the
    per-image table (`steps`), the shares of images with large one-pixel changes (`shares`) and with a
    correct-to-wrong flip (`flip_share`), the rule text. A sample where no image flips falls back to
    FALLBACK_RULE, and the rule text says so."""
    table = evaluate.run(model, protocol, images)
    steps = largest_steps(table)
    pick, rule = pick_flip(steps), RULE
    if pick is None:
        rule = FALLBACK_RULE.format(min_best=min_best)
        if not (steps.p_best >= min_best).any():
            # A small or hard sample: say so on the figure rather than fail (pick_striking alone raises).
            rule = f"{rule.split(', so: ')[0]}, and none reaches P(correct) {min_best}: the largest change"
            min_best = 0.0
        pick = pick_striking(steps, min_best)
    image = next(img for img in images if img.id == pick)
    example = path_example(model, image, protocol, table[table.image_id == pick], flip=rule == RULE)
    return {
        **example,
        "steps": steps,
        "shares": jump_shares(steps),
        "flip_share": flip_share(steps),
        "confident_flip_share": flip_share(steps, "confident_flips"),
        "rule": rule,
    }


def path_axis(example: dict, protocol: Protocol, model: LoadedModel) -> np.ndarray:
    """x values of a path example's frames: pixels moved for a translation, the shorter side in pixels
    (at the model's canvas) for growth."""
    frames = example["curve"].frame.to_numpy()
    if isinstance(protocol, protocols.Scale):
        return frames + protocols.scaled(protocol.side, model.data_config.input_size)
    return frames


def figure1_values(translation: dict, scale: dict, clips: Sequence[dict]) -> dict:
    """The numbers Figure 1 shows, for its sidecar: each row's pick statistics and shares, each clip's."""
    return {
        **{
            what: {
                **ex["stats"],
                "shares": ex["shares"],
                "flip_share": ex["flip_share"],
                "confident_flip_share": ex["confident_flip_share"],
                "rule": ex["rule"],
            }
            for what, ex in (("translation", translation), ("scale", scale))
        },
        "clips": [c["stats"] for c in clips],
    }


def figure1_title(model: LoadedModel, shift: protocols.Translation, grow: protocols.Scale) -> str:
    """Which network stands in for the paper's, and the canvas and object sizes, for Figure 1's title."""
    n = model.data_config.input_size
    full = models.display_name(model.name)
    who = f"{full} ({model.label}, ImageNet-trained)"
    if model.name != "inception_resnet_v2":
        who += (
            " standing in for the paper's InceptionResNetV2: the deepest ImageNet network whose weights "
            "install offline"
        )
    lo, hi = protocols.scaled(grow.side, n), protocols.scaled(grow.side, n) + grow.steps
    return (
        f"Network: {who}.\nRows a, b: the image's central square in a black {n}x{n} canvas, "
        f"side {protocols.scaled(shift.side, n)} px (a), {lo}-{hi} px (b); row c: standard centre crop."
    )


# --- natural changes: consecutive video frames ---------------------------------------------------------


def clip_table(model: LoadedModel, clip: Clip) -> pd.DataFrame:
    """Per frame of a clip (standard centre crop): top-1 class and name, and P of the clip's class (or, for
    a clip of unknown class, of the first frame's top class: column `reference` names it)."""
    probs = evaluate.forward_probs(model, protocols.center_crop_frames(model, clip.frames)).cpu()
    reference = clip.label if clip.label >= 0 else int(probs[0].argmax())
    names = datasets.class_names()
    top1 = probs.argmax(-1).numpy()
    return pd.DataFrame(
        {
            "frame": [f.id for f in clip.frames],
            "index": np.arange(len(clip)),
            "top1": top1,
            "top1_name": [names[i] for i in top1],
            "p_top1": probs.max(-1).values.numpy(),
            "reference": names[reference],
            "p_reference": probs[:, reference].numpy(),
            "correct": (top1 == clip.label) if clip.label >= 0 else np.full(len(clip), np.nan),
        }
    )


def clip_stats(table: pd.DataFrame) -> dict:
    """A clip's numbers: top-1 changes between consecutive frames (all, and among the steps whose first frame
    is confident: top-1 probability >= CONFIDENT), frames with the right top-1, and the largest change of
    P(reference class) between consecutive frames (and where)."""
    d = np.abs(np.diff(table.p_reference.to_numpy()))
    k = int(d.argmax())
    top1 = table.top1.to_numpy()
    changed = metrics.top1_changed(top1[:-1], top1[1:])
    confident = table.p_top1.to_numpy()[:-1] >= CONFIDENT
    return {
        "frames": len(table),
        "steps": len(table) - 1,
        "top1_changes": int(changed.sum()),
        "confident_steps": int(confident.sum()),
        "confident_changes": int(changed[confident].sum()),
        "frames_correct": None if table.correct.isna().all() else int(table.correct.sum()),
        "reference": table.reference.iloc[0],
        "p_reference_range": (float(table.p_reference.min()), float(table.p_reference.max())),
        "largest_change": float(d[k]),
        "largest_step": k,
    }


def clip_example(model: LoadedModel, clip: Clip) -> dict:
    """A clip through the network: its per-frame table, stats, and the two centre-cropped frames around
    its largest change (what the network saw), for thumbnails."""
    table = clip_table(model, clip)
    stats = {"clip": clip.name, **clip_stats(table)}
    k = stats["largest_step"]
    shown = protocols.center_crop_frames(model, clip.frames[k : k + 2]).cpu()
    return {"clip": clip, "table": table, "stats": stats, "frames": {k: shown[0], k + 1: shown[1]}}


# --- Figure 2: the protocols' pairs ---------------------------------------------------------------------


# --- Figure 3: jaggedness maps --------------------------------------------------------------------------


# --- figures (the notebook calls these; save_figure writes them with their sidecars) ---


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
    """One path (curve of P(correct), the step the rule picked in red) and the frames on both sides."""
    sub = spec.subgridspec(1, 3, width_ratios=[2.4, 0.9, 0.9], wspace=0.15)
    ax = fig.add_subplot(sub[0])
    curve = ex["curve"]
    y = curve.p_true.to_numpy()
    right = (curve.top1 == curve.label).to_numpy()
    k = ex["stats"].get("shown_step", ex["stats"]["largest_step"])
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


def plot_figure1(
    translation: dict, scale: dict, clips: list[dict], scale_sides, *, network: str
) -> plt.Figure:
    """Figure 1 in three rows: (a) a one-pixel vertical shift and (b) a one-pixel growth of an embedded
    image, each picked from a whole sample by the stated rule, and (c) consecutive frames of real video.
    Red: the step the rule picked on each path (the clips: their largest change), with the frames on both
    sides."""
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
            [], [], color="C3", lw=2.2, label="the picked one-pixel (one-frame) step; its frames at right"
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
        fs = ex["flip_share"]
        lines.append(
            f"{what}) share of the {int(sh.images.iloc[0]):,} images with a correct-to-wrong top-1 flip "
            f"{fs['share']:.1%} [{fs['ci_low']:.1%}, {fs['ci_high']:.1%}]; with a one-pixel change of "
            f"P(correct) {parts} (95% Wilson CIs)"
        )
    return "\n".join(line for part in lines for line in textwrap.wrap(part, 185))


def plot_jumps_in_context(translation: dict, scale: dict, paper_examples: dict[str, tuple]) -> plt.Figure:
    """Left: share of images whose largest one-pixel change of P(correct) is at least x, per path (log
    scale), with 95% CIs at the thresholds and the picks marked. Right: the sample's photos of the paper's
    classes (kuvasz, lotion; not the paper's photos) on the same paths, ranked among the images searched.
    paper_examples: {what: (path_example, x values, search)}."""
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
        at = float((v >= pick).sum()) / len(v)  # on the curve: the share of images with at least its change
        ax.plot(pick, at, "*", ms=9, color=f"C{i}", mec="k", mew=0.5, zorder=4)
        ax.annotate(  # left of the star, on a white patch so the grid lines and CI bars do not cut it
            f"pick {pick:.2f}",
            (pick, at),
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
            title=f"Sample photo of the paper's class: {_short(names[ex['image'].label])} ({what})\n"
            f"largest change {change:.2f} (rank {rank:,} / {len(search['steps']):,})",
            xlabel="shift (px)" if "shift" in what else "shorter side (px)",
            ylabel="P(correct class)",
            ylim=(-0.03, 1.03),
        )
    return fig


# --- findings: one sentence per figure, from its sidecar, and the claim's verdict ---


def f01_jagged(v: Values) -> str:
    t, g = v["translation"], v["scale"]
    sh = {k: pd.DataFrame(x["shares"]).set_index("threshold") for k, x in (("t", t), ("g", g))}

    def share(k: str, th: float) -> str:
        r = sh[k].loc[th]
        return f"{pct(r.share)} [{pct(r.ci_low)}, {pct(r.ci_high)}]"

    def flips(x: dict) -> str:
        f = x["flip_share"]
        return f"{pct(f['share'])} [{pct(f['ci_low'])}, {pct(f['ci_high'])}]"

    def pick(x: dict, what: str) -> str:
        name = x["image"].split("_", 1)[1].replace("_", " ")
        if x.get("flip_drop") is None:
            return f"{name} under {what}, no correct-to-wrong flip (largest change {x['largest_change']:.2f})"
        return f"{name} under {what}, P(correct) drops {x['flip_drop']:.2f} as its top-1 turns wrong"

    clips = "; ".join(
        f"{c['clip']} ({c['reference'].split(',')[0]}): top-1 changes in {c['top1_changes']} of {c['steps']} "
        f"frame steps, {c['confident_changes']} of the {c['confident_steps']} steps from a confident frame "
        f"(top-1 probability >= {CONFIDENT}) (largest change {c['largest_change']:.2f}, frames "
        f"{c['largest_step']} -> {c['largest_step'] + 1})"
        for c in v["clips"]
    )
    n = int(sh["t"].images.iloc[0])
    return (
        f"Figure 1 on real data, picks by a stated rule over {n:,} images ({t.get('rule', RULE)}): "
        f"{pick(t, 'vertical shift')}; {pick(g, 'growth')}. At least one correct-to-wrong flip on the path "
        f"in {flips(t)} of images (shift) and {flips(g)} (growth); a one-pixel change of P(correct) >= 0.3 "
        f"in {share('t', 0.3)} and {share('g', 0.3)}, >= 0.5 in {share('t', 0.5)} and {share('g', 0.5)} "
        f"(95% Wilson CIs). Real video (DAVIS 2016): {clips}."
    )


def f01_context(v: Values) -> str:
    def path(name: str) -> str:
        x = v[name]
        lo, hi = x["p_true_range"]
        change = x["largest_change"]
        return f"the {name}'s largest one-pixel change is {change:.2f} (P(correct) {lo:.2f}-{hi:.2f})"

    return (
        "The picks in context (share of images with at least a given one-pixel change) and the sample's "
        "photos of the paper's two classes (not the paper's photos) on the same paths: "
        f"{path('kuvasz')}; {path('lotion')}."
    )


# the paper's claim that notebook 01 tests
CLAIM = "A one-pixel shift or growth, or a natural video frame step, can change the output."


def verdict(read) -> str:
    """Our verdict on CLAIM with its reason, given a reader of this run's sidecars (name -> values). The
    claim is existential ("can change"), so one instance proves it: reproduced when some image's top-1
    goes from correct to wrong in one step from a confident frame (P(correct) >= CONFIDENT before it, not a
    near-tie), on a path or in a video clip; not reproduced when none does."""
    v = read("01_jagged_examples")
    shares = {
        what: v[what].get("confident_flip_share", v[what]["flip_share"]) for what in ("translation", "scale")
    }
    clip_flips = sum(c["confident_changes"] for c in v["clips"])
    big50 = " and ".join(
        f"{pct(r['share'])} [{pct(r['ci_low'])}, {pct(r['ci_high'])}]"
        for w in ("translation", "scale")
        for r in v[w]["shares"]
        if r["threshold"] == 0.5
    )
    text = ", ".join(
        f"{'shift' if w == 'translation' else 'growth'} {pct(f['share'])} [{pct(f['ci_low'])}, "
        f"{pct(f['ci_high'])}]"
        for w, f in shares.items()
    )
    found = sum(f["hits"] for f in shares.values()) + clip_flips
    return verdict_text(
        REPRODUCED if found else NOT_REPRODUCED,
        f"images whose top-1 goes from correct (P(correct) >= {CONFIDENT}) to wrong in one pixel: {text}; "
        f"video steps from a confident frame that flip the top-1: {clip_flips}; drops of P(correct) of 0.5 "
        f"or more in one pixel, the paper's kind: {big50}",
    )


# claims at a glance (README): the claim in a line, the paper's evidence, the figure, the key number
SHORT = "A one-pixel shift or growth can flip a confident, correct prediction."
PAPER_EVIDENCE = "Figure 1: photos and video frames whose top-1 flips in one pixel"
FIGURE = "01_jagged_examples"


def headline(read) -> str:
    """Share of images whose top-1 goes from confidently correct to wrong in one pixel, with its 95% CI."""
    v = read("01_jagged_examples")
    parts = []
    for what, name in (("translation", "shift"), ("scale", "growth")):
        f = v[what].get("confident_flip_share", v[what]["flip_share"])
        parts.append(f"{name} {pct(f['share'])} [{pct(f['ci_low'])}, {pct(f['ci_high'])}]")
    return "images flipping from confidently correct to wrong in one pixel: " + ", ".join(parts)
