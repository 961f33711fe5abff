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
import json
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from invariance.apps import profiles
from invariance.core import config, files, paths
from invariance.kernels import metrics
from invariance.runner import distributed, evaluate, protocols
from invariance.sources import datasets, models
from invariance.sources.images import SourceImage, load_images

log = logging.getLogger(__name__)

PROTOCOLS = ("crop", "black", "mean", "inpaint", "scale")
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".webp")


def load_image_set(spec: str, n: int | None, seed: int) -> list[SourceImage]:
    """`sample` (the offline ImageNet sample), a data set on the data search path or a folder (ImageNet-val
    layout: labelled; otherwise every image file, unlabelled), or a glob of image files; n seeded images
    (None: all)."""
    if spec == "sample":
        return datasets.load_sample(n, seed)
    if not spec.strip():  # Path("") is the current folder: never what an empty argument meant
        raise ValueError("--images is empty: give 'sample', a data set name, a folder, or a glob")
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
            if not candidate.is_dir():
                continue
            try:  # a val layout with bad labels or class folders is an error, not an unlabelled folder
                entries = datasets.val_entries(candidate, labels if labels.exists() else None)
            except datasets.NotValLayoutError:
                continue
            except paths.DataNotFoundError:  # val files, no labels.txt, no boxes data set to label them
                log.warning(
                    "%s: no labels.txt and no val boxes data set: the images are unlabelled", candidate
                )
                break
            return _load(entries, n, seed)
        found = sorted(p for p in folder.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES)
        root = folder
    else:
        found = sorted(
            Path(p) for p in glob.glob(spec, recursive=True) if Path(p).suffix.lower() in IMAGE_SUFFIXES
        )
        root = None
    if not found:
        raise FileNotFoundError(f"--images {spec!r}: no image files ({', '.join(IMAGE_SUFFIXES)}) found")
    return _load(
        [datasets.Entry(i, p, -1) for i, p in zip(unique_ids(found, root), found, strict=True)], n, seed
    )


def unique_ids(found: Sequence[Path], root: Path | None) -> list[str]:
    """Image ids for unlabelled files: the file names without suffix, or, where two files would share one
    (a/photo.jpg, b/photo.jpg, b/photo.png), every file's path (relative to root when given): results are
    per image id, so a shared id would silently merge different images."""
    stems = [p.stem for p in found]
    if len(set(stems)) == len(stems):
        return stems
    ids = [(p.relative_to(root) if root else p).as_posix() for p in found]
    twice = evaluate.repeated(ids)
    if twice:  # the same file twice (overlapping globs)
        raise ValueError(f"--images lists the same file more than once, e.g. {twice[0]}")
    return ids


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


def _count(text: str) -> int:
    """A whole number >= 0 (--n: 0 means all images; --seed)."""
    try:
        n = int(text)
    except ValueError:
        n = -1
    if n < 0:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number >= 0")
    return n


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
        type=_count,
        default=200,
        help="images (seeded subset; 0: all); under torchrun write --n-images",
    )
    m.add_argument("--steps", type=int, default=8, help="one-pixel steps per image (frames - 1)")
    m.add_argument("--seed", type=_count, default=0, help="seed of the image subset and the random positions")
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
    m.add_argument("--overwrite", action="store_true", help="replace another run's results in --out")
    m.add_argument("--figure", action="store_true", help="also save <out>/summary.png")
    m.add_argument("--debug", action="store_true", help="show the full traceback of an error")
    return top


def main(argv: Sequence[str] | None = None) -> int:
    """The command line: a user's mistake (a bad value, a missing file or weights) is one line on stderr and
    exit status 2; an interrupt says that finished work is kept (status 130); --debug shows tracebacks."""
    args = parser().parse_args(argv)
    try:
        return measure_command(args)
    except KeyboardInterrupt:
        if args.debug:
            raise
        print(
            "invariance: interrupted; finished chunks are kept in the result cache: run the same command "
            "again to resume from them",
            file=sys.stderr,
        )
        return 130
    except (ValueError, OSError, models.UnknownModelError, RuntimeError) as e:
        if args.debug:
            raise
        where = f" ({type(e).__name__}; --debug shows where)" if isinstance(e, RuntimeError) else ""
        print(f"invariance: error: {e}{where}", file=sys.stderr)
        return 2


RUN_SETTINGS = ("model", "weights", "untrained", "images", "n", "seed", "steps")


