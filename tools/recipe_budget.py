"""Accuracy against time for the airbench-style recipe (training/recipe.py) on this machine (issue 33).

    python tools/recipe_budget.py throughput [steps]
        CPU seconds per 1,000 training images (one thread, process time) for each catalogue shape, bf16
        autocast and float32, channels_last, batch 256 (env SHAPES=0,3 and PRECISIONS=bf16 select)
    python tools/recipe_budget.py train EPOCHS [key=value ...]
        one full run (seed 0), then test accuracy with and without flip TTA and the seconds it took;
        keys: widths=32,64,128 depth=2 down=stride pad=zeros precision=bf16 canvas=128 kind=gaussian
        batch=256 lr=11.5

Run with `nice -n 19` on a shared machine; the load average is printed with every line.
"""

from __future__ import annotations

import os
import sys
import time

import torch
from invariance.sources import cifar
from invariance.training import recipe as R
from invariance.training.placement import PlacementDistribution


def load() -> str:
    return f"load {os.getloadavg()[0]:.1f}"


def make(
    widths="32,64,128", depth="2", down="stride", pad="zeros", canvas="", kind="gaussian", **kw
) -> R.Recipe:
    net = R.Net(tuple(int(w) for w in widths.split(",")), int(depth), down, pad)
    placement = PlacementDistribution(kind, int(canvas)) if canvas else None
    extra = {"batch_size": int(kw.pop("batch", 256)), "lr": float(kw.pop("lr", 11.5))}
    return R.Recipe(net=net, placement=placement, **extra), kw.pop("precision", R.default_precision())


def _cpu_seconds(recipe: R.Recipe, train: cifar.Split, precision: str, steps: int | None) -> float:
    t = time.process_time()
    R.train(recipe, train, precision=precision, progress=False, stop_after=steps)
    return time.process_time() - t


def throughput(train: cifar.Split, steps: int) -> None:
    """CPU seconds per 1,000 training images on ONE thread (process time: robust to other people's jobs on
    the shared cores; the setup cost is removed by subtracting a 2-step run)."""
    torch.set_num_threads(1)
    shapes = [
        {"widths": "32,64,128"},
        {"widths": "32,64,128", "down": "blurpool"},
        {"widths": "32,64,128", "down": "aps", "pad": "circular"},
        {"widths": "32,64,128", "depth": "1"},
        {"widths": "32,64,128", "depth": "3"},
        {"widths": "32,64,128", "depth": "4"},
        {"widths": "24,48,96", "canvas": "128"},
        {"widths": "24,48,96", "canvas": "128", "down": "blurpool"},
        {"widths": "32,64,128", "pad": "circular"},
        {"widths": "32,64,128", "down": "aps"},
    ]
    only = os.environ.get("SHAPES")
    for i, shape in enumerate(shapes):
        if only and str(i) not in only.split(","):
            continue
        for precision in os.environ.get("PRECISIONS", "bf16,fp32").split(","):
            recipe, _ = make(**shape)
            recipe = R.Recipe(**{**recipe.__dict__, "epochs": 1.0})
            base = _cpu_seconds(recipe, train, precision, 2)
            dt = (_cpu_seconds(recipe, train, precision, steps + 2) - base) / steps
            print(
                f"{shape} {precision}: {dt / 256 * 1000:.2f} cpu-s per 1k images, 1 thread ({load()})",
                flush=True,
            )


def full(train: cifar.Split, test: cifar.Split, epochs: float, **kw: str) -> None:
    recipe, precision = make(**kw)
    recipe = R.Recipe(**{**recipe.__dict__, "epochs": epochs})
    run = R.train(recipe, train, precision=precision, progress=False)
    if recipe.placement is None:
        acc = {
            f"top1{'_tta' if tta else ''}": (R.logits(run.model, test.images, tta).argmax(1) == test.labels)
            .float()
            .mean()
            .item()
            for tta in (False, True)
        }
    else:
        from invariance.training import catalogue

        acc = catalogue.zone_accuracy(run.model, recipe.placement, test)
    print(f"{kw} epochs {epochs} {precision}: {acc} in {run.seconds:.0f} s ({load()})", flush=True)


if __name__ == "__main__":
    torch.set_num_threads(int(os.environ.get("THREADS", "2")))  # 1 for two probes side by side
    train, test = cifar.load("train"), cifar.load("test")
    if sys.argv[1] == "throughput":
        throughput(train, int(sys.argv[2]) if len(sys.argv) > 2 else 20)
    else:
        full(train, test, float(sys.argv[2]), **dict(a.split("=", 1) for a in sys.argv[3:]))
