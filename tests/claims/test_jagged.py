"""Claim 1's glue (Figures 1-3) on hand-made tables and frames."""

import numpy as np
import pandas as pd
import pytest
import torch
from conftest import hand_made_pairs
from invariance.claims import depth, frame_pairs, jagged


def _curves(curves: dict[str, list[float]]) -> pd.DataFrame:
    """A pair table from hand-made P(correct) curves (top-1 correct where P >= 0.5, else class 9)."""
    rows = []
    for image_id, p in curves.items():
        for k in range(len(p) - 1):
            rows.append(
                {
                    "image_id": image_id,
                    "label": 1,
                    "frame_a": k,
                    "frame_b": k + 1,
                    "top1_a": 1 if p[k] >= 0.5 else 9,
                    "top1_b": 1 if p[k + 1] >= 0.5 else 9,
                    "p_true_a": p[k],
                    "p_true_b": p[k + 1],
                }
            )
    return pd.DataFrame(rows)


def test_largest_one_pixel_steps_and_the_selection_rule():
    pairs = _curves(
        {
            "steady": [0.9, 0.9, 0.88, 0.9],  # recognised, no jump
            "jumpy": [0.2, 0.55, 0.1, 0.15],  # reaches 0.5; largest change 0.45 down at step 1
            "never": [0.0, 0.49, 0.0, 0.0],  # the largest change (0.49) but never reaches 0.5
            "rise": [0.1, 0.1, 0.4, 0.6],  # reaches 0.6; largest change 0.3 up at step 1
        }
    )
    steps = jagged.largest_steps(pairs)
    first = ["largest_change", "step", "p_before", "p_after", "p_best", "top1_changes", "steps"]
    assert steps.loc["jumpy", first].tolist() == pytest.approx([0.45, 1, 0.55, 0.1, 0.55, 2, 3])
    assert steps.loc["rise", "step"] == 1 and steps.loc["rise", "p_best"] == pytest.approx(0.6)
    assert steps.loc["steady", "top1_changes"] == 0
    assert jagged.pick_striking(steps) == "jumpy"  # "never" has the larger change but is never recognised
    assert jagged.pick_striking(steps, min_best=0.0) == "never"
    with pytest.raises(ValueError, match="No image reaches"):
        jagged.pick_striking(steps, min_best=0.95)
    shares = jagged.jump_shares(steps, thresholds=(0.1, 0.4, 0.5)).set_index("threshold")
    assert shares.share.tolist() == pytest.approx([0.75, 0.5, 0.0])
    assert (shares.images == 4).all() and shares.hits.tolist() == [3, 2, 0]
    assert shares.loc[0.4, "ci_low"] < 0.5 < shares.loc[0.4, "ci_high"]
    assert shares.loc[0.5, "ci_low"] == 0 and shares.loc[0.5, "ci_high"] > 0.3  # zero hits of 4: wide


def test_the_flip_rule_picks_the_largest_drop_where_the_top1_turns_wrong():
    pairs = _curves(
        {
            "dip": [0.95, 0.55, 0.95],  # the largest change (0.4) but stays correct: no flip
            "small": [0.6, 0.45, 0.7],  # correct -> wrong, drop 0.15 at step 0; wrong -> correct after
            "big": [0.3, 0.52, 0.2, 0.6, 0.25],  # two flips: drops 0.32 (step 1) and 0.35 (step 3)
            "never": [0.1, 0.4, 0.1],  # never correct
        }
    )
    steps = jagged.largest_steps(pairs)
    assert steps.flips.to_dict() == {"big": 2, "dip": 0, "never": 0, "small": 1}
    assert steps.loc["big", "flip_drop"] == pytest.approx(0.35) and steps.loc["big", "flip_step"] == 3
    assert np.isnan(steps.loc["dip", "flip_drop"]) and pd.isna(steps.loc["dip", "flip_step"])
    assert jagged.pick_flip(steps) == "big"
    assert jagged.pick_flip(steps.drop(["big", "small"])) is None
    share = jagged.flip_share(steps)
    assert (share["hits"], share["images"], share["share"]) == (2, 4, 0.5)
    assert share["ci_low"] < 0.5 < share["ci_high"]


