"""Claim 1, Figures 1-3 (notebooks 01-03): one-pixel changes make the output jump.

Single images along a path (Figure 1), the jumpiest images of a sample, the protocols' frame pairs side by
side (Figure 2), and jaggedness maps of many images along a path (Figure 3). Every network run goes through
`evaluate.run`, so it is cached and resumable.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from . import datasets, evaluate, metrics, protocols
from .images import SourceImage, from_paths
from .models import LoadedModel
from .protocols import Protocol


def jumpiest(pairs: pd.DataFrame, k: int) -> list[str]:
    """The k images whose P(correct class) curve varies most along the path (total variation)."""
    tv = (pairs.p_true_b - pairs.p_true_a).abs().groupby(pairs.image_id).sum()
    return list(tv.sort_values(ascending=False).index[:k])


def path_for_image(model: LoadedModel, image: SourceImage, protocol: Protocol) -> pd.DataFrame:
    """Per-frame table of one image along a path protocol (cached like any run)."""
    return metrics.frame_table(evaluate.run(model, protocol, [image], progress=False))


def frames_for_image(model: LoadedModel, image: SourceImage, protocol: Protocol) -> torch.Tensor:
    """The frames (K, 3, N, N) of one image under a protocol at the model's canvas (for thumbnails)."""
    canvas = model.data_config.input_size
    return protocols.build_frames(protocol, [image], canvas, model.data_config.mean)[0]


def path_example(model: LoadedModel, image: SourceImage, protocol: Protocol) -> dict:
    """One image along a path: its per-frame table, frames (for thumbnails) and step statistics."""
    curve = path_for_image(model, image, protocol)
    steps = np.diff(curve.p_true.to_numpy())
    return {
        "image": image,
        "curve": curve,
        "frames": frames_for_image(model, image, protocol),
        "stats": {
            "image": image.id,
            "frames": len(curve),
            "jaggedness": metrics.jaggedness(curve.top1.to_numpy()),
            "max_step_change": float(np.abs(steps).max()),
            "p_true_range": (float(curve.p_true.min()), float(curve.p_true.max())),
        },
    }


def jumpiest_examples(
    model: LoadedModel, protocol: Protocol, images: Sequence[SourceImage], k: int
) -> list[dict]:
    """Run the path for every image (cached), then return path_example() of the k jumpiest."""
    table = evaluate.run(model, protocol, images)
    by_id = {img.id: img for img in images}
    return [path_example(model, by_id[i], protocol) for i in jumpiest(table, k)]


# --- natural changes ------------------------------------------------------------------------------------


def stereo_motorcycle() -> list[SourceImage]:
    """The two views of scikit-image's stereo motorcycle: a real, small, natural change of viewpoint."""
    from skimage.data import stereo_motorcycle as load

    left, right, _ = load()
    views = (("left view", left), ("right view", right))
    return [
        SourceImage(name, -1, torch.from_numpy(np.ascontiguousarray(v.transpose(2, 0, 1))))
        for name, v in views
    ]


def natural_frames(frames_dir: str | None) -> list[SourceImage]:
    """A user's folder of video frames (sorted by name), or the stereo motorcycle's two views."""
    if not frames_dir:
        return stereo_motorcycle()
    folder = Path(frames_dir).expanduser()
    files = sorted(p for p in folder.iterdir() if p.suffix.lower() in (".jpg", ".jpeg", ".png", ".bmp"))
    if len(files) < 2:
        raise FileNotFoundError(f"{folder} holds {len(files)} image files; a sequence needs at least two")
    return from_paths(files)


def natural_sequence(model: LoadedModel, frames: Sequence[SourceImage]) -> pd.DataFrame:
    """Per frame of a natural sequence (standard centre crop): top-1 class and name, and the probability
    of the first frame's top class."""
    probs = evaluate.forward_probs(model, protocols.center_crop_frames(model, frames)).cpu()
    first_top = int(probs[0].argmax())
    names = datasets.class_names()
    top1 = probs.argmax(-1).numpy()
    return pd.DataFrame(
        {
            "frame": [f.id for f in frames],
            "top1": top1,
            "top1_name": [names[i] for i in top1],
            "p_top1": probs.max(-1).values.numpy(),
            "first_class": names[first_top],
            "p_first_class": probs[:, first_top].numpy(),
        }
    )


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
