"""The README's generated sections, rewritten from the committed sidecars and benchmark records.

Each section sits between `<!-- generated: NAME ... -->` and `<!-- end generated: NAME -->`; `make figures`
rewrites them and a test fails when the README and the files it is written from disagree.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

from invariance.claims import protocol_table, remedies
from invariance.core import files, paths
from invariance.presentation.text import sidecar_values
from invariance.report import benchreport, reruns, weights_table
from invariance.report.findings import FIGURES, glance


def gallery(folder: Path | None = None) -> str:
    """The README's figure table, one row per figure, sentences from the sidecars."""
    rows = [
        "| figure | finding (our numbers, from the figure's sidecar) | notebook (executed copy) |",
        "| --- | --- | --- |",
    ]
    for name, sentence in FIGURES.items():
        nb = next(p.stem for p in (paths.project_root() / "notebooks").glob(f"{name[:2]}_*.ipynb"))
        rows.append(
            f"| ![](figures/{name}.png) | {sentence(sidecar_values(name, folder))} | "
            f"[`{nb}`](notebooks/executed/{nb}.ipynb) |"
        )
    return "\n".join(rows)


SECTIONS: dict[str, Callable[[Path | None], str]] = {
    "glance": glance,
    "gallery": gallery,
    "table1": protocol_table.table1_markdown,
    "remedies": remedies.readme_table,
    "speed": benchreport.readme_section,
    "side-by-side": benchreport.side_by_side_section,
    "bitwise": benchreport.bitwise_section,
    "make-figures": benchreport.make_figures_section,
    "reruns": reruns.readme_section,
    "weights": weights_table.readme_section,
}


def _block(name: str) -> re.Pattern:
    return re.compile(rf"(<!-- generated: {name} .*?-->\n)(.*?)(<!-- end generated: {name} -->)", re.S)


def render_readme(text: str, folder: Path | None = None) -> str:
    """text with every generated section rewritten from the sidecars in folder (default: figures/)."""
    for name, make in SECTIONS.items():
        pattern = _block(name)
        if not pattern.search(text):
            raise ValueError(
                f"README has no generated section {name!r} (markers <!-- generated: {name} ... -->)"
            )
        body = make(folder)
        text = pattern.sub(lambda m, body=body: m.group(1) + body + "\n" + m.group(3), text)
    return text


def update_readme(readme: Path | None = None, folder: Path | None = None) -> bool:
    """Rewrite the README's generated sections from the sidecars; returns whether anything changed."""
    readme = readme or paths.project_root() / "README.md"
    old = readme.read_text()
    new = render_readme(old, folder)
    if new != old:
        files.atomic_write_text(readme, new)
    return new != old
