"""Evaluation runner: a model over the frames of a protocol for a list of images -> tidy per-pair table.

Frames are built on the model's device, normalised with the model's own config, run in batches under
inference_mode (channels_last, float32 with TF32 off unless bf16=True), and reduced to per-pair numbers
on the device; only the small table comes back to the CPU. The network always runs in eval mode: a model
handed over in training mode is switched for the forward passes and given back in its own mode, its
BatchNorm statistics untouched (a training-mode forward pass would update them, and its outputs depend on
the batch), so every result, cached or not, is an eval-mode result.

Table columns (one row per pair of consecutive frames a = k, b = k + 1 of one image):
    image_id, label, frame_a, frame_b,
    top1_a, top1_b      argmax class of each frame
    p_top_a, p_top_b    probability of top1_a (the first frame's top class) in frame a and in frame b
    margin_a            frame a's top-1 minus its top-2 probability (near 0: a near-tie, which flips easily)
    p_true_a, p_true_b  probability of the correct class (NaN when the label is unknown)
"""

from __future__ import annotations

import contextlib
import functools
import logging
import math
from collections.abc import Hashable, Iterator, Mapping, Sequence
from dataclasses import dataclass

import pandas as pd
import torch
from tqdm.auto import tqdm

from invariance.core import allocator, config, paths
from invariance.core.progress import bar as progress_bar
from invariance.kernels import metrics
from invariance.runner.cache import cached_table, run_dir
from invariance.runner.protocols import Protocol, build_frames, check_fits, n_frames, table1_protocols
from invariance.sources.images import SourceImage, content_key
from invariance.sources.models import DataConfig, LoadedModel

log = logging.getLogger(__name__)

COLUMNS = [
    "image_id",
    "label",
    "frame_a",
    "frame_b",
    "top1_a",
    "top1_b",
    "p_top_a",
    "p_top_b",
    "margin_a",
    "p_true_a",
    "p_true_b",
]


@dataclass(frozen=True)
class Numerics:
    """How the forward pass runs. Defaults are the measurement policy (float32, TF32 off)."""

    channels_last: bool = True
    bf16: bool = False
    compile: bool = False


_COMPILED: dict[int, torch.nn.Module] = {}

# Measured with `make bench` (README, "Speed"): on a 2-core CPU small batches ran fastest while glibc
# returned freed memory to the kernel (every batch re-faulted its activations); with
# allocator.keep_freed_memory batch 64 is about as fast as 8 (the README's table). A GPU wants large batches.
DEFAULT_BATCH = {"cpu": 8, "cuda": 256}


def default_batch_size(device: torch.device | str) -> int:
    """The measured-fastest batch size for a device type (results do not depend on it)."""
    return DEFAULT_BATCH.get(torch.device(device).type, 64)


def _checked_batch(batch_size: int | None, device: torch.device | str) -> int:
    if batch_size is None:
        return default_batch_size(device)
    if not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(
            f"batch_size must be a positive integer (or None for the device's default), not {batch_size!r}"
        )
    return batch_size


def _module(model: LoadedModel, numerics: Numerics) -> torch.nn.Module:
    if not numerics.compile:
        return model.module
    key = id(model.module)
    if key not in _COMPILED:
        _COMPILED[key] = torch.compile(model.module)
    return _COMPILED[key]


@functools.lru_cache(maxsize=32)
def _mean_std(cfg: DataConfig, device: torch.device, dtype: torch.dtype) -> tuple[torch.Tensor, torch.Tensor]:
    """The model's mean and std (1, 3, 1, 1) on a device, made once: on a GPU, making a tensor from Python
    numbers waits for all queued work, which would stall the frames being built during the forward pass."""
    mean = torch.tensor(cfg.mean, dtype=dtype).view(1, 3, 1, 1).to(device)
    std = torch.tensor(cfg.std, dtype=dtype).view(1, 3, 1, 1).to(device)
    return mean, std


