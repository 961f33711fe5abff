"""The trained networks shipped with the compendium: weights/<name>.safetensors and weights/manifest.json.

Files are safetensors (tensors and a JSON header only: loading runs no code, unlike pickle). The manifest
records per network its recipe (configuration and seed), the recipe version, the file's SHA-256 and size,
the test accuracy, the training time, device and precision, and a compact loss curve. `load` refuses a
network whose file is missing or whose digest differs from the manifest's, with an error naming
`make weights`, the command that rebuilds them.

Half precision: convolution and linear weights (every tensor of 2+ dimensions) are stored as float16 when
rounding them leaves the top-1 of every test input unchanged against float32 (checked per network by
`half_changes`, recorded in the manifest); 1-D tensors (BatchNorm statistics and biases, the whitening
bias) stay float32: they are tiny, and a BatchNorm variance below float16's range would blow up 1/sqrt(var).
Loading casts everything back to float32.

Environment variables:
    INVARIANCE_WEIGHTS       the folder of shipped networks (default: <root>/weights)
    INVARIANCE_WEIGHTS_WORK  checkpoints of networks being trained (default: <cache>/weights-work)
"""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load as safetensors_load
from safetensors.torch import save as safetensors_save
from torch import nn

from invariance.core import config, files, paths
from invariance.training import recipe as R
from invariance.training.placement import PlacementDistribution

WEIGHTS_ENV = "INVARIANCE_WEIGHTS"
WORK_ENV = "INVARIANCE_WEIGHTS_WORK"
MANIFEST = "manifest.json"
FORMAT = 1  # the manifest's layout
REBUILD = "Run `make weights` to train and write the networks again (or restore weights/ from git)."


class WeightsError(RuntimeError):
    """A shipped network is missing, damaged or not the one the manifest describes."""


def weights_dir() -> Path:
    env = os.environ.get(WEIGHTS_ENV)
    return Path(env).expanduser() if env else paths.project_root() / "weights"


def work_dir() -> Path:
    env = os.environ.get(WORK_ENV)
    return Path(env).expanduser() if env else paths.cache_dir() / "weights-work"


def recipe_record(recipe: R.Recipe) -> dict[str, Any]:
    """A recipe as plain JSON values (the manifest's "config")."""
    return json.loads(json.dumps(dataclasses.asdict(recipe)))


def recipe_from_record(record: dict[str, Any]) -> R.Recipe:
    """The inverse of recipe_record."""
    rec = dict(record)
    net = dict(rec.pop("net"))
    net["widths"] = tuple(net["widths"])
    placement = rec.pop("placement")
    return R.Recipe(
        net=R.Net(**net),
        placement=PlacementDistribution(**placement) if placement is not None else None,
        **rec,
    )


def identity(recipe: R.Recipe) -> str:
    """What makes two trainings the same network: the recipe and the recipe version (a short hash)."""
    return config.config_hash({"recipe": recipe, "version": R.RECIPE_VERSION})


