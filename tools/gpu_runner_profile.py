"""Where the runner's time goes on a GPU (issue 17): torch.profiler over `evaluate.evaluate_images` per
Table 1 protocol, with the GPU's busy time (union of kernel intervals) against the wall time, the idle gaps,
the host-side waits, and the kernels that are not the network's.

Run from the repository root on a machine with a GPU:
    PYTHONPATH=lib HF_HUB_OFFLINE=1 python tools/gpu_runner_profile.py OUTDIR [IMAGES [timing]]
(timing: the wall times alone, min of 3, no profiler)
Writes OUTDIR/profile-<protocol>.json.gz (Chrome traces) and prints the summary.
"""

import gzip
import json
import sys
import time
from pathlib import Path

import torch
from invariance.core import config
from invariance.runner import evaluate, protocols
from invariance.sources import datasets, models
from torch.profiler import ProfilerActivity, profile


def busy_and_gaps(trace: dict) -> tuple[float, float, float, list[tuple[float, float]]]:
    """(wall ms from the first to the last event, GPU busy ms, ms before the first kernel, biggest gaps)."""
    ev = trace["traceEvents"]
    kern = (
        sorted(
            (e["ts"], e["ts"] + e["dur"])
            for e in ev
            if e.get("cat") in ("kernel", "gpu_memcpy", "gpu_memset")
        )
        or [(e["ts"], e["ts"] + e.get("dur", 0)) for e in ev if e.get("cat") == "cpu_op"][:1]
    )
    cpu = [e["ts"] for e in ev if e.get("cat") == "cpu_op"]
    t0, t1 = min(cpu + [k[0] for k in kern]), max([k[1] for k in kern] + cpu)
    busy, gaps, end = 0.0, [], kern[0][0]
    for s, e in kern:
        if s > end:
            gaps.append((end - t0, s - end))
        busy += max(0.0, e - max(s, end))
        end = max(end, e)
    gaps.sort(key=lambda g: -g[1])
    return (t1 - t0) / 1e3, busy / 1e3, (kern[0][0] - t0) / 1e3, [(a / 1e3, b / 1e3) for a, b in gaps[:8]]


def sync(dev: str) -> None:
    if dev == "cuda":
        torch.cuda.synchronize()


def main() -> None:
    out = Path(sys.argv[1])
    n_images = int(sys.argv[2]) if len(sys.argv) > 2 else 250
    timing_only = len(sys.argv) > 3 and sys.argv[3] == "timing"  # no profiler: wall times only
    config.set_numerics(0)
    dev = "cuda" if torch.cuda.is_available() else "cpu"
    model = models.load("lite0", device=dev)
    images = datasets.load_sample(n_images, seed=0)
    n = model.data_config.input_size
    for name, protocol in protocols.table1_protocols().items():
        if name == "inpaint":
            continue
        evaluate.evaluate_images(model, protocol, images[:40])  # warm-up: cuDNN plans, pinned blocks
        frames = protocols.build_frames(protocol, images, n, model.data_config.mean, dev).flatten(0, 1)
        walls = []
        for _ in range(3):
            sync(dev)
            t = time.perf_counter()
            evaluate.evaluate_images(model, protocol, images)
            sync(dev)
            walls.append(time.perf_counter() - t)
        fw = []
        x = evaluate.model_input(frames, model.data_config, True)
        for _ in range(3):
            sync(dev)
            t = time.perf_counter()
            with torch.inference_mode():
                for i in range(0, len(x), evaluate.default_batch_size(dev)):
                    model.module(x[i : i + 256])
            sync(dev)
            fw.append(time.perf_counter() - t)
        bt = []
        for _ in range(3):
            sync(dev)
            t = time.perf_counter()
            protocols.build_frames(protocol, images, n, model.data_config.mean, dev)
            sync(dev)
            bt.append(time.perf_counter() - t)
        if timing_only:
            print(
                f"{name}: {len(frames)} frames | runner {min(walls) * 1e3:.1f} ms, forward alone "
                f"{min(fw) * 1e3:.1f} ms (ratio {min(fw) / min(walls):.3f}), build alone "
                f"{min(bt) * 1e3:.1f} ms",
                flush=True,
            )
            continue
        with profile(activities=[ProfilerActivity.CPU, ProfilerActivity.CUDA]) as prof:
            evaluate.evaluate_images(model, protocol, images)
            sync(dev)
        path = out / f"profile-{name}.json"
        prof.export_chrome_trace(str(path))
        trace = json.loads(path.read_text())
        with gzip.open(str(path) + ".gz", "wt") as f:
            json.dump(trace, f)
        path.unlink()
        wall, busy, first, gaps = busy_and_gaps(trace)
        print(
            f"\n== {name}: {len(frames)} frames | runner {min(walls) * 1e3:.1f} ms, forward alone "
            f"{min(fw) * 1e3:.1f} ms (ratio {min(fw) / min(walls):.3f}), build alone {min(bt) * 1e3:.1f} ms"
        )
        print(
            f"profiled: wall {wall:.1f} ms, GPU busy {busy:.1f} ms ({busy / wall:.0%}), first kernel at "
            f"{first:.1f} ms; biggest gaps (at ms, length ms): "
            + ", ".join(f"{a:.1f}:{b:.2f}" for a, b in gaps)
        )
        ka = prof.key_averages()
        waits = [
            e
            for e in ka
            if any(s in e.key for s in ("Synchronize", "Memcpy", "HostAlloc", "item", "_local_scalar"))
        ]
        print(
            "host waits/copies: "
            + "; ".join(f"{e.key} x{e.count} {e.cpu_time_total / 1e3:.1f} ms" for e in waits)
        )
        print(ka.table(sort_by="self_cpu_time_total", row_limit=18, max_name_column_width=50))
        print(ka.table(sort_by="self_device_time_total", row_limit=14, max_name_column_width=50))


if __name__ == "__main__":
    main()
