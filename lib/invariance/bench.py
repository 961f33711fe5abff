"""`make bench`: how fast the evaluation runs, against the model's own forward speed and the naive way.

Printed side by side, one run, same device and batch size:
  forward   the model alone on pre-built, normalised input tensors (the ceiling), frames/s
  runner    evaluate_images(): decoded sources -> frames -> forward -> per-pair table, frames/s and pairs/s
  naive     the official code's way: per pair, PIL paste of each frame, ToTensor, normalise, a batch of two
plus variants (channels_last, bf16 autocast, torch.compile) with top-1 flips against float32.
Results go to benchmarks/results/<device>-<model>-<protocol>.json.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import resource
import time
from collections.abc import Sequence

import numpy as np
import torch
from PIL import Image

from . import config, datasets, evaluate, files, inpaint, models, paths, protocols
from .images import SourceImage
from .protocols import Translation, table1_protocols


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


def time_forward(
    model: models.LoadedModel, frames: torch.Tensor, batch_size: int, numerics: evaluate.Numerics
) -> float:
    """Seconds for the model alone over frames (M, 3, N, N), pre-normalised, in batches."""
    x = models.normalize(frames, model.data_config)
    if numerics.channels_last:
        x = x.contiguous(memory_format=torch.channels_last)
    module = evaluate._module(model, numerics)
    autocast = (
        torch.autocast(x.device.type, dtype=torch.bfloat16) if numerics.bf16 else contextlib.nullcontext()
    )
    with torch.inference_mode(), autocast:
        module(x[:batch_size])  # warm-up (and compilation)
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
    once against the official per-frame SciPy code on the first ref_frames frames (seconds per frame)."""
    protocol = Translation(background="inpaint")
    built = [protocol.make_frames(img, canvas, device) for img in images]
    frames, covered = torch.cat([f for f, _ in built]), torch.cat([c for _, c in built])
    t_ours = float("inf")
    for _ in range(repeats):
        _sync(device)
        start = time.perf_counter()
        ours = inpaint.fill(frames, covered)
        _sync(device)
        t_ours = min(t_ours, time.perf_counter() - start)
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
    return {
        "frames": len(frames),
        "ours_s_per_frame": t_ours / len(frames),
        "official_frames": m,
        "official_s_per_frame": t_ref / m,
        "speedup": (t_ref / m) / (t_ours / len(frames)),
        "max_abs_diff": diff,
    }


def protocol_costs(model: models.LoadedModel, images: Sequence[SourceImage], batch: int) -> list[dict]:
    """Where the runner's time goes, per Table 1 protocol: building the frames (decoded sources ->
    resized, placed, background filled) against the network's forward pass on them."""
    n, rows = model.data_config.input_size, []
    for name, protocol in table1_protocols().items():
        _sync(model.device)
        start = time.perf_counter()
        frames = protocols.build_frames(protocol, images, n, model.data_config.mean, model.device)
        _sync(model.device)
        t_build = time.perf_counter() - start
        t_fwd = time_forward(model, frames.flatten(0, 1), batch, evaluate.Numerics())
        rows.append(
            {
                "protocol": name,
                "frames": frames.shape[0] * frames.shape[1],
                "build_s": t_build,
                "forward_s": t_fwd,
                "build_share": t_build / (t_build + t_fwd),
            }
        )
    return rows


