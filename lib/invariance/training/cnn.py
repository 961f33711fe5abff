"""Small CNNs trained on CIFAR-10 objects placed in a black canvas: architecture, training loop, weight cache.

Training is seeded (one torch.Generator drives batches, placements and flips; the global seed drives the
initial weights), checkpointed every `checkpoint_every` steps so an interrupted run resumes where it
stopped, and cached: weights are stored under a name made from a hash of the whole configuration.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import math
import time
import warnings
from dataclasses import asdict, dataclass, field
from functools import partial
from pathlib import Path

import pandas as pd
import torch
from timm.layers import BlurPool2d
from torch import nn
from torch.nn import functional as F

from invariance.core import allocator, files, paths
from invariance.core.progress import bar as progress_bar
from invariance.kernels.polyphase import APSDownsample
from invariance.kernels.transforms import paste
from invariance.runner import cache
from invariance.sources.cifar import CLASSES, Split
from invariance.training.placement import PlacementDistribution

log = logging.getLogger(__name__)

DOWNSAMPLING = ("stride", "blurpool", "aps", "none")
PADDING = ("zeros", "circular")  # torch's padding_mode names
# CIFAR-10 training-set channel statistics, applied inside the network so that its input is the canvas
# itself (black = 0) and every variant sees the same pixels.
CIFAR_MEAN = (0.4914, 0.4822, 0.4465)
CIFAR_STD = (0.2470, 0.2435, 0.2616)
TRAINING_VERSION = "1"  # bump when the loop changes what it produces, so cached weights are retrained


@dataclass(frozen=True)
class Architecture:
    """A plain CNN: 3x3 conv + BatchNorm + ReLU blocks, global average pooling, one linear layer.

    The first block keeps the resolution; every later block halves it (total stride 2^(len(widths)-1)):
    stride: a stride-2 convolution (subsampling with no blur, as in standard CNNs);
    blurpool: a 3x3 binomial blur with stride 2 (timm's BlurPool2d, zero padding) on the previous block's
      output, then a stride-1 convolution: blur after the nonlinearity, before every subsampling;
    aps: adaptive polyphase sampling (polyphase.APSDownsample) on the previous block's output, then a
      stride-1 convolution: the same place and cost as blurpool, equivariant to circular shifts (up to
      rounding, barring ties between polyphase norms);
    none: no subsampling at all (every block at full resolution; ~20x the compute).
    padding: how every convolution (and BlurPool's blur) pads: "zeros" (standard) or "circular" (a torus:
      with aps, the network is invariant to circular shifts of its input up to float rounding).
    """

    widths: tuple[int, ...] = (16, 32, 64, 128)
    downsampling: str = "stride"
    padding: str = "zeros"

    def __post_init__(self) -> None:
        if self.downsampling not in DOWNSAMPLING:
            raise ValueError(f"downsampling must be one of {DOWNSAMPLING}, not {self.downsampling!r}")
        if self.padding not in PADDING:
            raise ValueError(f"padding must be one of {PADDING}, not {self.padding!r}")


class Normalize(nn.Module):
    def __init__(self, mean: tuple[float, ...], std: tuple[float, ...]) -> None:
        super().__init__()
        self.register_buffer("mean", torch.tensor(mean).view(1, -1, 1, 1))
        self.register_buffer("std", torch.tensor(std).view(1, -1, 1, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x - self.mean) / self.std


def make_network(arch: Architecture, classes: int = len(CLASSES)) -> nn.Sequential:
    """The network for canvases (B, 3, N, N) in [0, 1] -> logits (B, classes)."""
    layers: list[nn.Module] = [Normalize(CIFAR_MEAN, CIFAR_STD)]
    cin = 3
    for i, width in enumerate(arch.widths):
        stride = 1
        if i > 0 and arch.downsampling == "stride":
            stride = 2
        elif i > 0 and arch.downsampling == "blurpool":
            pad = "constant" if arch.padding == "zeros" else arch.padding
            layers.append(BlurPool2d(cin, filt_size=3, stride=2, pad_mode=pad))
        elif i > 0 and arch.downsampling == "aps":
            layers.append(APSDownsample(2))
        layers += [
            nn.Conv2d(cin, width, 3, stride, 1, bias=False, padding_mode=arch.padding),
            nn.BatchNorm2d(width),
            nn.ReLU(inplace=True),
        ]
        cin = width
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(cin, classes)]
    return nn.Sequential(*layers)


@dataclass(frozen=True)
class TrainConfig:
    """Everything a trained network depends on (with the training data's identity)."""

    placement: PlacementDistribution = field(default_factory=PlacementDistribution)
    arch: Architecture = field(default_factory=Architecture)
    steps: int = 600
    batch_size: int = 128
    lr: float = 0.15  # peak (see lr_factor), SGD with Nesterov momentum 0.9
    weight_decay: float = 5e-4
    flip: bool = True  # random horizontal flips of the object (standard CIFAR augmentation)
    seed: int = 0
    checkpoint_every: int = 100

    @property
    def name(self) -> str:
        pad = "" if self.arch.padding == "zeros" else f"-{self.arch.padding}"
        return f"{self.placement.kind}-{self.arch.downsampling}{pad}-seed{self.seed}"


@dataclass
class Trained:
    """A trained network (eval mode, CPU) with its config and per-step log (step, loss, accuracy, lr)."""

    model: nn.Module
    config: TrainConfig
    log: pd.DataFrame
    folder: Path


def lr_factor(step: int, steps: int) -> float:
    """Learning-rate multiplier: linear warm-up over the first quarter of the steps, then cosine to 0."""
    warm = max(1, steps // 4)
    if step < warm:
        return (step + 1) / warm
    return 0.5 * (1 + math.cos(math.pi * (step - warm) / max(1, steps - warm)))


def batch(
    data: Split, cfg: TrainConfig, gen: torch.Generator, device: str = "cpu"
) -> tuple[torch.Tensor, torch.Tensor]:
    """One training batch: canvases (B, 3, N, N) float in [0, 1] and labels (B,), all drawn from gen."""
    idx = torch.randint(0, len(data), (cfg.batch_size,), generator=gen)
    objects = data.images[idx].to(device)
    if cfg.flip:
        flip = (torch.rand(cfg.batch_size, generator=gen) < 0.5).to(device)
        objects = torch.where(flip[:, None, None, None], objects.flip(-1), objects)
    offsets = cfg.placement.sample(cfg.batch_size, gen)
    canvases = paste(objects, offsets, cfg.placement.canvas)[0].float().div_(255)
    return canvases, data.labels[idx].to(device)


def _save(path: Path, obj: object) -> None:
    """torch.save, written atomically (see files): an interruption never leaves a torn file."""
    buf = io.BytesIO()
    torch.save(obj, buf)
    files.atomic_write_bytes(path, buf.getvalue())


def _fresh(cfg: TrainConfig, device: str) -> tuple[nn.Module, torch.optim.Optimizer, object, torch.Generator]:
    """A seeded untrained network with its optimiser, schedule and data generator: step 0 of a run."""
    torch.manual_seed(cfg.seed)
    model = make_network(cfg.arch).to(device, memory_format=torch.channels_last)  # ~1.5x faster on CPU
    opt = torch.optim.SGD(
        model.parameters(), lr=cfg.lr, momentum=0.9, nesterov=True, weight_decay=cfg.weight_decay
    )
    sched = torch.optim.lr_scheduler.LambdaLR(opt, partial(lr_factor, steps=cfg.steps))
    return model, opt, sched, torch.Generator().manual_seed(cfg.seed)


def train(
    cfg: TrainConfig, data: Split, folder: Path | None = None, progress: bool = True, device: str = "cpu"
) -> Trained:
    """Train from scratch (or resume from folder/checkpoint.pt). Returns the network in eval mode, on CPU.
    Sets the process's malloc to keep freed memory (allocator.keep_freed_memory)."""
    allocator.keep_freed_memory()  # no page faults per step on the CPU (see allocator)
    model, opt, sched, gen = _fresh(cfg, device)
    step, rows = 0, []
    checkpoint = folder / "checkpoint.pt" if folder else None
    if checkpoint and checkpoint.exists():
        try:
            # weights_only: a crafted checkpoint in the cache cannot run code when it is loaded
            state = torch.load(checkpoint, weights_only=True, map_location=device)
            step, rows = state["step"], state["rows"]
            if not (
                isinstance(step, int)
                and 0 < step < cfg.steps
                and isinstance(rows, list)
                and len(rows) == step
            ):
                raise ValueError(
                    f"step {step!r} and a {type(rows).__name__} log do not fit a {cfg.steps}-step run"
                )
            model.load_state_dict(state["model"])
            opt.load_state_dict(state["opt"])
            sched.load_state_dict(state["sched"])
            gen.set_state(state["gen"])
            log.info("resuming %s at step %d from %s", cfg.name, step, checkpoint)
        except Exception as e:  # any failure: the checkpoint is disposable, training restarts from step 0
            warnings.warn(
                f"Discarding unreadable checkpoint {checkpoint} ({e}); training {cfg.name} from the start",
                stacklevel=2,
            )
            checkpoint.unlink(missing_ok=True)
            (model, opt, sched, gen), step, rows = _fresh(cfg, device), 0, []  # a partial load may have begun
    model.train()
    bar = progress_bar(
        cfg.steps, f"training {cfg.name}", unit="step", initial=step, disable=not progress, mininterval=2
    )
    while step < cfg.steps:
        x, y = batch(data, cfg, gen, device)
        logits = model(x.contiguous(memory_format=torch.channels_last))
        loss = F.cross_entropy(logits, y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
        step += 1
        loss_value = loss.item()  # two device syncs per step for the log, not three
        acc = (logits.argmax(1) == y).float().mean().item()
        rows.append({"step": step, "loss": loss_value, "accuracy": acc, "lr": sched.get_last_lr()[0]})
        bar.update(1)
        bar.set_postfix(loss=f"{loss_value:.3f}", refresh=False)
        if checkpoint and step % cfg.checkpoint_every == 0 and step < cfg.steps:
            state = {
                "model": model.state_dict(),
                "opt": opt.state_dict(),
                "sched": sched.state_dict(),
                "gen": gen.get_state(),
                "step": step,
                "rows": rows,
            }
            _save(checkpoint, state)
    bar.close()
    model.eval().to("cpu", memory_format=torch.contiguous_format)
    return Trained(model, cfg, pd.DataFrame(rows), folder or Path())


_DIGESTED = ("weights.pt", "log.csv")  # the files of a cached run, checked against provenance.json


def _check_digests(folder: Path) -> None:
    """Raise ValueError unless folder/provenance.json records a SHA-256 for each cached file and it matches:
    a flipped bit in weights.pt would still load. Caches written before the digests existed carry none and
    are retrained once, as the table cache treats its older format."""
    try:
        record = json.loads((folder / "provenance.json").read_text())
    except (OSError, ValueError) as e:
        raise ValueError(f"provenance.json unreadable: {e}") from e
    for name in _DIGESTED:
        expected = record.get(f"{name}_sha256") if isinstance(record, dict) else None
        if expected is None:
            raise ValueError(f"no checksum recorded for {name} (older cache format)")
        if paths.file_sha256(folder / name) != expected:
            raise ValueError(f"checksum mismatch for {name}")


def weights_digest(run: Trained) -> str:
    """SHA-256 of a run's weights: the digest recorded with a cached run, else of its state dict (a run
    trained without a cache folder)."""
    record = run.folder / "provenance.json"
    if run.folder != Path() and record.is_file():
        recorded = json.loads(record.read_text()).get("weights.pt_sha256")
        if isinstance(recorded, str):
            return recorded
    h = hashlib.sha256()
    for name, tensor in sorted(run.model.state_dict().items()):
        h.update(name.encode() + tensor.detach().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()


def cache_folder(cfg: TrainConfig, data: Split) -> Path:
    train = asdict(cfg)
    # zeros was the only padding before padding was a field: 09's cached weights keep their key
    if train["arch"]["padding"] == "zeros":
        del train["arch"]["padding"]
    key = {"train": train, "data": data.source, "version": TRAINING_VERSION}
    return cache.run_dir(f"train-{cfg.name}", key)


def trained(cfg: TrainConfig, data: Split, progress: bool = True, device: str = "cpu") -> Trained:
    """The network for cfg: loaded from the cache, else trained (resuming a checkpoint) and cached.

    Cache: <cache>/train-<name>-<hash>/ with weights.pt, log.csv (per step) and provenance.json.
    """
    folder = cache_folder(cfg, data)
    weights = folder / "weights.pt"
    if weights.exists():
        model = make_network(cfg.arch)
        try:
            _check_digests(folder)
            model.load_state_dict(torch.load(weights, weights_only=True))
            return Trained(model.eval(), cfg, pd.read_csv(folder / "log.csv"), folder)
        except Exception as e:  # cached weights are reproducible: retrain rather than fail or use them
            warnings.warn(
                f"Cached weights {weights} are damaged or unverifiable ({e}); retraining {cfg.name}",
                cache.DamagedCacheWarning,
                stacklevel=2,
            )
            weights.unlink(missing_ok=True)
    folder.mkdir(parents=True, exist_ok=True)
    if progress:
        where = paths.shown(folder)
        print(f"training {cfg.name} ({cfg.steps} steps of {cfg.batch_size}); weights go to {where}")
    started = time.perf_counter()
    run = train(cfg, data, folder, progress, device)
    files.atomic_write_csv(folder / "log.csv", run.log)
    _save(weights, {k: v.contiguous() for k, v in run.model.state_dict().items()})
    record = files.provenance(
        asdict(cfg),
        device,
        data=data.source,
        train_images=len(data),
        wall_s=round(time.perf_counter() - started, 1),
        # written last: the digests that let a later load tell intact weights from damaged ones
        **{f"{name}_sha256": paths.file_sha256(folder / name) for name in _DIGESTED},
    )
    files.atomic_write_json(folder / "provenance.json", record)
    (folder / "checkpoint.pt").unlink(missing_ok=True)
    return run
