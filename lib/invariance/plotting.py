"""One figure style and one `save_figure()`: PNG + PDF under figures/ with a provenance sidecar.

Smoke-profile figures go to build/figures-smoke/ so they never overwrite the committed ones.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg") if not matplotlib.get_backend().lower().startswith(("module://", "nbagg")) else None
import matplotlib.pyplot as plt  # noqa: E402

from . import paths, results  # noqa: E402

STYLE = {
    "figure.dpi": 110,
    "savefig.dpi": 150,
    "font.size": 9,
    "axes.titlesize": 10,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "legend.frameon": False,
}


def use_style() -> None:
    plt.rcParams.update(STYLE)


def stamp(fig: plt.Figure, text: str) -> None:
    """Small grey footer naming networks, image count and profile (and 'untrained'/'synthetic' labels)."""
    fig.text(0.995, 0.002, text, ha="right", va="bottom", fontsize=6.5, color="0.4")


def save_figure(fig: plt.Figure, name: str, *, profile: str, info: dict[str, Any]) -> Path:
    """Write <figures>/<name>.png and .pdf and <name>.json (provenance). Returns the PNG path.

    info: what the figure shows (networks, image count, config); the footer stamp is the caller's job.
    """
    folder = paths.figures_dir(profile)
    folder.mkdir(parents=True, exist_ok=True)
    png = folder / f"{name}.png"
    fig.savefig(png, bbox_inches="tight")
    fig.savefig(folder / f"{name}.pdf", bbox_inches="tight")
    record = results.provenance(info, profile=profile, figure=name)
    results.atomic_write_text(folder / f"{name}.json", json.dumps(record, indent=1, default=str))
    return png