@contextlib.contextmanager
def eval_mode(module: torch.nn.Module) -> Iterator[None]:
    """Every submodule in eval mode for the block; afterwards each is back in the mode it had (a model the
    caller left in training mode, or with some layers in training mode, stays so)."""
    training = [m for m in module.modules() if m.training]
    if training:
        log.debug("%s is in training mode: evaluated in eval mode, then put back", type(module).__name__)
    module.eval()
    try:
        yield
    finally:
        for m in training:  # m.train() would also switch its children: set each module's own flag
            m.training = True


def model_input(chunk: torch.Tensor, cfg: DataConfig, channels_last: bool) -> torch.Tensor:
    """Frames (M, 3, N, N) in [0, 1] -> the network's input: normalised with the model's mean/std and, when
    asked, in channels_last layout, in one pass (the values equal `models.normalize`'s bit for bit)."""
    mean, std = _mean_std(cfg, chunk.device, chunk.dtype)
    layout = torch.channels_last if channels_last else torch.contiguous_format
    out = torch.empty_like(chunk, memory_format=layout)
    return torch.sub(chunk, mean, out=out).div_(std)


def forward_probs(
    model: LoadedModel, frames: torch.Tensor, batch_size: int | None = None, numerics: Numerics = Numerics()
) -> torch.Tensor:
    """Softmax outputs (M, C) float32 for frames (M, 3, N, N) in [0, 1], on the frames' device.

    batch_size None: the device's default. On CUDA out-of-memory the batch is halved and the run goes on.
    The first call sets the process's malloc to keep freed memory (allocator.keep_freed_memory). The network
    runs in eval mode whatever mode it is in (`eval_mode`).
    """
    allocator.keep_freed_memory()  # no page faults per batch on the CPU (see allocator)
    check_frames(frames)
    with eval_mode(model.module):
        return _forward(model, frames, _checked_batch(batch_size, frames.device), numerics)


def check_frames(frames: torch.Tensor) -> None:
    """ValueError unless frames are what the network's input is made from: float (M, 3, H, W) in [0, 1]."""
    if not isinstance(frames, torch.Tensor) or not frames.is_floating_point() or frames.ndim != 4:
        found = f"{frames.dtype} {tuple(frames.shape)}" if isinstance(frames, torch.Tensor) else type(frames)
        raise ValueError(f"frames must be a float tensor (M, 3, H, W) with values in [0, 1], not {found}")
    if frames.shape[1] != 3:
        raise ValueError(
            f"frames must have 3 (RGB) channels in dimension 1: (M, 3, H, W), not {tuple(frames.shape)}"
        )


def _forward(model: LoadedModel, frames: torch.Tensor, batch_size: int, numerics: Numerics) -> torch.Tensor:
    """forward_probs' batches (the network already in eval mode)."""
    module = _module(model, numerics)
    device = frames.device
    out = []
    start = 0
    while start < frames.shape[0]:
        chunk = frames[start : start + batch_size]
        try:
            x = model_input(chunk, model.data_config, numerics.channels_last)
            autocast = (
                torch.autocast(device.type, dtype=torch.bfloat16)
                if numerics.bf16
                else contextlib.nullcontext()
            )
            with torch.inference_mode(), autocast:
                logits = module(x)
            out.append(torch.softmax(logits.float(), dim=-1))
            start += chunk.shape[0]
        except torch.OutOfMemoryError:
            if batch_size == 1:
                raise
            batch_size //= 2
            log.warning("Out of memory: batch size halved to %d", batch_size)
            if device.type == "cuda":
                torch.cuda.empty_cache()
    return torch.cat(out)


