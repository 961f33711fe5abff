"""Claim 1, Figures 1-3 (notebooks 01-03): one-pixel changes make the output jump.

Figure 1: single images along a path, picked from a whole sample by a stated rule (RULE) and put in context
(how many images have such jumps), and consecutive frames of real video clips. Figure 2: the protocols'
frame pairs side by side. Figure 3: jaggedness maps of many images along a path. Every network run on
ImageNet images goes through `evaluate.run`, so it is cached and resumable.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
import torch

from invariance.kernels import metrics
from invariance.runner import evaluate, protocols
from invariance.runner.protocols import Protocol
from invariance.sources import datasets, models
from invariance.sources.images import SourceImage
from invariance.sources.models import LoadedModel
from invariance.sources.video import Clip


def frames_for_image(model: LoadedModel, image: SourceImage, protocol: Protocol) -> torch.Tensor:
    """The frames (K, 3, N, N) of one image under a protocol at the model's canvas (for thumbnails)."""
    canvas = model.data_config.input_size
    return protocols.build_frames(protocol, [image], canvas, model.data_config.mean)[0]


# --- Figure 1's selection rule: the largest one-pixel change, and how common such changes are ------------

# The rule, as printed on the figure and in the notebook.
RULE = (
    "of the images whose P(correct) reaches {min_best} somewhere on the path, the one with the largest "
    "change of P(correct) in a single one-pixel step (either direction)"
)


def largest_steps(pairs: pd.DataFrame) -> pd.DataFrame:
    """Per image of a path's pair table: the largest one-pixel |change of P(correct)| and where it is.

    Returns one row per image_id (index): largest_change, step (frame_a of that pair; the first of ties),
    p_before, p_after (P(correct) at frames step and step + 1), p_best (highest P(correct) on the path),
    top1_changes and steps (pairs on the path).
    """
    t = pairs.assign(
        change=metrics.abs_change(pairs.p_true_a, pairs.p_true_b),
        flipped=metrics.top1_changed(pairs.top1_a, pairs.top1_b).astype(int),
    )
    t = t.sort_values(["image_id", "frame_a"], kind="stable")
    at = t.loc[t.groupby("image_id", sort=True).change.idxmax()].set_index("image_id")
    by = t.groupby("image_id", sort=True)
    return pd.DataFrame(
        {
            "largest_change": at.change,
            "step": at.frame_a,
            "p_before": at.p_true_a,
            "p_after": at.p_true_b,
            "p_best": np.maximum(by.p_true_a.max(), by.p_true_b.max()),
            "top1_changes": by.flipped.sum(),
            "steps": by.size(),
        }
    )


def pick_striking(steps: pd.DataFrame, min_best: float = 0.5) -> str:
    """The image RULE picks from a largest_steps() table (ties: the first id in sorted order)."""
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
    model: LoadedModel, image: SourceImage, protocol: Protocol, table: pd.DataFrame | None = None
) -> dict:
    """One image along a path: its per-frame table, frames (for thumbnails) and step statistics.

    table: the image's rows of a pair table already computed (else the path is run, cached)."""
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
        },
    }


def striking_example(
    model: LoadedModel, protocol: Protocol, images: Sequence[SourceImage], min_best: float = 0.5
) -> dict:
    """RULE applied to every image (runs cached and resumable): path_example() of the pick, plus the
    per-image table (`steps`), the shares of images with large one-pixel changes (`shares`), the rule text."""
    table = evaluate.run(model, protocol, images)
    steps = largest_steps(table)
    rule = RULE.format(min_best=min_best)
    if not (steps.p_best >= min_best).any():
        # A small or hard sample: say so on the figure rather than fail (pick_striking alone raises).
        rule = f"no image reaches P(correct) {min_best}, so: of all images, {rule.split(', ', 1)[1]}"
        min_best = 0.0
    pick = pick_striking(steps, min_best)
    image = next(img for img in images if img.id == pick)
    example = path_example(model, image, protocol, table[table.image_id == pick])
    return {
        **example,
        "steps": steps,
        "shares": jump_shares(steps),
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
        "translation": {**translation["stats"], "shares": translation["shares"]},
        "scale": {**scale["stats"], "shares": scale["shares"]},
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
    """A clip's numbers: top-1 changes between consecutive frames, frames with the right top-1, and the
    largest change of P(reference class) between consecutive frames (and where)."""
    d = np.abs(np.diff(table.p_reference.to_numpy()))
    k = int(d.argmax())
    top1 = table.top1.to_numpy()
    return {
        "frames": len(table),
        "steps": len(table) - 1,
        "top1_changes": int(metrics.top1_changed(top1[:-1], top1[1:]).sum()),
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


def protocol_pairs(
    model: LoadedModel, image: SourceImage, conditions: Mapping[str, Protocol], pair: int = 0
) -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
    """Frames (pair, pair + 1) of one image under each protocol, at the model's canvas and mean colour."""
    out = {}
    for name, p in conditions.items():
        frames = frames_for_image(model, image, p)
        out[name] = (frames[pair], frames[pair + 1])
    return out


def pair_differences(pairs: Mapping[str, tuple[torch.Tensor, torch.Tensor]]) -> pd.DataFrame:
    """Per protocol: share of pixels that differ within the pair, and the mean absolute difference."""
    rows = []
    for name, (a, b) in pairs.items():
        d = (a - b).abs()
        changed = float((d.amax(0) > 0).float().mean())
        rows.append({"protocol": name, "pixels_changed": changed, "mean_abs_difference": float(d.mean())})
    return pd.DataFrame(rows).set_index("protocol")


# --- Figure 3: jaggedness maps --------------------------------------------------------------------------


def path_matrices(tables: Mapping[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    """{model: (images x frames) P(correct class), rows sorted}."""
    return {model: metrics.path_matrix(t) for model, t in tables.items()}


def jaggedness_summary(tables: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
    """Per network: jaggedness (fraction of steps with a top-1 change) with a 95% CI over images."""
    rows = []
    for model, t in tables.items():
        v, lo, hi = metrics.bootstrap_ci(metrics.PAIR_METRICS["p_top1_change"](t), t.image_id)
        rows.append(
            {"model": model, "jaggedness": v, "ci_low": lo, "ci_high": hi, "images": t.image_id.nunique()}
        )
    return pd.DataFrame(rows).set_index("model")
