"""`invariance measure`: one network, some images, some protocols -> the per-pair tables and a summary.

    invariance measure --model lite0 --images sample --n 20 --protocol black
    python -m invariance measure --model convnext_tiny.fb_in1k --weights model.safetensors --images photos/

Writes <out>/pairs-<protocol>.csv (one row per pair of consecutive frames), <out>/summary.csv and
<out>/summary.json (P(top-1 change), MAC, change of the correct class, accuracy, Zhang's consistency over
the frames of each path; 95% bootstrap CIs over images; settings and provenance), prints the summary, and
with --figure saves <out>/summary.png.
"""

from __future__ import annotations

import argparse
import glob
import sys
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from . import config, datasets, distributed, evaluate, files, metrics, models, paths, profiles, protocols
from .images import SourceImage, load_images

PROTOCOLS = ("crop", "black", "mean", "inpaint", "scale")
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".webp")


def load_image_set(spec: str, n: int | None, seed: int) -> list[SourceImage]:
    """`sample` (the offline ImageNet sample), a data set on the data search path or a folder (ImageNet-val
    layout: labelled; otherwise every image file, unlabelled), or a glob of image files; n seeded images
    (None: all)."""
    if spec == "sample":
        return datasets.load_sample(n, seed)
    folder = Path(spec).expanduser()
    if not folder.is_dir() and not any(c in spec for c in "*?["):
        try:
            folder = paths.find_data(spec)
        except paths.DataNotFoundError:
            raise FileNotFoundError(
                f"--images {spec!r} is not 'sample', a data set on the search path, a folder, or a glob "
                "matching image files."
            ) from None
    if folder.is_dir():
        labels = folder / "labels.txt"
        for candidate in (folder, folder / "images"):
            try:
                entries = datasets.val_entries(candidate, labels if labels.exists() else None)
            except (FileNotFoundError, ValueError):
                continue
            return _load(entries, n, seed)
        found = sorted(p for p in folder.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES)
    else:
        found = sorted(
            Path(p) for p in glob.glob(spec, recursive=True) if Path(p).suffix.lower() in IMAGE_SUFFIXES
        )
    if not found:
        raise FileNotFoundError(f"--images {spec!r}: no image files ({', '.join(IMAGE_SUFFIXES)}) found")
    entries = [datasets.Entry(p.stem, p, -1) for p in found]
    return _load(entries, n, seed)


def _load(entries: Sequence[datasets.Entry], n: int | None, seed: int) -> list[SourceImage]:
    chosen = datasets.subset(entries, n, seed)
    images, _ = load_images((e.id, e.path, e.label) for e in chosen)
    return images


