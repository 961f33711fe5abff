"""Claim 1's glue (Figures 1-3) on hand-made tables and frames."""

import pytest
import torch
from conftest import hand_made_pairs
from invariance import jagged


def test_jumpiest_and_jaggedness_summary():
    assert jagged.jumpiest(hand_made_pairs(), 1) == ["a"]
    s = jagged.jaggedness_summary({"net": hand_made_pairs()})
    assert s.loc["net", "jaggedness"] == pytest.approx(1 / 6) and s.loc["net", "images"] == 2


def test_pair_differences_count_changed_pixels():
    a = torch.zeros(3, 4, 4)
    b = a.clone()
    b[:, 0, :] = 0.5  # one row of four changes in every channel
    d = jagged.pair_differences({"p": (a, b)})
    assert d.loc["p", "pixels_changed"] == pytest.approx(0.25)
    assert d.loc["p", "mean_abs_difference"] == pytest.approx(0.5 / 4)


def test_natural_frames_need_two_files(tmp_path):
    (tmp_path / "only.png").write_bytes(b"")
    with pytest.raises(FileNotFoundError, match="at least two"):
        jagged.natural_frames(str(tmp_path))
    assert [f.id for f in jagged.natural_frames(None)] == ["left view", "right view"]