def test_ties_pick_the_first_step_and_the_first_image():
    steps = jagged.largest_steps(_curves({"b": [0.6, 0.2, 0.6], "a": [0.9, 0.5, 0.9]}))
    assert steps.loc["b", "step"] == 0  # |-0.4| at steps 0 and 1: the first
    assert jagged.pick_striking(steps) == "a"  # both 0.4: the first id in sorted order


def test_clip_stats_count_top1_changes_between_consecutive_frames():
    table = pd.DataFrame(
        {
            "top1": [1, 1, 2, 1, 1],
            "reference": "golden retriever",
            "p_reference": [0.5, 0.45, 0.1, 0.4, 0.42],
            "correct": [True, True, False, True, True],
            "p_top1": [0.6, 0.4, 0.7, 0.8, 0.3],
        }
    )
    st = jagged.clip_stats(table)
    # steps from a confident frame (p_top1 >= 0.5): 0, 2, 3; of the changes (steps 1 and 2) only step 2
    assert (st["confident_steps"], st["confident_changes"]) == (3, 1)
    assert (st["frames"], st["steps"], st["top1_changes"], st["frames_correct"]) == (5, 4, 2, 4)
    assert st["largest_step"] == 1 and st["largest_change"] == pytest.approx(0.35)
    unknown = table.assign(correct=np.nan)
    assert jagged.clip_stats(unknown)["frames_correct"] is None


def test_jaggedness_summary():
    s = depth.jaggedness_summary({"net": hand_made_pairs()})
    assert s.loc["net", "jaggedness"] == pytest.approx(1 / 6) and s.loc["net", "images"] == 2


def test_pair_differences_count_changed_pixels():
    a = torch.zeros(3, 4, 4)
    b = a.clone()
    b[:, 0, :] = 0.5  # one row of four changes in every channel
    d = frame_pairs.pair_differences({"p": (a, b)})
    assert d.loc["p", "pixels_changed"] == pytest.approx(0.25)
    assert d.loc["p", "mean_abs_difference"] == pytest.approx(0.5 / 4)


def _figure1_values(hits: int) -> dict:
    shares = [
        {"threshold": th, "share": 0.02, "ci_low": 0.01, "ci_high": 0.04, "images": 1000, "hits": 20}
        for th in (0.1, 0.3, 0.5)
    ]
    share = jagged.flip_share(pd.DataFrame({"flips": [1] * hits + [0] * (1000 - hits)}))
    path = {"image": "n1_snow_leopard", "largest_change": 0.5, "flip_drop": 0.4 if hits else None}
    path["rule"] = jagged.RULE if hits else jagged.FALLBACK_RULE.format(min_best=0.5)
    clip = {
        "clip": "dog",
        "reference": "golden retriever, x",
        "top1_changes": 5,
        "steps": 9,
        "confident_changes": 2 if hits else 0,
        "confident_steps": 4,
        "largest_change": 0.3,
        "largest_step": 3,
    }
    return {
        "translation": {**path, "shares": shares, "flip_share": share, "confident_flip_share": share},
        "scale": {**path, "shares": shares, "flip_share": share, "confident_flip_share": share},
        "clips": [clip],
    }


def test_figure1_sentence_and_verdict_come_from_the_flip_shares():
    v = _figure1_values(hits=30)
    text = jagged.f01_jagged(v)
    assert "snow leopard under vertical shift, P(correct) drops 0.40 as its top-1 turns wrong" in text
    assert "in 3.0% [2.1%, 4.3%] of images (shift)" in text and "2 of the 4 steps from a confident" in text
    assert "goes from correct to wrong with the largest drop" in text  # the rule applied, from the sidecar
    assert jagged.verdict({"01_jagged_examples": v}.__getitem__).startswith("**reproduced**")
    none = _figure1_values(hits=0)
    assert "no correct-to-wrong flip" in jagged.f01_jagged(none)
    assert jagged.verdict({"01_jagged_examples": none}.__getitem__).startswith("**not reproduced**")