def measure(
    model: models.LoadedModel,
    images: Sequence[SourceImage],
    protocol_names: Sequence[str],
    *,
    steps: int = 8,
    seed: int = 0,
    batch_size: int | None = None,
    chunk_images: int | None = None,
) -> tuple[dict[str, pd.DataFrame], pd.DataFrame]:
    """Pair tables {protocol: table} and their summary (metrics.summary_table) for one network. Under
    torchrun the images are sharded across ranks (distributed.run); ranks other than 0 get ({}, empty)."""
    chosen = protocols.table1_protocols(steps=steps, seed=seed)
    unknown = [p for p in protocol_names if p not in chosen]
    if unknown:
        raise ValueError(f"unknown protocol(s) {unknown}; choose from {', '.join(chosen)}")
    # under torchrun: this rank's shard, and rank 0 gets the merged tables (other ranks None)
    run = distributed.run if distributed.launched() else evaluate.run
    tables = {
        p: run(model, chosen[p], images, batch_size=batch_size, chunk_images=chunk_images)
        for p in protocol_names
    }
    if any(t is None for t in tables.values()):
        return {}, pd.DataFrame()
    summary = metrics.summary_table({(model.label, p): t for p, t in tables.items()})
    zhang = [
        {"model": model.label, "condition": p, **metrics.consistency_summary(t)} for p, t in tables.items()
    ]
    summary = pd.concat([summary, pd.DataFrame(zhang)], ignore_index=True)
    return tables, summary


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="invariance", description="One-pixel robustness of image classifiers.")
    sub = top.add_subparsers(dest="command", required=True)
    m = sub.add_parser(
        "measure", help="measure one network on images under one-pixel protocols", description=__doc__
    )
    m.add_argument(
        "--model", required=True, help="registered name (lite0, resnet50, ...) or any timm model name"
    )
    weights = m.add_mutually_exclusive_group()
    weights.add_argument(
        "--weights", type=Path, help="a weights file (state dict / safetensors) for the model"
    )
    weights.add_argument(
        "--untrained", action="store_true", help="random weights (results labelled untrained)"
    )
    m.add_argument(
        "--images",
        default="sample",
        help="'sample', a data set name on the data search path, a folder, or a glob",
    )
    m.add_argument(
        "--protocol", nargs="+", default=["black"], choices=PROTOCOLS, help="one or more protocols"
    )
    m.add_argument(
        "--n",
        "--n-images",
        dest="n",
        type=int,
        default=200,
        help="images (seeded subset; 0: all); under torchrun write --n-images",
    )
    m.add_argument("--steps", type=int, default=8, help="one-pixel steps per image (frames - 1)")
    m.add_argument("--seed", type=int, default=0, help="seed of the image subset and the random positions")
    m.add_argument("--device", default="cpu", help="cpu, cuda, or auto")
    m.add_argument(
        "--batch-size", type=int, default=None, help="frames per forward pass (default: the device's)"
    )
    m.add_argument(
        "--chunk-images",
        type=int,
        default=None,
        help="images per cached chunk: an interrupted run resumes from its last finished chunk "
        "(default: about 50, rounded up so that a chunk's frames fill whole batches)",
    )
    m.add_argument("--out", type=Path, default=Path("invariance-results"), help="folder for the result files")
    m.add_argument("--figure", action="store_true", help="also save <out>/summary.png")
    return top


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    config.set_numerics(args.seed)
    device = distributed.local_device(profiles.resolve_device(args.device))
    model = models.load(args.model, pretrained=not args.untrained, weights_path=args.weights, device=device)
    images = load_image_set(args.images, args.n if args.n > 0 else None, args.seed)
    tables, summary = measure(
        model,
        images,
        args.protocol,
        steps=args.steps,
        seed=args.seed,
        batch_size=args.batch_size,
        chunk_images=args.chunk_images,
    )
    distributed.finish()
    if not tables:  # a rank other than 0 of a sharded run: rank 0 writes and prints
        return 0
    args.out.mkdir(parents=True, exist_ok=True)
    for name, table in tables.items():
        files.atomic_write_csv(args.out / f"pairs-{name}.csv", table)
    files.atomic_write_csv(args.out / "summary.csv", summary)
    settings = {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()}
    record = files.provenance(
        {"settings": settings, "model": model.label, "weights": model.weights, "images": len(images)},
        device=device,
        summary=summary.to_dict("records"),
    )
    files.atomic_write_json(args.out / "summary.json", record)
    if args.figure:
        from . import plotting

        fig = plotting.metric_bars(summary, ["p_top1_change", "mac", "accuracy"], list(args.protocol))
        plotting.stamp(fig, f"{model.label} | {len(images)} images ({args.images}) | 95% bootstrap CIs")
        fig.savefig(args.out / "summary.png", bbox_inches="tight")
    shown = summary.set_index(["condition", "metric"])[["value", "ci_low", "ci_high", "pairs", "images"]]
    print(f"{model.label} ({model.weights}), {len(images)} images from {args.images!r}:")
    print(shown.round(4).to_string())
    print(f"results: {paths.shown(args.out)}/")
    return 0


if __name__ == "__main__":
    sys.exit(main())
