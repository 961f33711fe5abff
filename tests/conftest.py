"""Shared fixtures. Tests never touch the network (HF_HUB_OFFLINE) nor the user's result cache."""

from __future__ import annotations

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import pytest  # noqa: E402
import torch  # noqa: E402
from invariance import config, datasets, models, paths  # noqa: E402


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
    from invariance.images import load_images

    chosen = datasets.subset(sample_entries, 6, seed=1)
    return load_images((e.id, e.path, e.label) for e in chosen)[0]


def rand_image(h: int, w: int, seed: int = 0) -> torch.Tensor:
    """(3, h, w) float in (0, 1], never exactly 0 (so 'covered' is visible in the values)."""
    g = torch.Generator().manual_seed(seed)
    return torch.rand(3, h, w, generator=g) * 0.99 + 0.01
