"""The README's table of the CIFAR-10 networks shipped in weights/ (`make weights`), from the manifest:
accuracy, training time and device, precision and size per network, and how far the catalogue has got."""

from __future__ import annotations

import ast
import re
from collections import defaultdict
from pathlib import Path

from invariance.core import paths
from invariance.training import catalogue
from invariance.training import weights as W


def _accuracy(entry: dict) -> str:
    acc = entry["test_accuracy"]
    if "test" in acc:  # 32x32: plain and with flip TTA
        return f"{acc['test']:.3f} ({acc['test-flip-tta']:.3f} with flip TTA)"
    return ", ".join(f"{zone} {acc[zone]:.3f}" for zone in catalogue.ZONES if zone in acc)


def readme_section(folder: Path | None = None) -> str:
    """Markdown: one row per shipped network in catalogue order, then the totals. `folder` is the figures
    folder the other sections take; the manifest is read from weights/ (INVARIANCE_WEIGHTS)."""
    del folder  # the weights have their own folder
    manifest = W.read_manifest()["networks"]
    order = [n.name for n in catalogue.networks()]
    shipped = [name for name in order if name in manifest]
    if not shipped:
        return f"No network trained yet: `make weights` trains the {len(order)} of the catalogue."
    rows = [
        "| network | test accuracy | training | precision, file |",
        "| --- | --- | --- | --- |",
    ]
    for name in shipped:
        e = manifest[name]
        half = e.get("half_precision_top1_changes", {})
        kept = (
            "float16 (no test top-1 changed)"
            if e["dtype"].startswith("float16")
            else (f"float32 (float16 would change {max(half.values())} test top-1s)" if half else "float32")
        )
        rows.append(
            f"| `{name}` | {_accuracy(e)} | {e['steps']:,} steps in {e['train_seconds'] / 60:.1f} min, "
            f"{e['device']}, {e['precision']}, {e['threads']} thread{'s' if e['threads'] > 1 else ''} | "
            f"{kept}, {e['bytes'] / 1e6:.2f} MB |"
        )
    total = sum(manifest[n]["bytes"] for n in shipped) / 1e6
    rows += [
        "",
        f"{len(shipped)} of the catalogue's {len(order)} networks trained so far ({total:.1f} MB; all "
        f"{len(order)} in float32: at most {catalogue.projected_bytes() / 1e6:.1f} MB of the "
        f"{catalogue.SHIPPED_LIMIT_BYTES / 1e6:.0f} MB allowed); "
        "`python -m invariance.apps.weights --list` shows the others and their estimated time.",
    ]
    return "\n".join(rows)


# tools/recipe_budget.py train prints "{settings} epochs E precision: {accuracies} in S s (load L)"
_PROBE = re.compile(r"^(\{.*\}) epochs ([\d.]+) (\w+): (\{.*\}) in (\d+) s")


def recipe_probes(logs: Path | None = None) -> list[dict]:
    """The recipe probes of benchmarks/logs/recipe-budget-*.log (tools/recipe_budget.py train lines):
    settings, epochs, precision, accuracies and seconds, in file order."""
    folder = logs or paths.project_root() / "benchmarks" / "logs"
    out = []
    for log in sorted(folder.glob("recipe-budget-*.log")):
        for line in log.read_text().splitlines():
            m = _PROBE.match(line)
            if m:
                settings, epochs, precision, acc, seconds = m.groups()
                out.append(
                    {"settings": ast.literal_eval(settings), "epochs": float(epochs), "precision": precision}
                    | {"accuracy": ast.literal_eval(acc), "seconds": int(seconds), "log": log.name}
                )
    return out


def _probe_accuracy(acc: dict) -> str:
    if "top1" in acc:
        return f"{acc['top1']:.3f} ({acc['top1_tta']:.3f} with flip TTA)"
    return ", ".join(f"{zone} {acc[zone]:.3f}" for zone in catalogue.ZONES if zone in acc)


def _shape(config: dict) -> str:
    net, place = config["net"], config.get("placement")
    text = f"{'-'.join(map(str, net['widths']))}, depth {net['depth']}, {net['downsampling']}"
    text += ", circular padding" if net["padding"] == "circular" else ""
    if place:
        text += f"; {place['canvas']} px canvas, {place['kind']}" + (
            f" sigma {place['sigma']:g}" if place["kind"] == "gaussian" else ""
        )
    return text


def _probe_shape(settings: dict) -> str:
    """tools/recipe_budget.py's key=value settings (defaults: the c10 baseline) in _shape's words."""
    k = {"widths": "32,64,128", "depth": "2", "down": "stride", "pad": "zeros"} | settings
    text = f"{k['widths'].replace(',', '-')}, depth {k['depth']}, {k['down']}"
    text += ", circular padding" if k["pad"] == "circular" else ""
    if "canvas" in k:
        text += f"; {k['canvas']} px canvas, {k.get('kind', 'gaussian')}"
        text += " sigma 4" if k.get("kind", "gaussian") == "gaussian" else ""  # the tool's placement default
    return text


def recipe_section(folder: Path | None = None) -> str:
    """Markdown: accuracy against training time on this machine, one thread: the recipe probes of the logs,
    then the shipped networks grouped by configuration (mean over seeds)."""
    del folder
    rows = [
        "| network | epochs | precision | test accuracy | one-thread training time | from |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for p in recipe_probes():
        what = _probe_shape(p["settings"])
        rows.append(
            f"| {what} | {p['epochs']:g} | {p['precision']} | {_probe_accuracy(p['accuracy'])} | "
            f"{p['seconds'] / 60:.1f} min | probe, `benchmarks/logs/{p['log']}` |"
        )
    groups: dict[str, list[dict]] = defaultdict(list)
    for e in W.read_manifest()["networks"].values():
        groups[_shape(e["config"])].append(e)
    for shape, entries in groups.items():
        e0 = entries[0]
        accs = defaultdict(list)
        for e in entries:
            for k, v in e["test_accuracy"].items():
                accs[k].append(v)
        mean = {k: sum(v) / len(v) for k, v in accs.items()}
        minutes = sum(e["train_seconds"] for e in entries) / len(entries) / 60
        seeds = f"{len(entries)} seed{'s' if len(entries) > 1 else ''}"
        rows.append(
            f"| {shape} | {e0['config']['epochs']:g} | {e0['precision']} | "
            f"{_accuracy({'test_accuracy': mean})} | {minutes:.1f} min | shipped, mean of {seeds} |"
        )
    rows += [
        "",
        "Times are one process of one thread while other jobs shared the 2 cores (so longer than on an "
        "idle machine); targets: >= 0.85 for the 32x32 baseline, >= 0.80 at typical positions for canvas "
        "networks.",
    ]
    return "\n".join(rows)
