"""Notebook 11 part 2: the remedies' summary on hand-made pair tables, their compute, and the verdict's
three outcomes on hand-made sidecars."""

import numpy as np
import pandas as pd
import pytest
from invariance.claims import inference_remedies as ir


def table(changed: list[int], correct: list[int], identical: list[int] | None = None) -> pd.DataFrame:
    """A runner pair table (one pair per photo): top1_b differs from top1_a where changed; label = top1_a
    where correct; p_top_b = p_top_a where identical."""
    n = len(changed)
    identical = identical or [0] * n
    top1_a = np.arange(n) % 7
    return pd.DataFrame(
        {
            "image_id": [f"p{i}" for i in range(n)],
            "label": np.where(correct, top1_a, top1_a + 1),
            "top1_a": top1_a,
            "top1_b": np.where(changed, top1_a + 2, top1_a),
            "p_top_a": np.full(n, 0.6),
            "p_top_b": np.where(identical, 0.6, 0.5),
        }
    )


def test_summary_counts_changes_accuracy_identical_outputs_and_the_paired_difference():
    runs = {
        ("lite0", "shift", "plain"): table([1, 1, 0, 0], [1, 1, 1, 0]),
        ("lite0", "shift", "select"): table([1, 0, 0, 0], [1, 1, 0, 0], identical=[0, 1, 1, 0]),
    }
    s = ir.summary(runs, {"lite0": 224}, radius=16, n_boot=200).set_index("remedy")
    assert s.loc["plain", "p_top1_change"] == 0.5 and s.loc["select", "p_top1_change"] == 0.25
    assert s.loc["select", "p_top1_change_minus_plain"] == -0.25
    assert s.loc["plain", "accuracy"] == 0.75 and s.loc["select", "accuracy_minus_plain"] == -0.25
    assert s.loc["select", "identical"] == 0.5 and s.loc["plain", "identical"] == 0.0
    assert s.loc["plain", "mac"] == pytest.approx(0.1)
    assert s.loc["select", "compute"] == pytest.approx((192 / 224) ** 2) and s.loc["plain", "compute"] == 1.0


def test_average_costs_nine_smaller_forwards():
    assert ir.cost("average", 224, 16) == (9, pytest.approx(9 * (192 / 224) ** 2))


def reader(select: tuple[float, float, float], minus_plain: tuple[float, float, float]):
    row = {"model": "lite0", "condition": ir.VIEW_SHIFT, "identical": 0.75, "accuracy_minus_plain": -0.01}
    row |= {"accuracy_minus_plain_low": -0.02, "accuracy_minus_plain_high": 0.0}
    plain = {**row, "remedy": "plain", "p_top1_change": 0.06, "p_top1_change_low": 0.04}
    plain |= {"p_top1_change_high": 0.08, "p_top1_change_minus_plain": 0.0}
    plain |= {"p_top1_change_minus_plain_low": 0.0, "p_top1_change_minus_plain_high": 0.0}
    sel = {**row, "remedy": "select", "p_top1_change": select[0], "p_top1_change_low": select[1]}
    sel |= {"p_top1_change_high": select[2], "p_top1_change_minus_plain": minus_plain[0]}
    sel |= {"p_top1_change_minus_plain_low": minus_plain[1], "p_top1_change_minus_plain_high": minus_plain[2]}
    frame = pd.DataFrame([plain, sel])
    return lambda name: {"summary": frame.to_dict(orient="list")}


@pytest.mark.parametrize(
    "select, minus_plain, word",
    [
        ((0.02, 0.01, 0.03), (-0.04, -0.06, -0.02), "**reproduced**"),
        ((0.02, 0.01, 0.03), (-0.04, -0.06, 0.01), "**inconclusive**"),  # stabler than plain? CI covers 0
        ((0.04, 0.03, 0.06), (-0.02, -0.03, -0.01), "**inconclusive**"),  # under 5%? CI covers it
        ((0.09, 0.07, 0.11), (0.03, 0.01, 0.05), "**not reproduced**"),
    ],
)
def test_the_verdict_needs_both_fewer_changes_than_plain_and_under_five_percent(select, minus_plain, word):
    text = ir.verdict(reader(select, minus_plain))
    assert text.startswith(word) and "the same window chosen in both views for 75% of photos" in text
