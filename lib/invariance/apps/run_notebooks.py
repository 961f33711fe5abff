"""`make figures`: execute every notebook with papermill in one profile, in order, and time each.

Executed copies go to build/notebooks/<profile>/; in the default profile they are also written, for readers,
to notebooks/executed/ (committed, with the digest of the source cells they ran, and no absolute paths),
while the notebooks in notebooks/ stay output-free. Figures go where the notebooks' save_figure() puts them
(figures/, or build/figures-smoke/ for the smoke profile). Progress prints as plain lines in these runs.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import time
import unittest.mock
from collections.abc import Sequence
from pathlib import Path

from invariance.apps.explore import NONINTERACTIVE_ENV
from invariance.core import files, paths
from invariance.core.progress import PROGRESS_ENV

EXECUTED_PROFILE = "default"  # the profile whose executed copies are committed


def executed_dir() -> Path:
    """Where the committed, executed copies of the notebooks live (default profile)."""
    return paths.project_root() / "notebooks" / "executed"


def source_digest(path: Path) -> str:
    """SHA-256 of a notebook's cells (type and source, in order): what an executed copy must have run."""
    cells = json.loads(Path(path).read_text())["cells"]
    text = json.dumps([[c["cell_type"], "".join(c["source"])] for c in cells])
    return hashlib.sha256(text.encode()).hexdigest()


def publish_executed(source: Path, executed: Path) -> Path:
    """Copy an executed notebook to executed_dir(), stamped with source_digest(source), with the machine's
    absolute paths (papermill's input/output paths, the project root in any output) made relative."""
    root = str(paths.project_root().resolve())
    text = executed.read_text().replace(root + "/", "").replace(root, ".")
    nb = json.loads(text)
    meta = nb["metadata"].get("papermill", {})
    for key in ("input_path", "output_path"):
        if key in meta:
            meta[key] = Path(meta[key]).name
    stamp = {"source": f"notebooks/{source.name}", "source_sha256": source_digest(source)}
    nb["metadata"]["invariance"] = stamp
    target = executed_dir() / source.name
    files.atomic_write_text(target, json.dumps(nb, indent=1, ensure_ascii=False) + "\n")
    return target


def notebooks() -> list[Path]:
    """The numbered notebooks, in order."""
    return sorted((paths.project_root() / "notebooks").glob("[0-9][0-9]_*.ipynb"))


def run_notebook(path: Path, profile: str, out_dir: Path, **parameters) -> float:
    """Execute one notebook with papermill; returns its wall time in seconds."""
    import papermill

    out_dir.mkdir(parents=True, exist_ok=True)
    # The kernel inherits these (plain progress lines in the stored outputs; explorers draw a static figure
    # instead of widgets); the calling process gets its own environment back afterwards.
    kernel_env = {PROGRESS_ENV: "log", NONINTERACTIVE_ENV: "1"}
    start = time.perf_counter()
    with unittest.mock.patch.dict(os.environ, kernel_env):
        papermill.execute_notebook(
            str(path),
            str(out_dir / path.name),
            parameters={"profile": profile, **parameters},
            kernel_name="python3",  # the interpreter running this (the project's .venv)
            cwd=str(path.parent),
            progress_bar=False,
        )
    return time.perf_counter() - start


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Run the notebooks and write their figures.")
    parser.add_argument("--profile", default="default", choices=["smoke", "default", "paper"])
    parser.add_argument("--only", nargs="*", help="notebook name prefixes, e.g. 01 04")
    args = parser.parse_args(argv)
    chosen = [p for p in notebooks() if not args.only or any(p.name.startswith(o) for o in args.only)]
    if not chosen:  # e.g. --only 7 for 07: say so instead of timing nothing over the last run's record
        names = ", ".join(p.name for p in notebooks())
        parser.error(f"--only {' '.join(args.only)} matches no notebook; the notebooks are {names}")
    if args.profile != "smoke":  # smoke runs untrained networks; the others read the shipped ones
        from invariance.training import weights

        try:
            shipped = weights.verify_all()
        except weights.WeightsError as e:
            parser.exit(2, f"make figures: {e}\n")
        print(f"weights/: {len(shipped)} shipped networks, every digest verified", flush=True)
    out_dir = paths.build_dir() / "notebooks" / args.profile
    timings = {}
    total = time.perf_counter()
    for path in chosen:
        print(f"[{args.profile}] {path.name} ...", flush=True)
        timings[path.stem] = round(run_notebook(path, args.profile, out_dir), 1)
        if args.profile == EXECUTED_PROFILE:
            copy = publish_executed(path, out_dir / path.name)
            print(f"[{args.profile}] executed copy: {paths.shown(copy)}")
        print(f"[{args.profile}] {path.name} done in {timings[path.stem]:.1f} s", flush=True)
    timings["total"] = round(time.perf_counter() - total, 1)
    record = {
        "profile": args.profile,
        "seconds": timings,
        "device": files.device_name(),
        "git": files.git_revision(),
        "finished": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
    files.atomic_write_json(out_dir / "timing.json", record)
    if args.profile == EXECUTED_PROFILE and not args.only:
        # the README's gallery and paper-vs-ours tables, rewritten from the sidecars just written
        from invariance.report import readme

        changed = readme.update_readme()
        print(f"README generated sections {'rewritten' if changed else 'unchanged'} from figures/*.json")
    where = paths.figures_dir(args.profile)
    print(f"All {len(chosen)} notebooks in {timings['total']:.1f} s; figures in {where}")


if __name__ == "__main__":
    main()
