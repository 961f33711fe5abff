"""Every path the project uses, derived from the package location or an environment variable.

Nothing here depends on the working directory, so notebooks, tests and `make` agree on where things are.

Environment variables:
    INVARIANCE_ROOT   project root (default: two levels above this package, i.e. the checkout)
    INVARIANCE_DATA   extra data folders searched first (os.pathsep-separated)
    INVARIANCE_CACHE  where cached result tables go (default: <root>/data/cache)
    INVARIANCE_FIGURES  a folder that takes the project root's place for figures (figures/, build/...)
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent.parent  # lib/invariance (this file is in core/)


def project_root() -> Path:
    """The checkout's root folder (holds `notebooks/`, `lib/`, `data/`, `figures/`)."""
    env = os.environ.get("INVARIANCE_ROOT")
    return Path(env).resolve() if env else PACKAGE_DIR.parent.parent


def data_search_path() -> list[Path]:
    """Folders searched for data sets, in order: $INVARIANCE_DATA, <root>/data, <root>/../shared/data."""
    env = os.environ.get("INVARIANCE_DATA", "")
    extra = [Path(p).expanduser() for p in env.split(os.pathsep) if p]
    root = project_root()
    return [*extra, root / "data", root.parent / "shared" / "data"]


class DataNotFoundError(FileNotFoundError):
    """A data set is in none of the searched folders."""


def find_data(name: str) -> Path:
    """First folder on the data search path that holds `name` (a file or folder).

    Raises DataNotFoundError naming every folder searched and the command that fetches the data.
    """
    searched = data_search_path()
    for folder in searched:
        candidate = folder / name
        if candidate.exists():
            return candidate
    tried = "\n  ".join(str(f / name) for f in searched)
    raise DataNotFoundError(
        f"Data set {name!r} not found. Looked in:\n  {tried}\n"
        "Run `make data` to download it into data/, or set INVARIANCE_DATA to a folder holding it."
    )


def file_sha256(path: Path) -> str:
    """Hex SHA-256 of a file's bytes (read in 1 MiB blocks): checks downloads and names caches."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def shown(path: Path) -> str:
    """A path as printed for readers: relative to the project root when inside it, so that executed
    notebooks and logs carry no absolute path of the machine that made them."""
    try:
        return Path(path).resolve().relative_to(project_root().resolve()).as_posix()
    except ValueError:
        return str(path)


def data_dir() -> Path:
    """Where downloads and manifests are written: <root>/data."""
    return project_root() / "data"


def manifests_dir() -> Path:
    return data_dir() / "manifests"


def cache_dir() -> Path:
    env = os.environ.get("INVARIANCE_CACHE")
    return Path(env).expanduser() if env else data_dir() / "cache"


def figures_dir(profile: str = "default") -> Path:
    """figures/ for the default profile (committed); figures/paper/ for the paper profile, so a paper run
    never overwrites the default figures; build/figures-smoke/ for smoke runs (CI).
    $INVARIANCE_FIGURES, when set, replaces the project root in these (tests' dry runs write there)."""
    env = os.environ.get("INVARIANCE_FIGURES")
    root = Path(env).expanduser() if env else project_root()
    return {"smoke": root / "build" / "figures-smoke", "paper": root / "figures" / "paper"}.get(
        profile, root / "figures"
    )


def build_dir() -> Path:
    return project_root() / "build"
