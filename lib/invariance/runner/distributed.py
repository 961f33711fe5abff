"""Scale-out with torch.distributed: images sharded across the ranks of a `torchrun` launch.

    torchrun --nproc_per_node 2 -m invariance measure --model lite0 --images sample --n 200

Each rank evaluates every world_size-th image (its shard) through `evaluate.run`, so its finished chunks go
to the shared result cache and an interrupted run resumes; rank 0 gathers the shards' tables and merges
them back into the one-process order, checking that every image came back exactly once. Backend: gloo on
CPU, NCCL on GPU; torchrun's multi-node rendezvous works unchanged (`--nnodes`, `--rdzv-endpoint`).
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import pandas as pd
import torch
import torch.distributed as dist

from invariance.runner import evaluate
from invariance.runner.protocols import Protocol
from invariance.sources.images import SourceImage
from invariance.sources.models import LoadedModel


def launched() -> bool:
    """Whether this process was started by torchrun (or another launcher) with more than one rank."""
    return int(os.environ.get("WORLD_SIZE", "1")) > 1


def writes_results() -> bool:
    """Whether this process writes the command's results: a one-process run, or rank 0 of a torchrun launch
    (RANK is set by torchrun before the process group exists)."""
    return not launched() or int(os.environ.get("RANK", "0")) == 0


def setup(device: str) -> tuple[int, int]:
    """Join the process group (gloo on CPU, NCCL on CUDA) once; returns (rank, world_size)."""
    if device.startswith("cuda"):
        check_gpus_for_ranks(*_local())
    if not dist.is_initialized():
        dist.init_process_group("nccl" if device.startswith("cuda") else "gloo")
    if device.startswith("cuda"):
        torch.cuda.set_device(_local()[0])
    return dist.get_rank(), dist.get_world_size()


def _local() -> tuple[int, int]:
    """(this process's rank on its machine, processes on its machine), as torchrun sets them."""
    return int(os.environ.get("LOCAL_RANK", "0")), int(os.environ.get("LOCAL_WORLD_SIZE", "1"))


def check_gpus_for_ranks(local_rank: int, local_world: int) -> None:
    """Raise a RuntimeError that says what to do when this node has fewer GPUs than torchrun processes
    (rank k uses cuda:k; CUDA's own error for a missing device names neither torchrun nor the fix)."""
    have = torch.cuda.device_count()
    if local_rank >= have:
        raise RuntimeError(
            f"torchrun started {local_world} processes on this machine but it has {have} GPU(s) "
            f"(process {local_rank} would use cuda:{local_rank}): launch with --nproc_per_node {max(have, 1)}"
            + ("" if have else ", or run on the CPU (--device cpu)")
        )


def shard(images: Sequence[SourceImage], rank: int, world: int) -> list[SourceImage]:
    """Every world-th image from position rank: shards are disjoint and together hold every image."""
    return list(images[rank::world])


def merge(parts: Sequence[pd.DataFrame], images: Sequence[SourceImage]) -> pd.DataFrame:
    """The ranks' tables in the one-process order (by image, then pair); every image exactly once."""
    table = pd.concat(parts, ignore_index=True)
    order = {img.id: k for k, img in enumerate(images)}
    counts = table.groupby("image_id").size()
    if set(counts.index) != set(order):
        missing, extra = sorted(set(order) - set(counts.index)), sorted(set(counts.index) - set(order))
        raise RuntimeError(f"sharded run lost or invented images (missing {missing[:5]}, extra {extra[:5]})")
    if counts.nunique() != 1:
        raise RuntimeError(f"sharded run repeated images: {sorted(counts[counts > counts.min()].index)[:5]}")
    key = table.image_id.map(order)
    return (
        table.assign(_k=key)
        .sort_values(["_k", "frame_a"], kind="stable")
        .drop(columns="_k")
        .reset_index(drop=True)
    )


def run(
    model: LoadedModel,
    protocol: Protocol,
    images: Sequence[SourceImage],
    *,
    batch_size: int | None = None,
    chunk_images: int | None = None,
) -> pd.DataFrame | None:
    """evaluate.run over this rank's shard; rank 0 returns the merged table, other ranks None."""
    evaluate.check_images(images, getattr(model.module, "num_classes", None))  # on every rank: all stop alike
    rank, world = setup(str(model.device))
    mine = shard(images, rank, world)
    table = evaluate.run(
        model, protocol, mine, batch_size=batch_size, chunk_images=chunk_images, progress=rank == 0
    )
    parts = [None] * world if rank == 0 else None
    dist.gather_object(table, parts, dst=0)
    return merge(parts, images) if rank == 0 else None


def finish() -> None:
    """Leave the process group (a no-op outside a sharded run)."""
    if dist.is_initialized():
        dist.destroy_process_group()


def local_device(device: str) -> str:
    """Under torchrun, each rank's own GPU (cuda:LOCAL_RANK); otherwise device unchanged."""
    if launched() and device == "cuda":
        check_gpus_for_ranks(*_local())  # before the network moves to its GPU
        return f"cuda:{_local()[0]}"
    return device
