"""Shared fixtures. Tests never touch the network (HF_HUB_OFFLINE) nor the user's result cache."""

from __future__ import annotations

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import pandas as pd  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from invariance.core import config, paths
from invariance.sources import cifar, datasets, models


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("INVARIANCE_CACHE", str(tmp_path / "cache"))
    config.set_numerics(0)


@pytest.fixture(scope="session")
def lite0() -> models.LoadedModel:
    return models.load("lite0")


@pytest.fixture(scope="session")
def sample_entries() -> list[datasets.Entry]:
    try:
        return datasets.sample_entries()
    except paths.DataNotFoundError as e:  # pragma: no cover - CI always has ../shared
        pytest.skip(str(e))


@pytest.fixture(scope="session")
def few_images(sample_entries):
    from invariance.sources.images import load_images

    chosen = datasets.subset(sample_entries, 6, seed=1)
    return load_images((e.id, e.path, e.label) for e in chosen)[0]


def rand_image(h: int, w: int, seed: int = 0) -> torch.Tensor:
    """(3, h, w) float in (0, 1], never exactly 0 (so 'covered' is visible in the values)."""
    g = torch.Generator().manual_seed(seed)
    return torch.rand(3, h, w, generator=g) * 0.99 + 0.01


@pytest.fixture(scope="session")
def cifar_splits(tmp_path_factory) -> dict[str, cifar.Split]:
    """The real archive, decoded once per session into a temporary cache."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("INVARIANCE_CACHE", str(tmp_path_factory.mktemp("cifar-cache")))
        try:
            return {split: cifar.load(split) for split in cifar.SPLITS}
        except paths.DataNotFoundError as e:  # pragma: no cover - CI always has ../shared
            pytest.skip(str(e))


@pytest.fixture
def small_train(cifar_splits) -> cifar.Split:
    return cifar_splits["train"].subset(512, seed=0)


def hand_made_pairs() -> pd.DataFrame:
    """A runner pair table of two images, 4 frames each.

    image a: top-1 along frames 0..3 = [1, 1, 2, 2]; p_true = [.5, .6, .2, .3]; image b: constant."""
    return pd.DataFrame(
        {
            "image_id": ["a"] * 3 + ["b"] * 3,
            "label": [1] * 6,
            "frame_a": [0, 1, 2] * 2,
            "frame_b": [1, 2, 3] * 2,
            "top1_a": [1, 1, 2, 1, 1, 1],
            "top1_b": [1, 2, 2, 1, 1, 1],
            "p_top_a": [0.5] * 6,
            "p_top_b": [0.5] * 6,
            "margin_a": [0.1] * 6,
            "p_true_a": [0.5, 0.6, 0.2, 0.9, 0.9, 0.9],
            "p_true_b": [0.6, 0.2, 0.3, 0.9, 0.9, 0.9],
        }
    )
