"""The README's table of the CIFAR-10 networks shipped in weights/ (`make weights`), from the manifest:
accuracy, training time and device, precision and size per network, and how far the catalogue has got."""

from __future__ import annotations

from pathlib import Path

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
        f"{len(shipped)} of the catalogue's {len(order)} networks trained so far ({total:.1f} MB); "
        "`python -m invariance.apps.weights --list` shows the others and their estimated time.",
    ]
    return "\n".join(rows)
