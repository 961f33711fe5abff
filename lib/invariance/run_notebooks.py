"""`make figures`: execute every notebook with papermill in one profile, in order, and time each.

Executed copies go to build/notebooks/<profile>/ (the committed notebooks stay output-free); figures go
where the notebooks' save_figure() puts them (figures/, or build/figures-smoke/ for the smoke profile).
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Sequence
from pathlib import Path

from . import files, paths


def notebooks() -> list[Path]:
    """The numbered notebooks, in order."""
    return sorted((paths.project_root() / "notebooks").glob("[0-9][0-9]_*.ipynb"))


def run_notebook(path: Path, profile: str, out_dir: Path, **parameters) -> float:
    """Execute one notebook with papermill; returns its wall time in seconds."""
    import papermill

    out_dir.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
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
    out_dir = paths.build_dir() / "notebooks" / args.profile
    timings = {}
    total = time.perf_counter()
    for path in chosen:
        print(f"[{args.profile}] {path.name} ...", flush=True)
        timings[path.stem] = round(run_notebook(path, args.profile, out_dir), 1)
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
    where = paths.figures_dir(args.profile)
    print(f"All {len(chosen)} notebooks in {timings['total']:.1f} s; figures in {where}")


if __name__ == "__main__":
    main()
