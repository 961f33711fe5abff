"""`make site`: the compendium as a static site (MkDocs + mkdocs-jupyter, pinned in requirements-site.txt),
viewable offline from build/site/ (no asset is fetched from the internet at view time).

The README becomes the home page, docs/*.md the other pages, the executed notebooks rendered pages (their
outputs as `make figures` left them; nothing is re-run), figures/*.png their images. The sources are staged
in build/site-src/ with their links rewritten for the site's layout (docs/x.md -> x.md, ../figures/ ->
figures/, notebooks/executed/X.ipynb -> notebooks/X/); a link to a file the site does not carry (code,
benchmark records) becomes its plain name in code font rather than a dead link.

    python -m invariance.apps.site            # build into build/site/
    python -m invariance.apps.site --check    # build, then open every page in headless Chromium
"""

from __future__ import annotations

import argparse
import posixpath
import re
import shutil
import subprocess
import sys
from pathlib import Path

from invariance.core import paths

SITE_SRC = "build/site-src"
SITE = "build/site"


def _target(link: str, page: str) -> str | None:
    """The site-relative target of a link found in `page` ("README.md" or "docs/<x>.md"), or None when the
    site does not carry it."""
    path = posixpath.normpath(posixpath.join(posixpath.dirname(page), link))  # "docs/../figures" -> "figures"
    if path == "README.md":
        return "index.md"
    if path.startswith("docs/") and path.endswith(".md"):
        return path.removeprefix("docs/")
    if path.startswith("figures/") and path.endswith(".png"):
        return path
    if path.startswith("notebooks/executed/") and path.endswith(".ipynb"):
        return "notebooks/" + path.removeprefix("notebooks/executed/")
    return None


def rewrite_links(text: str, page: str) -> str:
    """Markdown links and HTML src/href attributes of `page` rewritten for the site (see the module doc);
    absolute URLs are kept."""

    def markdown(m: re.Match) -> str:
        label, link = m.group(1), m.group(2)
        if re.match(r"[a-z]+://|mailto:|#", link):
            return m.group(0)
        target = _target(link.split("#")[0], page)
        if target is None:
            return label if label.startswith("`") else f"`{label}`"
        return f"[{label}]({target})"

    def attribute(m: re.Match) -> str:
        name, link = m.group(1), m.group(2)
        if re.match(r"[a-z]+://", link):
            return m.group(0)
        target = _target(link, page)
        return f'{name}="{target}"' if target else m.group(0)

    text = re.sub(r"(?<!!)\[([^\]]+)\]\(([^)\s]+)\)", markdown, text)
    text = re.sub(
        r"!\[([^\]]*)\]\(([^)\s]+)\)",
        lambda m: f"![{m.group(1)}]({_target(m.group(2), page) or m.group(2)})",
        text,
    )
    return re.sub(r'\b(src|href)="([^"]+)"', attribute, text)


def stage(root: Path | None = None) -> Path:
    """Write the site's sources into build/site-src/ (emptied first); returns that folder."""
    root = root or paths.project_root()
    out = root / SITE_SRC
    if out.exists():
        shutil.rmtree(out)
    (out / "figures").mkdir(parents=True)
    (out / "notebooks").mkdir()
    (out / "index.md").write_text(rewrite_links((root / "README.md").read_text(), "README.md"))
    for page in sorted((root / "docs").glob("*.md")):
        (out / page.name).write_text(rewrite_links(page.read_text(), f"docs/{page.name}"))
    for png in sorted((root / "figures").glob("*.png")):
        shutil.copy2(png, out / "figures" / png.name)
    executed = sorted((root / "notebooks" / "executed").glob("*.ipynb"))
    if not executed:
        raise FileNotFoundError("no executed notebooks in notebooks/executed/: run `make figures` first")
    for nb in executed:
        shutil.copy2(nb, out / "notebooks" / nb.name)
    return out


def build(root: Path | None = None) -> Path:
    """Stage the sources, run `mkdocs build --strict` with the project's mkdocs.yml; returns build/site/."""
    root = root or paths.project_root()
    try:
        import mkdocs  # noqa: F401
        import mkdocs_jupyter  # noqa: F401
    except ImportError:
        raise SystemExit(
            "make site needs MkDocs and mkdocs-jupyter: pip install -r requirements-site.txt "
            "(`make site` does this)"
        ) from None
    stage(root)
    subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--quiet", "-f", str(root / "mkdocs.yml")],
        check=True,
        cwd=root,
    )
    return root / SITE


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Build the compendium's static site into build/site/.")
    parser.add_argument("--check", action="store_true", help="then open every page in headless Chromium")
    args = parser.parse_args(argv)
    site = build()
    print(f"site: {paths.shown(site)}/index.html")
    if args.check:
        from invariance.apps import site_check

        return site_check.check(site)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
