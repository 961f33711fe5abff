"""`invariance measure`: one network, some images, some protocols -> the per-pair tables and a summary.

    invariance measure --model lite0 --images sample --n 20 --protocol black
    python -m invariance measure --model convnext_tiny.fb_in1k --weights model.safetensors --images photos/
    invariance measure --model lite0 --protocol crop --remedy select   # canonical crop selection at inference

Writes <out>/pairs-<protocol>.csv (one row per pair of consecutive frames), <out>/summary.csv and
<out>/summary.json (P(top-1 change), MAC, change of the correct class, accuracy, Zhang's consistency over
the frames of each path; 95% bootstrap CIs over images; settings and provenance), prints the summary, and
with --figure saves <out>/summary.png. --remedy runs the network through an inference-time remedy
(runner/inference.py: `average` = softmax averaged over 9 shifted windows, `select` = canonical crop
selection after Shifman & Weiss 2024, `centre` = the plain network on the remedies' smaller window), each on
windows of side N - 2 x --remedy-radius.

One run at a time writes to an --out folder: <out>/.invariance-run.json records the settings of the run
that last started there (so an interrupted run is recognised and resumed by the same command) and is locked
(flock) while that run lives; a second run is refused. Image discovery follows symlinked files and folders,
measures each real file once, and never reads a figure a run wrote (summary.png of an --out) as an input.
"""

from __future__ import annotations

import argparse
import contextlib
import fnmatch
import glob
import json
import logging
import os
import socket
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

import pandas as pd

from invariance.apps import profiles
from invariance.core import config, files, paths
from invariance.kernels import metrics
from invariance.runner import distributed, evaluate, inference, protocols
from invariance.sources import datasets, models
from invariance.sources.images import SourceImage, load_images

log = logging.getLogger(__name__)

PROTOCOLS = ("crop", "black", "mean", "inpaint", "scale")
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".webp")


def load_image_set(spec: str, n: int | None, seed: int, out: Path | None = None) -> list[SourceImage]:
    """`sample` (the offline ImageNet sample), a data set on the data search path or a folder (ImageNet-val
    layout: labelled; otherwise every image file, unlabelled), or a glob of image files; n seeded images
    (None: all). Symlinks are followed, each real file is read once (`image_files`), and figures written by
    runs (`is_run_output`; out: this run's --out) are never inputs."""
    if spec == "sample":
        return datasets.load_sample(n, seed)
    if not spec.strip():  # Path("") is the current folder: never what an empty argument meant
        raise ValueError("--images is empty: give 'sample', a data set name, a folder, or a glob")
    folder = Path(spec).expanduser()
    if not folder.is_dir() and not glob.has_magic(spec):
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
        found, root = image_files(walk_files(folder), out), folder
    else:
        found, root = image_files(glob_files(spec), out), None
    if not found:
        raise FileNotFoundError(f"--images {spec!r}: no image files ({', '.join(IMAGE_SUFFIXES)}) found")
    return _load(
        [datasets.Entry(i, p, -1) for i, p in zip(unique_ids(found, root), found, strict=True)], n, seed
    )


def walk_files(top: Path) -> list[Path]:
    """Every file under top, symlinked sub-folders followed, each real folder walked once (a `loop -> .`
    link adds nothing), in a fixed (sorted) order."""
    seen: set[str] = set()
    found = []
    for folder, dirs, names in os.walk(top, followlinks=True):
        real = os.path.realpath(folder)
        if real in seen:
            dirs.clear()  # a link back to a folder walked already: its files are listed
            continue
        seen.add(real)
        dirs.sort()
        found += [Path(folder) / name for name in names]
    return sorted(found)


def glob_files(spec: str) -> list[Path]:
    """The files a glob matches, as glob.glob(spec, recursive=True) but with `**` walked by `walk_files`
    (glob's own `**` follows a `loop -> .` link 40 levels deep, once per level)."""
    if "**" not in Path(spec).parts:
        return sorted(Path(p) for p in glob.glob(spec) if os.path.isfile(p))  # fixed depth: no loops
    parts = Path(spec).parts
    fixed = next(i for i, part in enumerate(parts) if glob.has_magic(part))  # the folder to walk
    top = Path(*parts[:fixed]) if fixed else Path(".")
    found = walk_files(top) if top.is_dir() else []
    return [p for p in found if _matches(parts[fixed:], p.relative_to(top).parts)]


def _matches(pattern: Sequence[str], names: Sequence[str]) -> bool:
    """Whether path components match glob components (`**`: any number of folders), as glob.glob: names
    starting with '.' are matched only by a component that starts with '.'."""
    if not pattern:
        return not names
    if pattern[0] == "**":
        return any(
            _matches(pattern[1:], names[k:]) and not any(n.startswith(".") for n in names[:k])
            for k in range(len(names) + 1)
        )
    return (
        bool(names)
        and fnmatch.fnmatchcase(names[0], pattern[0])
        and (pattern[0].startswith(".") or not names[0].startswith("."))
        and _matches(pattern[1:], names[1:])
    )


