"""Explorers: widgets in JupyterLab, a static figure in papermill runs."""

import ipywidgets as widgets
import matplotlib.pyplot as plt
import pandas as pd
import pytest
from invariance.apps import explore


def _summary() -> pd.DataFrame:
    rows = [
        {"model": m, "condition": c, "metric": k, "value": v, "ci_low": v - 0.01, "ci_high": v + 0.01}
        for m, base in (("lite0", 0.2), ("lite1", 0.1))
        for c in ("crop", "black")
        for k, v in (("p_top1_change", base), ("mac", base / 2))
    ]
    return pd.DataFrame(rows)


def test_table_explorer_widgets_redraw_for_a_new_choice(monkeypatch):
    monkeypatch.delenv(explore.NONINTERACTIVE_ENV, raising=False)
    drawn = []
    monkeypatch.setattr(explore, "table_figure", lambda s, m, c, k: drawn.append((m, c, k)) or plt.figure())
    ui = explore.table_explorer(_summary())
    assert isinstance(ui, widgets.VBox)
    pick_models, pick_conditions, pick_metric = ui.children[0].children
    assert drawn[-1] == (["lite0", "lite1"], ["crop", "black"], "p_top1_change")
    pick_metric.value = "mac"
    pick_models.value = ("lite1",)
    pick_conditions.value = ("black",)
    assert drawn[-1] == (["lite1"], ["black"], "mac")
    plt.close("all")


def test_explorers_draw_a_static_figure_in_papermill_runs(monkeypatch):
    monkeypatch.setenv(explore.NONINTERACTIVE_ENV, "1")
    shown = []
    monkeypatch.setattr(explore, "_static", shown.append)
    assert explore.table_explorer(_summary()) is None
    fig = shown[0]
    assert fig.axes[0].get_title() == "P(top-1 change)"  # the default view: every network, first metric
    plt.close("all")


@pytest.mark.slow
def test_path_figure_on_a_real_network(lite0, few_images):
    from invariance.runner import protocols

    shift = protocols.Translation(path="vertical", shape="square", span=3)
    fig = explore.path_figure(lite0, few_images[0], shift)
    assert len(fig.axes) == 1 + 6 and "largest one-pixel change" in fig.axes[0].get_title()
    plt.close(fig)