def run_settings(args: argparse.Namespace) -> dict:
    """The command's arguments as summary.json records them (paths as text)."""
    return {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()}


def check_out(out: Path, args: argparse.Namespace) -> list[Path]:
    """Before any computing: --out must be (or become) a writable folder, and must not hold another run's
    results unless --overwrite. Returns that run's files which this run will not replace (its other
    protocols' pairs, its figure when this run draws none), to delete once this run's results are written."""
    if out.exists() and not out.is_dir():
        raise ValueError(f"--out {out} is a file, not a folder: choose another --out")
    out.mkdir(parents=True, exist_ok=True)
    if not os.access(out, os.W_OK):
        raise PermissionError(f"--out {out} is not writable: choose another --out")
    ours = {f"pairs-{p}.csv" for p in args.protocol} | ({"summary.png"} if args.figure else set())
    earlier_files = sorted([*out.glob("pairs-*.csv"), *out.glob("summary.*")])
    stale = [p for p in earlier_files if p.name not in ours and p.name not in ("summary.csv", "summary.json")]
    if not earlier_files:
        return []
    try:
        earlier = json.loads((out / "summary.json").read_text())["settings"]
        now = run_settings(args)
        same = all(earlier.get(k) == now.get(k) for k in RUN_SETTINGS)
        same = same and not [p for p in stale if p.name.startswith("pairs-")]
    except (OSError, ValueError, KeyError, TypeError):
        same = False  # no readable record of the earlier run: treat it as another run
    if not same and not args.overwrite:
        raise FileExistsError(
            f"--out {out} holds the results of another run (other model, images, settings or protocols): "
            "choose another --out, or pass --overwrite to replace them"
        )
    return stale if args.overwrite else []  # the same run again keeps its figure when it draws none


def warn_small(images: Sequence[SourceImage], canvas: int, protocol_names: Sequence[str]) -> None:
    """Say when sources are far smaller than what the protocols make of them (enlarged more than 2x): the
    object of the embedding protocols (its side scaled to the canvas), or the whole canvas for crop."""
    chosen = [protocols.table1_protocols()[p] for p in protocol_names]
    target = max(
        canvas if isinstance(p, protocols.Crop) else protocols.scaled(p.side, canvas) for p in chosen
    )
    small = [img for img in images if min(img.size) < target // 2]
    if small:
        h, w = small[0].size
        log.warning(
            "%d of %d images have a shorter side under %d px, half the %d px these protocols make of them "
            "on a %d px canvas: they are enlarged more than 2x (e.g. %r, %dx%d)",
            len(small), len(images), target // 2, target, canvas, small[0].id, w, h,
        )  # fmt: skip


def measure_command(args: argparse.Namespace) -> int:
    """`invariance measure`: loads the network and images, checks the output folder, then measures (the long
    part), writes and prints."""
    config.set_numerics(args.seed)
    device = distributed.local_device(profiles.resolve_device(args.device))
    model = models.load(args.model, pretrained=not args.untrained, weights_path=args.weights, device=device)
    images = load_image_set(args.images, args.n if args.n > 0 else None, args.seed)
    stale = check_out(args.out, args)
    warn_small(images, model.data_config.input_size, args.protocol)
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
    record = files.provenance(
        {
            "settings": run_settings(args),
            "model": model.label,
            "weights": model.weights,
            "images": len(images),
        },
        device=device,
        summary=summary.to_dict("records"),
    )
    files.atomic_write_json(args.out / "summary.json", record)
    if args.figure:
        from invariance.claims import protocol_table  # matplotlib loads only when a figure is asked for
        from invariance.presentation import figures

        fig = protocol_table.plot_metric_bars(
            summary, ["p_top1_change", "mac", "accuracy"], list(args.protocol)
        )
        figures.stamp(fig, f"{model.label} | {len(images)} images ({args.images}) | 95% bootstrap CIs")
        fig.savefig(args.out / "summary.png", bbox_inches="tight")
    for path in stale:  # the earlier run's files this one did not replace (--overwrite), now its own are in
        path.unlink(missing_ok=True)
    shown = summary.set_index(["condition", "metric"])[["value", "ci_low", "ci_high", "pairs", "images"]]
    print(f"{model.label} ({model.weights}), {len(images)} images from {args.images!r}:")
    print(shown.round(4).to_string())
    print(f"results: {paths.shown(args.out)}/")
    return 0


if __name__ == "__main__":
    sys.exit(main())
