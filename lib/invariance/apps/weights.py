"""`make weights`: train every network of the catalogue (training/catalogue.py) that weights/ lacks.

    python -m invariance.apps.weights [--device cuda] [--only NAME ...] [--list]

Each network trains seeded and checkpoints every --checkpoint-every steps into
$INVARIANCE_WEIGHTS_WORK (default data/cache/weights-work): run the same command again after an
interruption (even kill -9) and it resumes from the last checkpoint, giving the same weights as an
uninterrupted run on the same machine. A finished network is evaluated on the CIFAR-10 test set, checked
for half precision (`weights.half_changes`), written to weights/<name>.safetensors and entered in
weights/manifest.json; networks already there with the same configuration and an intact file are skipped.
One process at a time: a second one started while the first runs exits with a message.
"""

from __future__ import annotations

import argparse
import fcntl
import os
import shutil
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch

from invariance.core import files, paths
from invariance.sources import cifar
from invariance.training import catalogue
from invariance.training import recipe as R
from invariance.training import weights as W

DEFAULT_THREADS = torch.get_num_threads()


def status(net: catalogue.Network, precision: str, folder: Path | None = None) -> str:
    """'done', 'damaged' (in the manifest, file missing or changed), 'step K' (a checkpoint) or 'pending'."""
    manifest = W.read_manifest(folder)["networks"]
    if net.name in manifest and manifest[net.name].get("config_id") == W.identity(net.recipe):
        try:
            W.verified(net.name, folder)
            return "done"
        except W.WeightsError:
            return "damaged"
    state = checkpoint_state(net, precision)
    if state is None:
        return "pending"
    return f"step {state['step']}" if "step" in state else "checkpoint unreadable"


def checkpoint_state(net: catalogue.Network, precision: str) -> dict[str, Any] | None:
    """The step and thread count of net's checkpoint ({} when unreadable), None when there is none."""
    checkpoint = work_folder(net, precision) / "checkpoint.pt"
    if not checkpoint.exists():
        return None
    try:
        state = torch.load(checkpoint, weights_only=True)
        return {"step": state["step"], "threads": state.get("threads")}
    except Exception:  # an unreadable checkpoint: train() will say so
        return {}


def threads_for(net: catalogue.Network, precision: str, asked: int | None) -> int:
    """The thread count to train net with: its checkpoint's (float sums split across threads differently
    could change the last bits, so a resumed run keeps the count it started with), else `asked`, else
    torch's default (one per core)."""
    state = checkpoint_state(net, precision)
    if state and state.get("threads"):
        return int(state["threads"])
    return asked or DEFAULT_THREADS


def work_folder(net: catalogue.Network, precision: str) -> Path:
    """Where net's checkpoint lives: named by the network, its configuration and the precision (a
    checkpoint never resumes under another recipe or precision)."""
    return W.work_dir() / f"{net.name}-{W.identity(net.recipe)}-{precision}"


