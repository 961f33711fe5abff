"""The package's folders are layers: a module imports only from its own layer or the ones below it, and no
import is circular (lazy imports inside functions included)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "lib" / "invariance"
# bottom to top; the package root (__init__, __main__) sits above all of them
LAYERS = ("core", "kernels", "sources", "runner", "training", "presentation", "claims", "report", "apps")


def module_name(path: Path, package: Path) -> str:
    parts = path.relative_to(package.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(path: Path, package: Path) -> set[str]:
    """Every module of the package that `path` imports, anywhere in the file: `from a.b import c` names
    a.b.c when c is a module of the package, else a.b."""
    root = package.name
    here = module_name(path, package)
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.split(".")[0] == root}
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: resolve against this module's package
                base = here.split(".")[: -node.level + (1 if path.name == "__init__.py" else 0) or None]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target.split(".")[0] != root:
                continue
            for alias in node.names:
                sub = package.parent / Path(*f"{target}.{alias.name}".split("."))
                is_module = sub.with_suffix(".py").exists() or (sub / "__init__.py").exists()
                found.add(f"{target}.{alias.name}" if is_module else target)
    found.discard(here)
    return found


def layer(module: str) -> int:
    """Index of a module's layer; the package root is above every layer."""
    parts = module.split(".")
    if len(parts) == 1 or parts[1] in ("__main__",):
        return len(LAYERS)
    if parts[1] not in LAYERS:
        raise AssertionError(
            f"{module}: folder {parts[1]!r} is not a known layer; add it to LAYERS in its place"
        )
    return LAYERS.index(parts[1])


def import_graph(package: Path) -> dict[str, set[str]]:
    return {module_name(p, package): imports(p, package) for p in sorted(package.rglob("*.py"))}


def upward_imports(graph: dict[str, set[str]]) -> list[str]:
    return sorted(
        f"{m} ({LAYERS[layer(m)] if layer(m) < len(LAYERS) else 'root'}) imports {t}"
        for m, targets in graph.items()
        for t in targets
        if layer(t) > layer(m)
    )


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_no_module_imports_from_a_higher_layer():
    assert upward_imports(import_graph(PACKAGE)) == []


def test_no_circular_imports():
    assert cycles(import_graph(PACKAGE)) == []


def test_every_module_sits_in_a_layer_folder():
    loose = [p.name for p in PACKAGE.glob("*.py") if p.name not in ("__init__.py", "__main__.py")]
    assert loose == [], "modules belong in a layer folder (core/, kernels/, ..., apps/)"


def _package(tmp_path: Path, files: dict[str, str]) -> Path:
    root = tmp_path / "invariance"
    for name, text in {"__init__.py": "", **files}.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        (path.parent / "__init__.py").touch()
        path.write_text(text)
    return root


def test_the_checks_catch_an_upward_import_and_a_cycle(tmp_path):
    pkg = _package(
        tmp_path,
        {
            "core/paths.py": "def f():\n    from invariance.claims import depth  # lazy, still upward\n",
            "claims/depth.py": "from invariance.claims.bias import x\n",
            "claims/bias.py": "from invariance.claims import depth\nx = 1\n",
            "apps/cli.py": "from invariance.core import paths\nfrom . import profiles\n",
            "apps/profiles.py": "",
        },
    )
    graph = import_graph(pkg)
    assert graph["invariance.apps.cli"] == {"invariance.core.paths", "invariance.apps.profiles"}
    assert upward_imports(graph) == ["invariance.core.paths (core) imports invariance.claims.depth"]
    assert cycles(graph) == [["invariance.claims.bias", "invariance.claims.depth"]]


def test_an_unknown_folder_is_named(tmp_path):
    pkg = _package(tmp_path, {"misc/util.py": "from invariance.core import paths\n", "core/paths.py": ""})
    with pytest.raises(AssertionError, match="'misc' is not a known layer"):
        upward_imports(import_graph(pkg))


def test_the_short_measuring_api_names_the_layered_modules():
    from invariance import datasets, evaluate, metrics, models, protocols
    from invariance.kernels import metrics as kernel_metrics
    from invariance.runner import evaluate as runner_evaluate

    assert metrics is kernel_metrics and evaluate is runner_evaluate
    assert {datasets.__name__, models.__name__, protocols.__name__} == {
        "invariance.sources.datasets",
        "invariance.sources.models",
        "invariance.runner.protocols",
    }
    with pytest.raises(ImportError):
        from invariance import plotting  # noqa: F401  (gone: figures live with their claims)
