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

from invariance.core import files, paths

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


def legend_above(fig: plt.Figure, ax: plt.Axes, title: str, fontsize: float = 8) -> None:
    """One legend for the whole figure, above its panels, from ax's lines, with a small explanatory title."""
    handles, names = ax.get_legend_handles_labels()
    fig.legend(
        handles,
        names,
        loc="lower center",
        bbox_to_anchor=(0.5, 1.0),
        ncol=len(names),
        fontsize=fontsize,
        title=title,
        title_fontsize=7.5,
    )


def ci_whiskers(ax: plt.Axes, x, s: pd.DataFrame) -> None:
    """Black 95% CI whiskers on bars at x for a table with value, ci_low, ci_high columns."""
    yerr = [s.value - s.ci_low, s.ci_high - s.value]
    ax.errorbar(x, s.value, yerr=yerr, fmt="none", ecolor="k", lw=0.8, capsize=2)


# --- figure builders (one per notebook figure; notebooks call these) ---------------------------------


def image_array(frame: torch.Tensor) -> np.ndarray:
    """(3, H, W) in [0, 1] -> (H, W, 3) for imshow."""
    return frame.detach().cpu().permute(1, 2, 0).clamp(0, 1).numpy()