def image_files(files: Sequence[Path], out: Path | None = None) -> list[Path]:
    """The image files among files, each real file once (the first path in sorted order names it), without
    the figures runs wrote (`is_run_output`); a warning says how many paths were left out and why."""
    chosen: dict[str, Path] = {}
    twins, outputs = [], []
    for path in sorted(p for p in files if p.suffix.lower() in IMAGE_SUFFIXES):
        real = os.path.realpath(path)
        if is_run_output(path, out):
            outputs.append(path)
        elif real in chosen:
            twins.append((path, chosen[real]))
        else:
            chosen[real] = path
    if twins:
        log.warning(
            "%d paths lead to files already listed (symlinks, e.g. %s -> %s): each file is measured once",
            len(twins), twins[0][0], twins[0][1],
        )  # fmt: skip
    if outputs:
        log.warning("Not reading %d figures that invariance runs wrote, e.g. %s", len(outputs), outputs[0])
    return list(chosen.values())


def is_run_output(path: Path, out: Path | None = None) -> bool:
    """Whether an image file is a figure an `invariance measure` run wrote: summary.png in out, or in a
    folder holding a run record (or, from before run records, a summary.json and pairs tables)."""
    if path.name != "summary.png":  # the only image file a run writes
        return False
    folder = path.parent
    if out is not None and os.path.realpath(folder) == os.path.realpath(out):
        return True
    return (folder / RUN_RECORD).exists() or (
        (folder / "summary.json").exists() and any(folder.glob("pairs-*.csv"))
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
    check_protocol_steps(protocol_names, steps)
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
    m.add_argument(
        "--remedy",
        choices=inference.REMEDIES,
        default=None,
        help="run the network through an inference-time remedy: average (9 shifted windows), select "
        "(canonical crop selection), or centre (the plain network on the same smaller window)",
    )
    m.add_argument(
        "--remedy-radius",
        type=int,
        default=None,
        help="the remedy's windows have side N - 2 x radius and move up to 2 x radius px (default 16)",
    )
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


RUN_SETTINGS = ("model", "weights", "untrained", "images", "n", "seed", "steps", "remedy", "remedy_radius")
RUN_RECORD = ".invariance-run.json"  # in --out: the settings of the run that last started there; its lock


def run_settings(args: argparse.Namespace) -> dict:
    """The command's arguments as summary.json and the run record hold them (paths as text)."""
    return {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()}


def summary_record(args: argparse.Namespace, model_label: str, weights: str, images: int, **extra) -> dict:
    """What summary.json holds: the settings, the network, the image count, provenance and extra."""
    cfg = {"settings": run_settings(args), "model": model_label, "weights": weights, "images": images}
    return files.provenance(cfg, **extra)


def earlier_settings(out: Path) -> dict | None:
    """The settings of the run whose results --out holds: from the run record (written when a run starts,
    so an interrupted run is known too), else from summary.json (folders from before run records); None
    when neither can be read."""
    readers = (
        lambda: json.loads((out / RUN_RECORD).read_text())["settings"],
        lambda: json.loads((out / "summary.json").read_text())["config"]["settings"],
    )
    for read in readers:
        try:
            settings = read()
        except (OSError, ValueError, KeyError, TypeError):
            continue  # missing, empty (a lock never written) or damaged: try the next
        if isinstance(settings, dict):
            return settings
    return None


def prepare_out(out: Path) -> None:
    """--out must be (or become) a writable folder."""
    if out.exists() and not out.is_dir():
        raise ValueError(f"--out {out} is a file, not a folder: choose another --out")
    out.mkdir(parents=True, exist_ok=True)
    if not os.access(out, os.W_OK):
        raise PermissionError(f"--out {out} is not writable: choose another --out")


def check_out(out: Path, args: argparse.Namespace) -> list[Path]:
    """Before any computing: --out must be (or become) a writable folder, and must not hold another run's
    results unless --overwrite. The same command again (finished or interrupted) may write there. Returns
    that run's files which this run will not replace (its other protocols' pairs, its figure when this run
    draws none), to delete once this run's results are written."""
    prepare_out(out)
    ours = {f"pairs-{p}.csv" for p in args.protocol} | ({"summary.png"} if args.figure else set())
    earlier_files = sorted([*out.glob("pairs-*.csv"), *out.glob("summary.*")])
    stale = [p for p in earlier_files if p.name not in ours and p.name not in ("summary.csv", "summary.json")]
    if not earlier_files:
        return []
    earlier, now = earlier_settings(out), run_settings(args)
    same = earlier is not None and all(earlier.get(k) == now.get(k) for k in RUN_SETTINGS)
    same = same and not [p for p in stale if p.name.startswith("pairs-")]
    if not same and not args.overwrite:
        raise FileExistsError(
            f"--out {out} holds the results of another run (other model, images, settings or protocols): "
            "choose another --out, or pass --overwrite to replace them"
        )
    return stale if args.overwrite else []  # the same run again keeps its figure when it draws none


@contextlib.contextmanager
def claim_out(out: Path, args: argparse.Namespace) -> Iterator[list[Path]]:
    """Hold --out for this run: lock its run record (another live run there is refused: two runs would
    leave a folder of mixed results), check_out, remove temporaries of killed writes, and record this
    run's settings (so that if it is interrupted, the same command resumes). Yields check_out's list."""
    prepare_out(out)
    record = out / RUN_RECORD
    with contextlib.ExitStack() as stack:
        try:
            fd = stack.enter_context(files.exclusive_lock(record, wait=False))
        except files.FolderBusyError:
            raise files.FolderBusyError(
                f"--out {out} is in use by another invariance run{_holder(record)}: wait for it to finish, "
                "or choose another --out"
            ) from None
        stale = check_out(out, args)
        files.remove_temporaries(out, targets=("pairs-*.csv", "summary.*"))  # no live write: we hold the lock
        started = {
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        }
        files.rewrite_locked(fd, json.dumps({"settings": run_settings(args), **started}, indent=1))
        yield stale


def _holder(record: Path) -> str:
    """' (process N on host, started T)' from a locked run record, or '' when it cannot be read."""
    try:
        held = json.loads(record.read_text())
        return f" (process {held['pid']} on {held['host']}, started {held['started']})"
    except (OSError, ValueError, KeyError, TypeError):
        return ""


def check_protocol_steps(protocol_names: Sequence[str], steps: int) -> None:
    """ValueError, in the command line's terms, for --steps that --protocol crop cannot take: its windows
    move one pixel per step inside a crop rescaled `margin` px larger than the canvas."""
    margin = protocols.Crop.margin
    if "crop" in protocol_names and steps > margin:
        raise ValueError(
            f"--protocol crop takes at most --steps {margin} (its crop is rescaled {margin} px larger than "
            f"the canvas and the window moves one pixel per step), not {steps}: lower --steps or drop crop"
        )


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
    """`invariance measure`: loads the network and images, claims the output folder, then measures (the long
    part), writes and prints. Under torchrun only rank 0 claims --out and writes."""
    config.set_numerics(args.seed)
    check_protocol_steps(args.protocol, args.steps)
    device = distributed.local_device(profiles.resolve_device(args.device))
    model = models.load(args.model, pretrained=not args.untrained, weights_path=args.weights, device=device)
    if args.remedy_radius is not None and args.remedy is None:
        raise ValueError("--remedy-radius needs --remedy (average, select or centre)")
    if args.remedy is not None:
        inference.window_side(model.data_config.input_size, args.remedy_radius or 16)  # fits the input
        model = inference.with_remedy(model, args.remedy, radius=args.remedy_radius or 16)
    images = load_image_set(args.images, args.n if args.n > 0 else None, args.seed, out=args.out)
    writer = distributed.writes_results()
    with claim_out(args.out, args) if writer else contextlib.nullcontext([]) as stale:
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
        write_results(args, model, images, tables, summary, device, stale)
    shown = summary.set_index(["condition", "metric"])[["value", "ci_low", "ci_high", "pairs", "images"]]
    print(f"{model.label} ({model.weights}), {len(images)} images from {args.images!r}:")
    print(shown.round(4).to_string())
    print(f"results: {paths.shown(args.out)}/")
    return 0


def write_results(
    args: argparse.Namespace,
    model: models.LoadedModel,
    images: Sequence[SourceImage],
    tables: dict[str, pd.DataFrame],
    summary: pd.DataFrame,
    device: str,
    stale: Sequence[Path],
) -> None:
    """The pairs tables, summary.csv, summary.json, the figure (--figure), each written atomically; then the
    earlier run's files this one did not replace (--overwrite) go."""
    for name, table in tables.items():
        files.atomic_write_csv(args.out / f"pairs-{name}.csv", table)
    files.atomic_write_csv(args.out / "summary.csv", summary)
    record = summary_record(
        args, model.label, model.weights, len(images), device=device, summary=summary.to_dict("records")
    )
    files.atomic_write_json(args.out / "summary.json", record)
    if args.figure:
        from invariance.claims import protocol_table  # matplotlib loads only when a figure is asked for
        from invariance.presentation import figures

        fig = protocol_table.plot_metric_bars(
            summary, ["p_top1_change", "mac", "accuracy"], list(args.protocol)
        )
        figures.stamp(fig, f"{model.label} | {len(images)} images ({args.images}) | 95% bootstrap CIs")
        with files.atomic_writer(args.out / "summary.png") as f:
            fig.savefig(f, format="png", bbox_inches="tight")
    for path in stale:
        path.unlink(missing_ok=True)


if __name__ == "__main__":
    sys.exit(main())
