"""Interactive explorers for readers in JupyterLab (ipywidgets): pick an image and a protocol and see its
path; pick networks and protocols in the Table 1 summary.

In a papermill run (`make figures` sets INVARIANCE_NONINTERACTIVE=1) an explorer draws its default view
as a static figure instead, so the executed copy keeps a picture rather than a dead widget.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from invariance.claims import jagged, protocol_table
from invariance.presentation import figures
from invariance.runner.protocols import Protocol
from invariance.sources.images import SourceImage
from invariance.sources.models import LoadedModel

NONINTERACTIVE_ENV = "INVARIANCE_NONINTERACTIVE"


def interactive() -> bool:
    """Whether widgets can be used: not in a papermill run of `make figures`."""
    return os.environ.get(NONINTERACTIVE_ENV) != "1"


def _static(fig: plt.Figure) -> None:
    """Show a figure once, as a picture (the executed copy keeps it), and close it."""
    from IPython.display import display

    display(fig)
    plt.close(fig)


def path_figure(model: LoadedModel, image: SourceImage, protocol: Protocol, n_thumbs: int = 6) -> plt.Figure:
    """P(correct class) of one image along a path protocol (its largest one-pixel change in red), and
    n_thumbs frames spread along the path below."""
    ex = jagged.path_example(model, image, protocol)
    y, k = ex["curve"].p_true.to_numpy(), ex["stats"]["largest_step"]
    figures.use_style()
    fig = plt.figure(figsize=(9, 4.2))
    grid = fig.add_gridspec(2, n_thumbs, height_ratios=[2.2, 1], hspace=0.45)
    ax = fig.add_subplot(grid[0, :])
    ax.plot(y, "o-", ms=3, lw=1, color="C0")
    ax.plot([k, k + 1], y[k : k + 2], "-", color="C3", lw=2.2)
    ax.set(
        title=f"{model.label} | {protocol.name} | {image.id}: largest one-pixel change "
        f"{ex['stats']['largest_change']:.2f} (red)",
        xlabel="frame (one pixel per step)",
        ylabel="P(correct class)",
        ylim=(-0.03, 1.03),
    )
    for col, j in enumerate(np.linspace(0, len(y) - 1, n_thumbs).round().astype(int)):
        t = fig.add_subplot(grid[1, col])
        t.imshow(figures.image_array(ex["frames"][j]))
        t.set_axis_off()
        t.set_title(f"frame {j}: {y[j]:.2f}", fontsize=7)
    return fig


def path_explorer(model: LoadedModel, images: Sequence[SourceImage], protocols: Mapping[str, Protocol]):
    """Dropdowns for an image and a protocol, and the path figure of the pair (runs are cached, so a pair
    seen before draws at once). Non-interactive runs show the first image under the first protocol."""
    by_id = {img.id: img for img in images}
    first_image, first_protocol = next(iter(by_id)), next(iter(protocols))
    if not interactive():
        return _static(path_figure(model, by_id[first_image], protocols[first_protocol]))
    import ipywidgets as widgets

    image = widgets.Dropdown(options=list(by_id), value=first_image, description="image")
    protocol = widgets.Dropdown(options=list(protocols), value=first_protocol, description="protocol")
    out = widgets.Output()

    def draw(*_) -> None:
        with out:
            out.clear_output(wait=True)
            _static(path_figure(model, by_id[image.value], protocols[protocol.value]))

    image.observe(draw, names="value")
    protocol.observe(draw, names="value")
    draw()
    return widgets.VBox([widgets.HBox([image, protocol]), out])


def table_figure(summary: pd.DataFrame, models: Sequence[str], conditions: Sequence[str], metric: str):
    """The Table 1 bars for the chosen networks, protocols and metric (95% CIs)."""
    sub = summary[summary.model.isin(models) & summary.condition.isin(conditions)]
    return protocol_table.plot_metric_bars(sub, [metric], list(conditions))


def table_explorer(summary: pd.DataFrame):
    """Pick networks, protocols and a metric of a summary table (model, condition, metric, value, CIs).
    Non-interactive runs show every network and protocol for P(top-1 change)."""
    models = list(dict.fromkeys(summary.model))
    conditions = list(dict.fromkeys(summary.condition))
    metrics = list(dict.fromkeys(summary.metric))
    if not interactive():
        return _static(table_figure(summary, models, conditions, metrics[0]))
    import ipywidgets as widgets

    pick_models = widgets.SelectMultiple(options=models, value=models, description="networks")
    pick_conditions = widgets.SelectMultiple(options=conditions, value=conditions, description="protocols")
    pick_metric = widgets.Dropdown(options=metrics, value=metrics[0], description="metric")
    out = widgets.Output()

    def draw(*_) -> None:
        with out:
            out.clear_output(wait=True)
            if pick_models.value and pick_conditions.value:
                ordered = [c for c in conditions if c in pick_conditions.value]
                _static(table_figure(summary, list(pick_models.value), ordered, pick_metric.value))
            else:
                print("pick at least one network and one protocol")

    for w in (pick_models, pick_conditions, pick_metric):
        w.observe(draw, names="value")
    draw()
    return widgets.VBox([widgets.HBox([pick_models, pick_conditions, pick_metric]), out])