def pair_values(probs: torch.Tensor, labels: torch.Tensor) -> dict[str, torch.Tensor]:
    """Per-frame reductions of probs (B, K, C) on their device, for the pair table: top1 (B, K) argmax,
    p_top_a / p_top_b (B, K - 1) the probability of frame a's top class in frames a and b, p_true (B, K)
    the probability of the label (B,) (NaN where the label is < 0, unknown), margin_a (B, K - 1) frame a's
    top-1 minus top-2 probability."""
    b, k, c = probs.shape
    top1 = probs.argmax(dim=-1)
    top2 = probs[:, :-1].topk(min(2, c), dim=-1).values
    margin = top2[..., 0] - top2[..., 1] if c > 1 else top2[..., 0]
    idx = top1[:, :-1, None]
    known = labels >= 0
    p_true = probs.gather(-1, labels.clamp(min=0)[:, None, None].expand(b, k, 1))[..., 0]
    return {
        "top1": top1,
        "p_top_a": probs[:, :-1].gather(-1, idx)[..., 0],
        "p_top_b": probs[:, 1:].gather(-1, idx)[..., 0],
        "margin_a": margin,
        "p_true": torch.where(known[:, None], p_true, torch.full_like(p_true, float("nan"))),
    }


def table_of(values: dict[str, torch.Tensor], ids: Sequence, labels: torch.Tensor) -> pd.DataFrame:
    """The per-pair table (B * (K - 1) rows, frame_a = k, frame_b = k + 1) from `pair_values` of B items."""
    cpu = {n: t.cpu() for n, t in values.items()}  # one transfer per column
    b, k = cpu["top1"].shape
    frame = torch.arange(k - 1)
    return pd.DataFrame(
        {
            "image_id": [i for i in ids for _ in range(k - 1)],
            "label": labels.cpu().repeat_interleave(k - 1).numpy(),
            "frame_a": frame.repeat(b).numpy(),
            "frame_b": (frame + 1).repeat(b).numpy(),
            "top1_a": cpu["top1"][:, :-1].reshape(-1).numpy(),
            "top1_b": cpu["top1"][:, 1:].reshape(-1).numpy(),
            "p_top_a": cpu["p_top_a"].reshape(-1).numpy(),
            "p_top_b": cpu["p_top_b"].reshape(-1).numpy(),
            "margin_a": cpu["margin_a"].reshape(-1).numpy(),
            "p_true_a": cpu["p_true"][:, :-1].reshape(-1).numpy(),
            "p_true_b": cpu["p_true"][:, 1:].reshape(-1).numpy(),
        }
    )


def pair_table(probs: torch.Tensor, images: Sequence[SourceImage]) -> pd.DataFrame:
    """Reduce probs (B, K, C) of B images to the per-pair table (B * (K - 1) rows)."""
    return pairs_of(probs, [img.id for img in images], [img.label for img in images])


def pairs_of(probs: torch.Tensor, ids: Sequence, labels: Sequence[int]) -> pd.DataFrame:
    """The per-pair table of consecutive frames: probs (B, K, C) of B items with ids and labels (B,)
    (label < 0: unknown, p_true is NaN); B * (K - 1) rows, frame_a = k, frame_b = k + 1."""
    labels = torch.as_tensor(labels, device=probs.device)
    return table_of(pair_values(probs, labels), ids, labels)