def half_state(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """state with every floating tensor of 2+ dimensions rounded to float16 (see the module docstring)."""
    return {
        k: (v.half() if v.is_floating_point() and v.dim() >= 2 else v).contiguous() for k, v in state.items()
    }


def float_state(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    return {k: v.float() if v.is_floating_point() else v for k, v in state.items()}


@torch.no_grad()
def half_changes(
    model: nn.Module,
    predict: Callable[[nn.Module], dict[str, torch.Tensor]],
    reference: dict[str, torch.Tensor] | None = None,
) -> dict[str, int]:
    """Per evaluation set of predict (model -> {name: top-1 (N,)}), how many top-1 change when model's
    weights are rounded to float16 (`half_state`, computed back in float32); reference: predict(model) if
    already computed. All 0: half precision may be shipped. model's own weights are restored."""
    reference = reference if reference is not None else predict(model)
    state = {k: v.clone() for k, v in model.state_dict().items()}
    model.load_state_dict(float_state(half_state(state)))
    try:
        rounded = predict(model)
    finally:
        model.load_state_dict(state)
    return {k: int((rounded[k] != v).sum()) for k, v in reference.items()}


def read_manifest(folder: Path | None = None) -> dict[str, Any]:
    """The manifest ({"format", "networks": {name: entry}}); an empty one when there is none yet."""
    path = (folder or weights_dir()) / MANIFEST
    if not path.exists():
        return {"format": FORMAT, "networks": {}}
    try:
        manifest = json.loads(path.read_text())
    except ValueError as e:
        raise WeightsError(f"{path} is not valid JSON ({e}). {REBUILD}") from e
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise WeightsError(f"{path} is not a format-{FORMAT} weights manifest. {REBUILD}")
    return manifest


def write_manifest(manifest: dict[str, Any], folder: Path | None = None) -> None:
    """Write the manifest atomically, networks sorted by name (stable diffs)."""
    manifest = {**manifest, "networks": dict(sorted(manifest["networks"].items()))}
    files.atomic_write_text((folder or weights_dir()) / MANIFEST, json.dumps(manifest, indent=1) + "\n")


def save(
    name: str, model: nn.Module, entry: dict[str, Any], half: bool, folder: Path | None = None
) -> dict[str, Any]:
    """Write model as <folder>/<name>.safetensors (atomically) and its manifest entry (entry plus file,
    dtype, bytes, sha256). The weights are written first, the manifest last: a run killed in between leaves
    a file the manifest does not vouch for, which the next run replaces."""
    folder = folder or weights_dir()
    state = {
        k: v.detach().cpu().float() if v.is_floating_point() else v.cpu()
        for k, v in model.state_dict().items()
    }
    state = half_state(state) if half else {k: v.contiguous() for k, v in state.items()}
    data = safetensors_save(state, metadata={"name": name, "recipe_version": R.RECIPE_VERSION})
    path = folder / f"{name}.safetensors"
    files.atomic_write_bytes(path, data)
    record = {
        **entry,
        "file": path.name,
        "dtype": "float16 (2+ dim tensors), float32 (1-dim)" if half else "float32",
        "bytes": len(data),
        "sha256": paths.file_sha256(path),
    }
    # two `make weights` processes (each with its own work folder) may finish at once: the read-modify-write
    # of the shared manifest holds a lock, so neither loses the other's entry
    with files.exclusive_lock(folder / ".manifest.lock"):
        manifest = read_manifest(folder)
        manifest["networks"][name] = record
        write_manifest(manifest, folder)
    return record


def entry(name: str, folder: Path | None = None) -> dict[str, Any]:
    """The manifest entry of a shipped network; WeightsError naming `make weights` when there is none."""
    folder = folder or weights_dir()
    networks = read_manifest(folder)["networks"]
    if name not in networks:
        raise WeightsError(f"No network {name!r} in {folder / MANIFEST}. {REBUILD}")
    return networks[name]


def verified(name: str, folder: Path | None = None) -> tuple[dict[str, Any], Path]:
    """(manifest entry, file) of a shipped network whose file exists and matches the recorded SHA-256;
    WeightsError naming `make weights` otherwise."""
    folder = folder or weights_dir()
    record = entry(name, folder)
    path = folder / record["file"]
    if not path.is_file():
        raise WeightsError(f"The weights file {path} of network {name!r} is missing. {REBUILD}")
    digest = paths.file_sha256(path)
    if digest != record["sha256"]:
        raise WeightsError(
            f"The weights file {path} of network {name!r} is damaged or changed: SHA-256 {digest[:16]}..., "
            f"the manifest records {record['sha256'][:16]}.... {REBUILD}"
        )
    return record, path


def seeds_to_load(
    stem: str,
    variant: str,
    seeds: Sequence[int] | None,
    candidates: Sequence[int],
    folder: Path | None = None,
) -> list[int]:
    """The seeds k of the networks <stem>-seed<k> a notebook loads: the given ones, or (seeds None) those of
    `candidates` the manifest lists; WeightsError naming `make weights` when that leaves none."""
    if seeds is not None:
        return list(seeds)  # a missing one fails in `load`, with its own name
    networks = read_manifest(folder)["networks"]
    present = [k for k in candidates if f"{stem}-seed{k}" in networks]
    if not present:
        where = (folder or weights_dir()) / MANIFEST
        raise WeightsError(
            f"No shipped network of variant {variant!r} ({stem}-seed{candidates[0]} to "
            f"seed{candidates[-1]}) in {where}. {REBUILD}"
        )
    return present


def load_seeds(
    stem: str,
    variant: str,
    seeds: Sequence[int] | None,
    candidates: Sequence[int],
    folder: Path | None = None,
) -> list[tuple[int, str, nn.Module, dict[str, Any]]]:
    """The networks <stem>-seed<k> a notebook loads (seeds_to_load: the given seeds, or those of candidates
    the manifest lists), each digest-verified with its manifest entry: [(k, name, model, entry)].
    WeightsError naming `make weights` when none is shipped or a given seed is missing."""
    out = []
    for k in seeds_to_load(stem, variant, seeds, candidates, folder):
        name = f"{stem}-seed{k}"
        out.append((k, name, *load_with_entry(name, folder)))
    return out


def verify_all(folder: Path | None = None) -> list[str]:
    """Every network the manifest lists, digest-verified (`verified`); returns their names. WeightsError
    naming `make weights` at the first missing or damaged file: `make figures` checks this first, so a
    damaged file is found before any notebook runs, not half-way through."""
    names = sorted(read_manifest(folder)["networks"])
    for name in names:
        verified(name, folder)
    return names


def load(name: str, folder: Path | None = None) -> tuple[nn.Module, R.Recipe]:
    """A shipped network, digest-verified: (model in eval mode, float32, CPU; its recipe)."""
    model, record = load_with_entry(name, folder)
    return model, recipe_from_record(record["config"])


def load_with_entry(name: str, folder: Path | None = None) -> tuple[nn.Module, dict[str, Any]]:
    """A shipped network, digest-verified, with its manifest entry (read once): (model in eval mode, float32,
    CPU; the entry: sha256, test_accuracy, loss_curve, ...). The notebooks' loaders use it."""
    record, path = verified(name, folder)
    recipe = recipe_from_record(record["config"])
    model = R.make_network(recipe.net, recipe.bn_momentum)
    try:
        model.load_state_dict(float_state(safetensors_load(path.read_bytes())))
    except (RuntimeError, ValueError) as e:  # the digest matched, so the manifest and file disagree
        raise WeightsError(f"{path} does not fit the recipe in the manifest ({e}). {REBUILD}") from e
    return model.eval(), record
