"""The generated sections of the README and of its docs/ pages, rewritten from the committed sidecars,
benchmark records and the weights manifest.

Each section sits between `<!-- generated: NAME ... -->` and `<!-- end generated: NAME -->` in the document
DOCUMENTS names for it; `make figures` rewrites them and a test fails when a document and the files it is
written from disagree. Links in docs/ pages point one folder up (`../figures/...`).
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


def _notebook(figure: str) -> str:
    return next(p.stem for p in (paths.project_root() / "notebooks").glob(f"{figure[:2]}_*.ipynb"))


def gallery(folder: Path | None = None) -> str:
    """docs/gallery.md's figure table, one row per figure, sentences from the sidecars."""
    rows = [
        "| figure | finding (our numbers, from the figure's sidecar) | notebook (executed copy) |",
        "| --- | --- | --- |",
    ]
    for name, sentence in FIGURES.items():
        nb = _notebook(name)
        rows.append(
            f"| ![](../figures/{name}.png) | {sentence(sidecar_values(name, folder))} | "
            f"[`{nb}`](../notebooks/executed/{nb}.ipynb) |"
        )
    return "\n".join(rows)


def thumbnails(folder: Path | None = None, per_row: int = 4) -> str:
    """The README's compact gallery: every figure as a thumbnail (linking the PNG) over its name (linking
    the executed notebook), `per_row` to a row."""
    del folder  # from the registry and the files, not the sidecars' values
    cells = [
        f'<a href="figures/{name}.png"><img src="figures/{name}.png" width="190"></a><br>'
        f"[`{name}`](notebooks/executed/{_notebook(name)}.ipynb)"
        for name in FIGURES
    ]
    rows = ["| " + " | ".join([""] * per_row) + " |", "|" + " --- |" * per_row]
    for start in range(0, len(cells), per_row):
        row = cells[start : start + per_row]
        rows.append("| " + " | ".join(row + [""] * (per_row - len(row))) + " |")
    return "\n".join(rows)


SECTIONS: dict[str, Callable[[Path | None], str]] = {
    "glance": glance,
    "thumbnails": thumbnails,
    "gallery": gallery,
    "table1": protocol_table.table1_markdown,
    "remedies": remedies.readme_table,
    "speed": benchreport.readme_section,
    "side-by-side": benchreport.side_by_side_section,
    "bitwise": benchreport.bitwise_section,
    "make-figures": benchreport.make_figures_section,
    "reruns": reruns.readme_section,
    "weights": weights_table.readme_section,
    "recipe": weights_table.recipe_section,
}
# the document (relative to the project root) that holds each section
DOCUMENTS: dict[str, tuple[str, ...]] = {
    "README.md": ("glance", "thumbnails"),
    "docs/gallery.md": ("gallery",),
    "docs/paper-vs-ours.md": ("table1", "remedies"),
    "docs/reproducibility.md": ("bitwise", "reruns"),
    "docs/profiles.md": ("make-figures",),
    "docs/speed.md": ("side-by-side", "speed"),
    "docs/networks.md": ("weights", "recipe"),
}
LINE_BUDGET = 250  # the README's length in lines: the long sections live in docs/


def _block(name: str) -> re.Pattern:
    return re.compile(rf"(<!-- generated: {name} .*?-->\n)(.*?)(<!-- end generated: {name} -->)", re.S)


def render_readme(text: str, folder: Path | None = None, sections: tuple[str, ...] | None = None) -> str:
    """text with each generated section of `sections` (default: the README's) rewritten from the sidecars in
    folder (default: figures/)."""
    for name in sections or DOCUMENTS["README.md"]:
        make = SECTIONS[name]
        pattern = _block(name)
        if not pattern.search(text):
            raise ValueError(
                f"README has no generated section {name!r} (markers <!-- generated: {name} ... -->)"
            )
        body = make(folder)
        text = pattern.sub(lambda m, body=body: m.group(1) + body + "\n" + m.group(3), text)
    return text


def render_document(document: str, folder: Path | None = None) -> tuple[str, str]:
    """(current text, text with its generated sections rewritten) of one of DOCUMENTS."""
    old = (paths.project_root() / document).read_text()
    return old, render_readme(old, folder, DOCUMENTS[document])


def update_readme(readme: Path | None = None, folder: Path | None = None) -> bool:
    """Rewrite the generated sections of the README and its docs/ pages (or, given `readme`, of that one
    file, as the README) from the sidecars; returns whether anything changed."""
    targets = (
        [(readme, DOCUMENTS["README.md"])]
        if readme
        else [(paths.project_root() / d, names) for d, names in DOCUMENTS.items()]
    )
    changed = False
    for path, names in targets:
        old = path.read_text()
        new = render_readme(old, folder, names)
        if new != old:
            files.atomic_write_text(path, new)
            changed = True
    return changed