def evaluate_images(
    model: LoadedModel,
    protocol: Protocol,
    images: Sequence[SourceImage],
    *,
    batch_size: int | None = None,
    numerics: Numerics = Numerics(),
    progress: tqdm | None = None,
) -> pd.DataFrame:
    """The per-pair table for images, computed now (no cache); batch_size None: the device's default.

    Frames are built a group of images at a time and streamed through the network in full batches (a
    batch may hold frames of several images), so the network never sees the small remainder batches
    that cutting at image boundaries would give. Pairs are reduced on the device as images complete;
    the table is assembled once, at the end, so a GPU is not made to wait for the CPU in between.
    """
    batch_size = _checked_batch(batch_size, model.device)
    if not images:
        return pd.DataFrame(columns=COLUMNS)
    canvas = model.data_config.input_size
    k = n_frames(protocol, canvas)
    # Images per group: when small enough, a group's frames are a whole number of batches (no frames wait
    # for the next group, nothing is copied to join groups); else enough images to fill one batch. The
    # cap keeps a group near one batch of frames (GPU memory: frames and inpainting work scale with it).
    whole = images_per_whole_batches(batch_size, k)
    per_group = whole if whole * k <= max(2 * batch_size, 128) else -(-batch_size // k)
    labels = torch.tensor([img.label for img in images], device=model.device)
    pending: list[torch.Tensor] = []  # built frames not yet through the network, in order
    probs: list[torch.Tensor] = []  # softmax rows of frames of images not yet reduced
    values: list[dict[str, torch.Tensor]] = []
    reduced = 0  # images whose pairs are in `values`

    def run_frames(n: int) -> None:
        """Forward the first n pending frames and reduce every image whose frames are all through."""
        nonlocal pending, reduced
        frames = pending[0] if len(pending) == 1 else torch.cat(pending)
        pending = [frames[n:].clone()] if n < frames.shape[0] else []  # a copy frees the joined frames
        probs.append(forward_probs(model, frames[:n], batch_size, numerics))
        rows = torch.cat(probs)
        whole = rows.shape[0] // k  # images complete
        if whole:
            values.append(
                pair_values(rows[: whole * k].view(whole, k, -1), labels[reduced : reduced + whole])
            )
            reduced += whole
        probs[:] = [rows[whole * k :]] if rows.shape[0] > whole * k else []

    for i in range(0, len(images), per_group):
        group = images[i : i + per_group]
        pending.append(
            build_frames(protocol, group, canvas, model.data_config.mean, model.device).flatten(0, 1)
        )
        waiting = sum(f.shape[0] for f in pending)
        if waiting >= batch_size:
            run_frames(waiting - waiting % batch_size)
        if progress is not None:
            progress.update(len(group))
    if pending:
        run_frames(sum(f.shape[0] for f in pending))
    merged = {name: torch.cat([v[name] for v in values]) for name in values[0]}
    return table_of(merged, [img.id for img in images], labels)


def repeated(items: Sequence[Hashable]) -> list[Hashable]:
    """The items that occur earlier in the sequence (once per extra occurrence), in order."""
    seen: set[Hashable] = set()
    out = []
    for item in items:
        if item in seen:
            out.append(item)
        seen.add(item)
    return out


def check_images(images: Sequence[SourceImage], classes: int | None) -> None:
    """ValueError unless every image has its own id (results are per image id: a shared one would merge
    different images) and every known label (>= 0) is one of the network's classes."""
    twice = repeated([img.id for img in images])
    if twice:
        raise ValueError(f"{len(twice)} image ids repeat (e.g. {twice[0]!r}): give each image its own id")
    if classes:
        wrong = [img for img in images if img.label >= classes]
        if wrong:
            raise ValueError(
                f"{len(wrong)} labels are not classes of this network (0-{classes - 1}), e.g. image "
                f"{wrong[0].id!r} has {wrong[0].label}"
            )


def images_per_whole_batches(batch_size: int, k: int) -> int:
    """The fewest images whose frames (k per image) fill whole batches of batch_size."""
    return math.lcm(batch_size, k) // k


CHUNK_IMAGES = 50  # default images per cached chunk (how much an interruption can cost), before rounding


def chunk_size(chunk_images: int | None, batch_size: int, k: int) -> int:
    """Images per cached chunk: chunk_images as given, or (None) CHUNK_IMAGES rounded up so that a chunk's
    frames (k per image) fill whole batches: each chunk is run on its own and would otherwise end in a
    partial batch (on a GPU at batch 256 and 9 frames, 194 of every 450 frames)."""
    if chunk_images is not None:
        return chunk_images
    whole = images_per_whole_batches(batch_size, k)
    return -(-CHUNK_IMAGES // whole) * whole


def run(
    model: LoadedModel,
    protocol: Protocol,
    images: Sequence[SourceImage],
    *,
    batch_size: int | None = None,
    numerics: Numerics = Numerics(),
    cache: bool = True,
    chunk_images: int | None = None,
    progress: bool = True,
    refresh: bool = False,
) -> pd.DataFrame:
    """The per-pair table of model x protocol x images, cached (see `cache`) and resumable.

    The cache key holds the model and its weights, the protocol, the canvas, the numerics, and the images'
    ids and decoded pixels (so two different images with one name never share a result). refresh=True
    recomputes. batch_size is not part of the key: results agree across batch sizes (top-1 identical,
    probabilities within 1e-5, tested). chunk_images: images per cached chunk (None: `chunk_size`'s).
    """
    batch = _checked_batch(batch_size, model.device)
    if chunk_images is not None and (not isinstance(chunk_images, int) or chunk_images < 1):
        raise ValueError(f"chunk_images must be a positive integer or None, not {chunk_images!r}")
    check_fits(protocol, model.data_config.input_size)
    chunk_images = chunk_size(chunk_images, batch, n_frames(protocol, model.data_config.input_size))
    if not images:
        return pd.DataFrame(columns=COLUMNS)
    check_images(images, getattr(model.module, "num_classes", None))  # before any chunk is computed
    slug, key, where = f"{model.name}-{protocol.name}", None, ""
    if cache:  # the key hashes every image's pixels: only worth it when results are cached
        key = {
            "model": model.cache_key(),
            "protocol": protocol,
            "canvas": model.data_config.input_size,
            "images": [img.id for img in images],
            "pixels": content_key(images),
            "numerics": numerics,
            "tf32": config.numerics_record(),
        }
        where = paths.shown(run_dir(slug, key))
    desc = f"{model.label} | {protocol.name}"
    bar = progress_bar(len(images), desc, unit="img", disable=not progress, leave=False, where=where)

    def compute(chunk: Sequence[SourceImage]) -> pd.DataFrame:
        return evaluate_images(model, protocol, chunk, batch_size=batch_size, numerics=numerics, progress=bar)

    try:
        if not cache:
            return evaluate_images(
                model, protocol, images, batch_size=batch_size, numerics=numerics, progress=bar
            )

        def skip_done(done: int, total: int) -> None:  # chunks loaded from disk advance the bar too
            bar.n = min(done * chunk_images, len(images))
            bar.refresh()

        pairs = n_frames(protocol, model.data_config.input_size) - 1

        def check(part: pd.DataFrame, chunk: Sequence[SourceImage]) -> None:
            """A cached part must answer exactly its chunk: columns, ids (as strings), pair count."""
            if list(part.columns) != COLUMNS:
                raise ValueError(f"columns {list(part.columns)}")
            if part.image_id.tolist() != [img.id for img in chunk for _ in range(pairs)]:
                raise ValueError("image ids do not match the requested images")

        table = cached_table(
            slug,
            key,
            list(images),
            compute,
            chunk_size=chunk_images,
            device=model.device,
            on_chunk=skip_done,
            refresh=refresh,
            check=check,
        )
        bar.n = len(images)  # a table read whole from the cache reports no chunks
        return table
    finally:
        bar.close()


def run_grid(
    models: Sequence[LoadedModel],
    conditions: Mapping[str, Protocol],
    images: Sequence[SourceImage],
    *,
    batch_size: int | None = None,
) -> dict[tuple[str, str], pd.DataFrame]:
    """Pair tables for every network x condition: {(model label, condition name): table}."""
    return {
        (m.label, name): run(m, p, images, batch_size=batch_size)
        for m in models
        for name, p in conditions.items()
    }


def run_path(
    models: Sequence[LoadedModel],
    path: Protocol,
    images: Sequence[SourceImage],
    *,
    batch_size: int | None = None,
) -> dict[str, pd.DataFrame]:
    """Pair tables of one path protocol for every network: {model label: table}."""
    return {m.label: run(m, path, images, batch_size=batch_size) for m in models}


def protocol_summary(
    models: Sequence[LoadedModel], images: Sequence[SourceImage], steps: int = 8
) -> pd.DataFrame:
    """metrics.summary_table of the Table 1 protocols for every network (an empty table for none)."""
    return metrics.summary_table(run_grid(models, table1_protocols(steps), images))