def loss_curve(losses: list[float], points: int = 40) -> dict[str, Any]:
    """The per-step training loss as at most `points` window means (4 decimals): the manifest's curve."""
    every = max(1, -(-len(losses) // points))
    means = [sum(losses[i : i + every]) / len(losses[i : i + every]) for i in range(0, len(losses), every)]
    return {"every_steps": every, "mean_loss": [round(m, 4) for m in means]}


def train_one(
    net: catalogue.Network,
    train: cifar.Split,
    test: cifar.Split,
    *,
    device: str,
    precision: str,
    checkpoint_every: int,
    revision: str,
    folder: Path | None = None,
) -> dict[str, Any]:
    """Train (or resume) net, evaluate it, write its weights and manifest entry; returns the entry.
    revision: the git revision of the code this process runs (read when it started: later commits to the
    checkout must not be credited with its networks)."""
    work = work_folder(net, precision)
    work.mkdir(parents=True, exist_ok=True)

    def said(step: int) -> None:
        print(f"{net.name}: step {step} of {total} checkpointed in {paths.shown(work)}", flush=True)

    total = net.recipe.total_steps(len(train))
    run = R.train(
        net.recipe,
        train,
        work / "checkpoint.pt",
        device=device,
        precision=precision,
        checkpoint_every=checkpoint_every,
        on_checkpoint=said,
        name=net.name,
    )
    assert run is not None  # no stop_after

    def predict(model: torch.nn.Module) -> dict[str, torch.Tensor]:
        return catalogue.predictions(model, net.recipe, test)

    started = time.perf_counter()
    reference = predict(run.model)
    changes = W.half_changes(run.model, predict, reference)
    half = not any(changes.values())
    entry = {
        "group": net.group,
        "config": W.recipe_record(net.recipe),
        "config_id": W.identity(net.recipe),
        "seed": net.recipe.seed,
        "recipe_version": R.RECIPE_VERSION,
        "test_accuracy": {
            k: round(float((p == test.labels).float().mean()), 4) for k, p in reference.items()
        },
        "test_images": len(test),
        "half_precision_top1_changes": changes,
        "train_seconds": round(run.seconds, 1),
        "eval_seconds": round(time.perf_counter() - started, 1),
        "steps": total,
        "train_images": len(train),
        "data": train.source,
        "device": files.device_name(device),
        "precision": run.precision,
        "threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "git": revision,
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "loss_curve": loss_curve(run.losses),
    }
    record = W.save(net.name, run.model, entry, half, folder)
    shutil.rmtree(work, ignore_errors=True)
    return record


def _lock() -> Any:
    """An exclusive lock on the work folder for this process's lifetime (released by the OS on exit, even
    kill -9); exits when another `make weights` holds it."""
    W.work_dir().mkdir(parents=True, exist_ok=True)
    handle = open(W.work_dir() / "lock", "w")  # noqa: SIM115 (held open until the process ends)
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        sys.exit(f"another `make weights` is training into {W.work_dir()}; wait for it or stop it first")
    return handle


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m invariance.apps.weights", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--device", default="cpu", help="cpu or cuda (default cpu)")
    parser.add_argument("--only", nargs="+", metavar="NAME", help="train only these networks")
    parser.add_argument("--list", action="store_true", help="list the catalogue with each network's status")
    parser.add_argument("--checkpoint-every", type=int, default=100, metavar="STEPS")
    parser.add_argument("--precision", choices=R.PRECISIONS, help="default: bf16 where native, else fp32")
    parser.add_argument(
        "--threads",
        type=int,
        help="CPU threads for a network that starts from scratch (default: one per core); a resumed network "
        "keeps its checkpoint's. On cores shared with other jobs 1 thread wasted far less CPU time than 2",
    )
    args = parser.parse_args(argv)
    precision = args.precision or R.default_precision(args.device)
    nets = catalogue.networks()
    if args.only:
        unknown = sorted(set(args.only) - {n.name for n in nets})
        if unknown:
            parser.error(f"unknown network(s) {', '.join(unknown)}; --list shows the catalogue")
        nets = [n for n in nets if n.name in args.only]
    if args.list:
        total = 0.0
        for net in nets:
            estimate = catalogue.estimate_seconds(net)
            total += estimate
            print(f"{net.name:36s} {status(net, precision):12s} ~{estimate / 60:5.1f} min (2-core CPU, bf16)")
        print(f"{len(nets)} networks, ~{total / 3600:.1f} h on this project's idle 2-core CPU (estimate)")
        return 0
    os.environ.setdefault("INVARIANCE_PROGRESS", "log" if not sys.stdout.isatty() else "")
    lock = _lock()
    revision = files.git_revision()
    train, test = cifar.load("train"), cifar.load("test")
    print(
        f"make weights: {len(nets)} networks, {precision} on {files.device_name(args.device)}, "
        f"checkpoints in {W.work_dir()}, weights in {W.weights_dir()}",
        flush=True,
    )
    for net in nets:
        state = status(net, precision)
        if state == "done":
            print(f"{net.name}: done (in the manifest, digest verified)", flush=True)
            continue
        threads = threads_for(net, precision, args.threads)
        torch.set_num_threads(threads)
        print(f"{net.name}: training ({state}, {threads} threads)", flush=True)
        record = train_one(
            net,
            train,
            test,
            device=args.device,
            precision=precision,
            checkpoint_every=args.checkpoint_every,
            revision=revision,
        )
        print(
            f"{net.name}: accuracy {record['test_accuracy']} in {record['train_seconds']:.0f} s, "
            f"{record['dtype']}, {record['bytes'] / 1e6:.2f} MB",
            flush=True,
        )
    lock.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
