"""Typicality helpers on hand-made features and tables."""

import numpy as np
import pandas as pd
import pytest
import torch
from invariance.claims import typicality


def test_knn_similarity_excludes_self():
    ref = torch.nn.functional.normalize(torch.tensor([[1.0, 0.0], [0.8, 0.6], [0.0, 1.0]]), dim=1)
    query = ref[:1].clone()
    assert typicality.knn_similarity(query, ref, k=1).item() == pytest.approx(1.0)
    assert typicality.knn_similarity(query, ref, k=1, exclude=[0]).item() == pytest.approx(0.8)
    assert typicality.knn_similarity(query, ref, k=2, exclude=[0]).item() == pytest.approx(0.4)


def test_by_typicality_bins_and_correlation():
    ids = [f"i{j}" for j in range(4)]
    typ = pd.DataFrame({"image_id": ids, "typicality": [0.1, 0.2, 0.3, 0.4]})
    pairs = pd.DataFrame(
        {
            "image_id": ids * 2,
            "label": [0] * 8,
            "top1_a": [0] * 8,
            "top1_b": [1, 1, 0, 0, 1, 0, 0, 0],  # i0 changes twice, i1 once, others never
            "p_top_a": [0.5] * 8,
            "p_top_b": [0.4] * 8,
        }
    )
    pairs = pairs.sort_values("image_id", kind="stable")
    b = typicality.by_typicality(pairs, typ, bins=2, n_boot=100)
    assert b.images.tolist() == [2, 2]
    assert b.p_top1_change.tolist() == pytest.approx([0.75, 0.0])
    rho, low, high = typicality.rank_correlation(pairs, typ, n_boot=200)
    assert rho < -0.9
    # 4 images: about 1 resample in 14 holds only never-changing images (no rank order), too many for a CI
    assert np.isnan(low) and np.isnan(high)
    more = [f"m{j:02d}" for j in range(12)]
    typ12 = pd.DataFrame({"image_id": more, "typicality": np.arange(12) / 12})
    changes = [1, 1, 1, 0, 1, 1, 0, 1, 0, 0, 0, 0]  # the less typical images change more
    pairs12 = pd.DataFrame(
        {"image_id": more, "label": 0, "top1_a": 0, "top1_b": changes, "p_top_a": 0.5, "p_top_b": 0.4}
    )
    rho, low, high = typicality.rank_correlation(pairs12, typ12, n_boot=200)
    assert rho < -0.5 and low <= rho <= high  # the bootstrap CI brackets the estimate


def test_typicality_sentence_sets_significant_signs_against_the_paper():
    def rows(model: str, low: float, high: float) -> list[dict]:
        return [
            {"model": model, "bin": b, "p_top1_change": 0.2, "spearman": (low + high) / 2,
             "spearman_low": low, "spearman_high": high}
            for b in (0, 1)
        ]  # fmt: skip

    text = typicality.f08_typicality(rows("lite0", -0.2, 0.2) + rows("lite2", 0.04, 0.39))
    assert "significantly positive, the other way, for Lite2; the CIs of the others include 0." in text
    assert "no CI excludes 0." in typicality.f08_typicality(rows("lite0", -0.2, 0.2))
    assert "significantly negative, as predicted, for Lite0." in typicality.f08_typicality(
        rows("lite0", -0.3, -0.1)
    )


def test_typicality_sentence_gives_the_ci_when_the_sidecar_has_one():
    rows = [
        {"model": "lite0", "bin": b, "p_top1_change": p, "spearman": 0.18} for b, p in ((0, 0.2), (1, 0.3))
    ]
    old = typicality.f08_typicality(rows)  # a sidecar from before the CI: the estimate alone
    assert "Lite0 Spearman +0.18, least vs most typical quartile 0.20 vs 0.30" in old
    with_ci = [{**r, "spearman_low": -0.01, "spearman_high": 0.37} for r in rows]
    assert "Lite0 Spearman +0.18 [-0.01, +0.37]," in typicality.f08_typicality(with_ci)