def main(argv: Sequence[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="lite0")
    ap.add_argument("--untrained", action="store_true", help="random weights (paper networks offline)")
    ap.add_argument("--images", type=int, default=24)
    ap.add_argument("--naive-images", type=int, default=4, help="images for the (slow) naive reference")
    ap.add_argument("--batch", type=int, default=None, help="default: the device's (evaluate.DEFAULT_BATCH)")
    ap.add_argument("--device", default="auto")
    ap.add_argument("--compile", action="store_true", help="also time torch.compile (slow to compile on CPU)")
    ap.add_argument("--repeats", type=int, default=3, help="timings are the best of this many runs")
    ap.add_argument(
        "--costs-images",
        type=int,
        default=8,
        help="images for the per-protocol cost split and the inpainting comparison (0: skip)",
    )
    ap.add_argument(
        "--official-frames", type=int, default=4, help="frames for the (slow) official inpainting"
    )
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
        # Best of several runs, forward and runner alternating, so that CPU noise hits both alike.
        t_fwd, t_run = float("inf"), float("inf")
        for _ in range(args.repeats):
            t_fwd = min(t_fwd, time_forward(model, prebuilt, b, numerics))
            t, table = time_runner(model, protocol, images, b, numerics)
            t_run = min(t_run, t)
        ref_table = table if ref_table is None else ref_table
        flips = int(((table.top1_a != ref_table.top1_a) | (table.top1_b != ref_table.top1_b)).sum())
        rows.append(
            {
                "variant": name,
                "forward_frames_per_s": frames_total / t_fwd,
                "runner_frames_per_s": frames_total / t_run,
                "runner_pairs_per_s": pairs_total / t_run,
                "runner_over_forward": t_fwd / t_run,
                "top1_flips_vs_float32": flips,
                "pairs": pairs_total,
                "peak_memory_mb": _peak_mb(device),
            }
        )
    naive_imgs = images[: args.naive_images]
    t_naive = float("inf")
    for _ in range(args.repeats):
        start = time.perf_counter()
        naive = naive_pairs(model, protocol, naive_imgs)
        t_naive = min(t_naive, time.perf_counter() - start)
    naive_pairs_per_s = len(naive) / t_naive
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
            "pairs_per_s": naive_pairs_per_s,
            "top1_agrees_with_runner": agree,
            "max_abs_p_diff": float(np.abs(ours.p_top_a.to_numpy() - [r[2] for r in naive]).max()),
        },
        "runner_speedup_over_naive": rows[0]["runner_pairs_per_s"] / naive_pairs_per_s,
        "protocol_costs": protocol_costs(model, cost_imgs, batch) if cost_imgs else [],
        "inpainting": (
            inpaint_vs_official(cost_imgs, n, device, args.official_frames, args.repeats)
            if cost_imgs
            else None
        ),
        "git": files.git_revision(),
        "when": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
    _print(record)
    out = paths.project_root() / "benchmarks" / "results"
    slug = "".join(c if c.isalnum() else "-" for c in f"{device.type}-{record['device']}")[:60]
    path = out / f"{slug}-{args.model}-{protocol.name}.json"
    files.atomic_write_text(path, json.dumps(record, indent=1))
    print(f"\nwritten: {path.relative_to(paths.project_root())}")
    return record


def _print(r: dict) -> None:
    print(f"device: {r['device']} | torch {r['torch']} | {r['threads']} threads")
    print(
        f"model {r['model']} | protocol {r['protocol']} | canvas {r['canvas']} | "
        f"default batch {r['batch']} | {r['images']} images x {r['frames_per_image']} frames"
    )
    print(
        f"{'variant':46s} {'forward fr/s':>12s} {'runner fr/s':>12s} {'ratio':>6s} {'flips':>6s} {'MB':>8s}"
    )
    for v in r["variants"]:
        print(
            f"{v['variant']:46s} {v['forward_frames_per_s']:12.1f} {v['runner_frames_per_s']:12.1f} "
            f"{v['runner_over_forward']:6.2f} {v['top1_flips_vs_float32']:6d} {v['peak_memory_mb']:8.0f}"
        )
    nv, default = r["naive"], r["variants"][0]
    print(
        f"naive (PIL paste per frame, batch of two): {nv['pairs_per_s']:.1f} pairs/s on {nv['images']} images"
    )
    print(
        f"runner: {default['runner_pairs_per_s']:.1f} pairs/s, speed-up x{r['runner_speedup_over_naive']:.1f}"
    )
    print(
        f"naive vs runner (PIL vs torch resize of the source): top-1 agrees {nv['top1_agrees_with_runner']}, "
        f"max |dp| {nv['max_abs_p_diff']:.2e}"
    )
    if r.get("protocol_costs"):
        print("\nwhere the time goes (frame building vs forward, default batch, float32):")
        print(f"{'protocol':10s} {'frames':>7s} {'build s':>8s} {'forward s':>10s} {'build share':>12s}")
        for c in r["protocol_costs"]:
            print(
                f"{c['protocol']:10s} {c['frames']:7d} {c['build_s']:8.2f} {c['forward_s']:10.2f} "
                f"{c['build_share']:12.1%}"
            )
    if r.get("inpainting"):
        ip = r["inpainting"]
        print(
            f"inpainting: ours {ip['ours_s_per_frame'] * 1000:.0f} ms/frame ({ip['frames']} frames at once), "
            f"official SciPy per frame {ip['official_s_per_frame'] * 1000:.0f} ms/frame "
            f"({ip['official_frames']} frames): x{ip['speedup']:.1f}, max |diff| {ip['max_abs_diff']:.1e}"
        )


if __name__ == "__main__":
    main()
