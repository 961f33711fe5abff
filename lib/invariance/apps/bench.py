"""`make bench`: how fast the evaluation runs, against the model's own forward speed and the naive way.

Printed side by side, one run, same device and batch size:
  forward   the model alone on pre-built, normalised input tensors (the ceiling), frames/s
  runner    evaluate_images(): decoded sources -> frames -> forward -> per-pair table, frames/s and pairs/s
  naive     the official code's way: per pair, PIL paste of each frame, ToTensor, normalise, a batch of two
plus variants (channels_last, bf16 autocast, torch.compile) with top-1 flips against float32, and the
runner against the forward pass for every Table 1 protocol. Each timing is repeated (forward and runner
alternating, so that machine noise hits both alike) and reported as min / median / max; the ratio
runner / forward is taken per round and its median reported.
Results go to benchmarks/results/<device>-<model>-<protocol>.json (raw seconds of every repeat kept), and
the README's speed section is rewritten from those files (`benchreport`).
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import os
import re
import resource
import statistics
import time
from collections.abc import Callable, Sequence

import numpy as np
import torch
from PIL import Image

from invariance.core import config, files, paths
from invariance.kernels import inpaint
from invariance.report.benchreport import median_range, shard_outcome, shard_timed
from invariance.runner import evaluate, protocols
from invariance.runner.protocols import Translation, table1_protocols
from invariance.sources import datasets, models
from invariance.sources.images import SourceImage


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _peak_mb(device: torch.device) -> float:
    """Peak memory so far: CUDA allocator peak on a GPU, process max RSS on the CPU (MB)."""
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated(device) / 2**20
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _reset_peak(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)


def alternate(timers: dict[str, Callable[[], float]], repeats: int) -> dict[str, list[float]]:
    """Run every timer once per round, in turn, for `repeats` rounds: {name: seconds per round}."""
    times: dict[str, list[float]] = {name: [] for name in timers}
    for _ in range(repeats):
        for name, timer in timers.items():
            times[name].append(timer())
    return times


def spread(values: Sequence[float]) -> dict[str, float]:
    """min / median / max of values."""
    return {"min": min(values), "median": statistics.median(values), "max": max(values)}


def rates(count: int, seconds: Sequence[float]) -> dict[str, float]:
    """count / seconds as min / median / max (per second)."""
    return spread([count / t for t in seconds])


def ratios(forward_s: Sequence[float], runner_s: Sequence[float]) -> dict[str, float]:
    """runner speed / forward speed (= forward time / runner time), per round, as min / median / max."""
    return spread([f / r for f, r in zip(forward_s, runner_s, strict=True)])


def time_forward(
    model: models.LoadedModel, frames: torch.Tensor, batch_size: int, numerics: evaluate.Numerics
) -> float:
    """Seconds for the model alone over frames (M, 3, N, N), pre-normalised, in batches."""
    # the runner's own input (normalised, in the variant's layout: built frames come channels_last, so NCHW
    # must be made NCHW here)
    x = evaluate.model_input(frames, model.data_config, numerics.channels_last)
    module = evaluate._module(model, numerics)
    autocast = (
        torch.autocast(x.device.type, dtype=torch.bfloat16) if numerics.bf16 else contextlib.nullcontext()
    )
    with torch.inference_mode(), autocast:
        module(x[:batch_size])  # warm-up (and compilation), for the full batch shape
        if x.shape[0] % batch_size:  # and for the last, smaller one (cuDNN sets up each new shape)
            module(x[-(x.shape[0] % batch_size) :])
        _sync(x.device)
        start = time.perf_counter()
        for i in range(0, x.shape[0], batch_size):
            module(x[i : i + batch_size])
        _sync(x.device)
    return time.perf_counter() - start


def time_runner(model, protocol, images, batch_size, numerics) -> tuple[float, object]:
    evaluate.evaluate_images(model, protocol, images[:1], batch_size=batch_size, numerics=numerics)  # warm-up
    _sync(model.device)
    start = time.perf_counter()
    table = evaluate.evaluate_images(model, protocol, images, batch_size=batch_size, numerics=numerics)
    _sync(model.device)
    return time.perf_counter() - start, table


def naive_pairs(
    model: models.LoadedModel, protocol: Translation, images: Sequence[SourceImage]
) -> list[tuple]:
    """The obvious implementation (as the official code): per image a PIL resize, then per pair two PIL
    pastes into black canvases, ToTensor, normalise, and a forward pass on a batch of two."""
    cfg = model.data_config
    n = cfg.input_size
    mean = torch.tensor(cfg.mean).view(3, 1, 1)
    std = torch.tensor(cfg.std).view(3, 1, 1)
    side = protocols.scaled(protocol.side, n)
    out = []
    for img in images:
        pil = Image.fromarray(img.pixels.permute(1, 2, 0).numpy())
        h, w = img.size
        size = (side, round(w * side / h)) if h <= w else (round(h * side / w), side)
        small = pil.resize((size[1], size[0]), Image.BICUBIC)
        pos = protocol.positions(img, size, n).tolist()

        def frame(y: int, x: int, small=small) -> torch.Tensor:
            canvas = Image.new("RGB", (n, n))
            canvas.paste(small, (x, y))
            t = torch.from_numpy(np.asarray(canvas).copy()).permute(2, 0, 1).float() / 255
            return (t - mean) / std

        for k in range(len(pos) - 1):
            batch = torch.stack([frame(*pos[k]), frame(*pos[k + 1])]).to(model.device)
            with torch.no_grad():
                p = torch.softmax(model.module(batch), dim=-1)
            top = int(p[0].argmax())
            out.append((top, int(p[1].argmax()), float(p[0, top]), float(p[1, top])))
    return out


def inpaint_vs_official(
    images: Sequence[SourceImage], canvas: int, device: torch.device, ref_frames: int, repeats: int
) -> dict:
    """The inpainting protocol's background: our batched `inpaint.fill` on every frame of the images at
    once (repeated) against the official per-frame SciPy code on the first ref_frames frames (once; it is
    slow), in seconds per frame."""
    protocol = Translation(background="inpaint")
    frames, covered = protocol.make_group(images, canvas, device)
    ours_s = []

    def ours_once() -> float:
        _sync(device)
        start = time.perf_counter()
        out = inpaint.fill(frames, covered)
        _sync(device)
        ours_s.append(out)
        return time.perf_counter() - start

    t_ours = alternate({"ours": ours_once}, repeats)["ours"]
    ours = ours_s[-1]
    m = min(ref_frames, len(frames))
    start = time.perf_counter()
    refs = [
        inpaint.official_fill(
            frames[i].cpu().double().permute(1, 2, 0).numpy(), covered[i, 0].cpu().double().numpy()
        )
        for i in range(m)
    ]
    t_ref = time.perf_counter() - start
    diff = max(float(np.abs(ours[i].cpu().permute(1, 2, 0).numpy() - refs[i]).max()) for i in range(m))
    per_frame = spread([t / len(frames) for t in t_ours])
    return {
        "frames": len(frames),
        "ours_s_per_frame": per_frame["median"],
        "ours_s_per_frame_spread": per_frame,
        "ours_s": t_ours,
        "official_frames": m,
        "official_s_per_frame": t_ref / m,
        "speedup": (t_ref / m) / per_frame["median"],
        "max_abs_diff": diff,
    }


def protocol_runs(
    model: models.LoadedModel, images: Sequence[SourceImage], batch: int, repeats: int
) -> list[dict]:
    """Per Table 1 protocol: the runner (decoded images -> pair table) against the network alone on the
    same frames pre-built, alternating, and the time to build the frames (decoded sources -> resized,
    placed, background filled)."""
    n, rows, numerics = model.data_config.input_size, [], evaluate.Numerics()
    for name, protocol in table1_protocols().items():

        def build(protocol=protocol) -> float:
            _sync(model.device)
            start = time.perf_counter()
            protocols.build_frames(protocol, images, n, model.data_config.mean, model.device)
            _sync(model.device)
            return time.perf_counter() - start

        frames = protocols.build_frames(protocol, images, n, model.data_config.mean, model.device)
        frames = frames.flatten(0, 1)
        times = alternate(
            {
                "forward": lambda frames=frames: time_forward(model, frames, batch, numerics),
                "runner": lambda protocol=protocol: time_runner(model, protocol, images, batch, numerics)[0],
                "build": build,
            },
            repeats,
        )
        rows.append(
            {
                "protocol": name,
                "frames": frames.shape[0],
                "forward_frames_per_s": rates(frames.shape[0], times["forward"]),
                "runner_frames_per_s": rates(frames.shape[0], times["runner"]),
                "runner_over_forward": ratios(times["forward"], times["runner"]),
                "build_s": spread(times["build"]),
                "forward_s": times["forward"],
                "runner_s": times["runner"],
            }
        )
    return rows


def shard_skip_reason(device: torch.device, procs: int) -> str | None:
    """Why one process vs a torchrun launch of `procs` cannot be compared on this device (None: it can).
    On CUDA each process needs its own GPU."""
    if procs < 2:
        return f"--shard-procs {procs}: a launch of one process has nothing to compare"
    gpus = torch.cuda.device_count() if device.type == "cuda" else None
    if gpus is not None and procs > gpus:
        return f"needs {procs} GPUs (one per process), this machine has {gpus}"
    return None


def error_line(stderr: str) -> str:
    """The line of a failed command's stderr that says what went wrong: the last `invariance: error:` line,
    else the last `SomethingError: ...` line (torchrun ends its report with a border of = signs), else the
    last line of text."""
    lines = [ln.strip() for ln in stderr.splitlines() if set(ln.strip()) - set("=- ")]
    ours = [ln for ln in lines if ln.startswith("invariance: error:")]
    raised = [ln for ln in lines if re.match(r"^[\w.]*(Error|Exception)\b", ln)]
    return (ours or raised or lines or ["no error output"])[-1]


def sharded_vs_one(
    model: str, n_images: int, procs: int, device: str, repeats: int, untrained: bool = False
) -> dict:
    """`invariance measure` (black protocol, n_images of the sample) as one process against a torchrun
    launch of `procs` processes, alternating, each run with an empty result cache: wall time of the whole
    command (process start, imports and model load included, as a user waits for it), images/s."""
    import subprocess
    import sys
    import tempfile
    from pathlib import Path

    args = ["-m", "invariance", "measure", "--model", model, "--images", "sample"]
    args += ["--n-images", str(n_images), "--protocol", "black", "--device", device]
    args += ["--untrained"] if untrained else []
    torchrun = str(Path(sys.executable).with_name("torchrun"))
    commands = {
        "one": [sys.executable, *args],
        "sharded": [torchrun, "--nproc_per_node", str(procs), *args],
    }

    def timer(command: list[str]) -> Callable[[], float]:
        def run() -> float:
            with tempfile.TemporaryDirectory() as tmp:
                env = {**os.environ, "INVARIANCE_CACHE": f"{tmp}/cache"}
                start = time.perf_counter()
                subprocess.run([*command, "--out", f"{tmp}/out"], check=True, capture_output=True, env=env)
                return time.perf_counter() - start

        return run

    try:
        times = alternate({name: timer(cmd) for name, cmd in commands.items()}, repeats)
    except subprocess.CalledProcessError as e:  # keep the rest of the bench's results: say why, go on
        reason = error_line((e.stderr or b"").decode(errors="replace"))
        return {"images": n_images, "processes": procs, "failed": f"{' '.join(e.cmd[:4])} ...: {reason}"}
    return {
        "images": n_images,
        "processes": procs,
        "one_process_s": times["one"],
        "sharded_s": times["sharded"],
        "one_process_images_per_s": rates(n_images, times["one"]),
        "sharded_images_per_s": rates(n_images, times["sharded"]),
        "sharded_over_one": ratios(times["one"], times["sharded"]),  # speed ratio
    }


def main(argv: Sequence[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="lite0")
    ap.add_argument("--untrained", action="store_true", help="random weights (paper networks offline)")
    ap.add_argument("--images", type=int, default=24)
    ap.add_argument("--naive-images", type=int, default=4, help="images for the (slow) naive reference")
    ap.add_argument("--batch", type=int, default=None, help="default: the device's (evaluate.DEFAULT_BATCH)")
    ap.add_argument("--device", default="auto")
    ap.add_argument("--compile", action="store_true", help="also time torch.compile (slow to compile on CPU)")
    ap.add_argument("--repeats", type=int, default=5, help="alternating rounds per timing (min/median/max)")
    ap.add_argument(
        "--costs-images",
        type=int,
        default=16,
        help="images for the per-protocol runs and the inpainting comparison (0: skip)",
    )
    ap.add_argument(
        "--official-frames", type=int, default=4, help="frames for the (slow) official inpainting"
    )
    ap.add_argument(
        "--shard-images", type=int, default=16, help="images for one process vs torchrun (0: skip)"
    )
    ap.add_argument("--shard-procs", type=int, default=2, help="torchrun processes for that comparison")
    ap.add_argument("--no-readme", action="store_true", help="do not rewrite the README's speed section")
    args = ap.parse_args(argv)
    config.set_numerics(0)
    device = torch.device(
        "cuda"
        if args.device == "auto" and torch.cuda.is_available()
        else ("cpu" if args.device == "auto" else args.device)
    )
    model = models.load(args.model, pretrained=not args.untrained, device=device)
    batch = args.batch or evaluate.default_batch_size(device)
    images = datasets.load_sample(args.images, seed=0)
    protocol = Translation(background="black")
    n, k = model.data_config.input_size, protocols.n_frames(protocol, model.data_config.input_size)
    frames_total, pairs_total = len(images) * k, len(images) * (k - 1)
    base = evaluate.Numerics()
    rows, ref_table = [], None
    variants = [
        (f"float32, channels_last, batch {batch} (default)", base, batch),
        ("float32, channels_last, batch 64", base, 64),
        (f"float32, NCHW, batch {batch}", dataclasses.replace(base, channels_last=False), batch),
        (f"bf16 autocast, channels_last, batch {batch}", dataclasses.replace(base, bf16=True), batch),
    ]
    if args.compile:
        variants.append(
            (
                f"float32, channels_last, compile, batch {batch}",
                dataclasses.replace(base, compile=True),
                batch,
            )
        )
    prebuilt = protocols.build_frames(protocol, images, n, model.data_config.mean, device).flatten(0, 1)
    for name, numerics, b in variants:
        _reset_peak(device)
        tables: list = []

        def run_once(numerics=numerics, b=b, tables=tables) -> float:
            t, table = time_runner(model, protocol, images, b, numerics)
            tables.append(table)
            return t

        times = alternate(
            {
                "forward": lambda numerics=numerics, b=b: time_forward(model, prebuilt, b, numerics),
                "runner": run_once,
            },
            args.repeats,
        )
        table = tables[-1]
        ref_table = table if ref_table is None else ref_table
        flips = int(((table.top1_a != ref_table.top1_a) | (table.top1_b != ref_table.top1_b)).sum())
        rows.append(
            {
                "variant": name,
                "forward_frames_per_s": rates(frames_total, times["forward"]),
                "runner_frames_per_s": rates(frames_total, times["runner"]),
                "runner_pairs_per_s": rates(pairs_total, times["runner"]),
                "runner_over_forward": ratios(times["forward"], times["runner"]),
                "forward_s": times["forward"],
                "runner_s": times["runner"],
                "top1_flips_vs_float32": flips,
                "pairs": pairs_total,
                "peak_memory_mb": _peak_mb(device),
            }
        )
    naive_imgs = images[: args.naive_images]
    naive_out = []

    def naive_once() -> float:
        start = time.perf_counter()
        naive_out.append(naive_pairs(model, protocol, naive_imgs))
        return time.perf_counter() - start

    t_naive = alternate({"naive": naive_once}, args.repeats)["naive"]
    naive = naive_out[-1]
    naive_rate = rates(len(naive), t_naive)
    ours = ref_table[ref_table.image_id.isin([i.id for i in naive_imgs])]
    agree = ours.top1_a.tolist() == [r[0] for r in naive] and ours.top1_b.tolist() == [r[1] for r in naive]
    cost_imgs = images[: args.costs_images]
    record = {
        "device": files.device_name(device),
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "model": model.label,
        "protocol": protocol.name,
        "canvas": n,
        "batch": batch,
        "images": len(images),
        "frames_per_image": k,
        "repeats": args.repeats,
        "variants": rows,
        "naive": {
            "images": len(naive_imgs),
            "pairs_per_s": naive_rate,
            "seconds": t_naive,
            "top1_agrees_with_runner": agree,
            "max_abs_p_diff": float(np.abs(ours.p_top_a.to_numpy() - [r[2] for r in naive]).max()),
        },
        "runner_speedup_over_naive": rows[0]["runner_pairs_per_s"]["median"] / naive_rate["median"],
        "protocols": protocol_runs(model, cost_imgs, batch, args.repeats) if cost_imgs else [],
        "inpainting": (
            inpaint_vs_official(cost_imgs, n, device, args.official_frames, args.repeats)
            if cost_imgs
            else None
        ),
        "sharding": sharding(args, device),
        "git": files.git_revision(),
        "when": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
    _print(record)
    out = paths.project_root() / "benchmarks" / "results"
    path = out / result_name(device, record["device"], args.model, protocol.name)
    files.atomic_write_text(path, json.dumps(record, indent=1))
    print(f"\nwritten: {path.relative_to(paths.project_root())}")
    if not args.no_readme:
        from invariance.report import readme  # the claims and matplotlib load only here

        if readme.update_readme():
            print("docs/speed.md: speed section rewritten from benchmarks/results/")
    return record


def sharding(args: argparse.Namespace, device: torch.device) -> dict | None:
    """The sharded comparison asked for by the arguments, or why it was skipped (None: not asked for)."""
    if not args.shard_images:
        return None
    reason = shard_skip_reason(device, args.shard_procs)
    if reason:
        print(f"one process vs torchrun: skipped ({reason})")
        return {"images": args.shard_images, "processes": args.shard_procs, "skipped": reason}
    return sharded_vs_one(
        args.model, args.shard_images, args.shard_procs, device.type, args.repeats, args.untrained
    )


def result_name(device: torch.device, device_name: str, model: str, protocol: str) -> str:
    """benchmarks/results file name of a run: <device type>-<device>-<model>-<protocol>.json."""
    slug = "".join(c if c.isalnum() else "-" for c in f"{device.type}-{device_name}")[:60]
    return f"{slug}-{model}-{protocol}.json"


def _print(r: dict) -> None:
    print(f"device: {r['device']} | torch {r['torch']} | {r['threads']} threads")
    print(
        f"model {r['model']} | protocol {r['protocol']} | canvas {r['canvas']} | "
        f"default batch {r['batch']} | {r['images']} images x {r['frames_per_image']} frames | "
        f"median [min-max] of {r['repeats']} alternating rounds"
    )
    print(
        f"{'variant':46s} {'forward fr/s':>22s} {'runner fr/s':>22s} {'runner/forward':>20s} {'flips':>5s} "
        f"{'MB':>6s}"
    )
    for v in r["variants"]:
        print(
            f"{v['variant']:46s} {median_range(v['forward_frames_per_s']):>22s} "
            f"{median_range(v['runner_frames_per_s']):>22s} "
            f"{median_range(v['runner_over_forward'], '.2f'):>20s} {v['top1_flips_vs_float32']:5d} "
            f"{v['peak_memory_mb']:6.0f}"
        )
    nv, default = r["naive"], r["variants"][0]
    print(
        f"naive (PIL paste per frame, batch of two): {median_range(nv['pairs_per_s'])} pairs/s "
        f"on {nv['images']} images"
    )
    print(
        f"runner: {median_range(default['runner_pairs_per_s'])} pairs/s, "
        f"speed-up x{r['runner_speedup_over_naive']:.1f} (medians)"
    )
    print(
        f"naive vs runner (PIL vs torch resize of the source): top-1 agrees {nv['top1_agrees_with_runner']}, "
        f"max |dp| {nv['max_abs_p_diff']:.2e}"
    )
    if r.get("protocols"):
        print("\nper Table 1 protocol (default batch, float32): runner against the forward pass alone")
        print(f"{'protocol':10s} {'frames':>7s} {'build s':>18s} {'runner/forward':>20s}")
        for c in r["protocols"]:
            print(
                f"{c['protocol']:10s} {c['frames']:7d} {median_range(c['build_s'], '.3f'):>18s} "
                f"{median_range(c['runner_over_forward'], '.2f'):>20s}"
            )
    sh = r.get("sharding")
    if sh and not shard_timed(sh):
        print(f"\ninvariance measure, one process vs torchrun x{sh['processes']}: {shard_outcome(sh)}")
    elif sh:
        print(
            f"\ninvariance measure on {sh['images']} images, whole command (start + load included): one "
            f"process {median_range(sh['one_process_images_per_s'], '.2f')} images/s, "
            f"torchrun x{sh['processes']} "
            f"{median_range(sh['sharded_images_per_s'], '.2f')} images/s "
            f"(speed ratio {median_range(sh['sharded_over_one'], '.2f')})"
        )
    if r.get("inpainting"):
        ip = r["inpainting"]
        ms = {k: v * 1000 for k, v in ip["ours_s_per_frame_spread"].items()}
        print(
            f"inpainting: ours {median_range(ms)} ms/frame ({ip['frames']} frames at once), "
            f"official SciPy per frame {ip['official_s_per_frame'] * 1000:.0f} ms/frame "
            f"({ip['official_frames']} frames): x{ip['speedup']:.1f}, max |diff| {ip['max_abs_diff']:.1e}"
        )


if __name__ == "__main__":
    main()
