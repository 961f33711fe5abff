"""Notebook 02: the five protocols side by side: one frame pair of each, the share of pixels each changes,
the figure of the pairs and its sentence."""

from __future__ import annotations

from collections.abc import Mapping

import matplotlib.pyplot as plt
import pandas as pd
import torch

from invariance.claims.jagged import frames_for_image
from invariance.presentation.figures import image_array, use_style
from invariance.presentation.text import (
    Values,
    pct,
    sentence_start,
    tidy_frame,
)
from invariance.runner.protocols import Protocol
from invariance.sources import paper
from invariance.sources.images import SourceImage
from invariance.sources.models import LoadedModel


def pair_differences(pairs: Mapping[str, tuple[torch.Tensor, torch.Tensor]]) -> pd.DataFrame:
    """Per protocol: share of pixels that differ within the pair, and the mean absolute difference."""
    rows = []
    for name, (a, b) in pairs.items():
        d = (a - b).abs()
        changed = float((d.amax(0) > 0).float().mean())
        rows.append({"protocol": name, "pixels_changed": changed, "mean_abs_difference": float(d.mean())})
    return pd.DataFrame(rows).set_index("protocol")


def protocol_pairs(
    model: LoadedModel, image: SourceImage, conditions: Mapping[str, Protocol], pair: int = 0
) -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
    """Frames (pair, pair + 1) of one image under each protocol, at the model's canvas and mean colour."""
    out = {}
    for name, p in conditions.items():
        frames = frames_for_image(model, image, p)
        out[name] = (frames[pair], frames[pair + 1])
    return out


# --- figures (the notebook calls these; save_figure writes them with their sidecars) ---


def plot_protocol_pairs(
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


# --- findings: one sentence per figure, from its sidecar, and the claim's verdict ---


def f02_protocols(v: Values) -> str:
    t = tidy_frame(v).set_index("protocol")
    parts = ", ".join(f"{p} {pct(r.pixels_changed, 0)}" for p, r in t.iterrows())
    almost_all = [p for p, r in t.iterrows() if r.pixels_changed >= 0.9]
    return (
        f"The five protocols' frame pairs, with the paper's names beside ours. Share of pixels that change "
        f"within the pair: {parts}. "
        + (
            f"{sentence_start(' and '.join(almost_all))} change{'s' if len(almost_all) == 1 else ''} almost "
            "every pixel a little; the large differences sit at "
            "the object's edges."
            if almost_all
            else "The large differences sit at the object's edges."
        )
    )
