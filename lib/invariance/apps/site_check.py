"""`make site`'s check: every page of build/site/ opened from the file system in headless Chromium (Debian's
`chromium`, driven by Playwright, as `make lab-check`): it must load, every image must render (a decoded,
non-empty image), no request may leave the machine (the site is viewable offline), and every internal
link must point at a file the site has. Screenshots of the home page and a notebook go to build/site-check/.
"""

from __future__ import annotations

import sys
from pathlib import Path
from urllib.parse import unquote, urlparse

from invariance.core import paths

CHROMIUM = Path("/usr/bin/chromium")
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"]


def internal_target(page: Path, href: str) -> Path | None:
    """The file an internal link of `page` points at (None for external links, anchors and mailto)."""
    if not href or href.startswith(("#", "mailto:", "javascript:")):
        return None
    url = urlparse(href)
    if url.scheme and url.scheme != "file":
        return None
    path = unquote(url.path)
    if not path:
        return None
    target = Path(path) if url.scheme == "file" else page.parent / path
    return target / "index.html" if target.is_dir() else target


def check(site: Path, shots: Path | None = None) -> int:
    """Open every HTML page of `site`; print each problem; 0 when there is none, 1 otherwise."""
    if not CHROMIUM.exists():
        print(f"No {CHROMIUM}: install Debian's chromium (apt-get install chromium) first.", file=sys.stderr)
        return 2
    from playwright.sync_api import sync_playwright

    shots = shots or paths.project_root() / "build" / "site-check"
    shots.mkdir(parents=True, exist_ok=True)
    pages = sorted(p for p in site.rglob("*.html") if p.name != "404.html")
    problems: list[str] = []
    images = 0
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=FLAGS)
        tab = browser.new_page(viewport={"width": 1280, "height": 900})
        outside: list[str] = []
        failed: list[str] = []
        tab.on(
            "request",
            lambda r: outside.append(r.url) if not r.url.startswith(("file:", "data:", "blob:")) else None,
        )
        tab.on("requestfailed", lambda r: failed.append(r.url))
        for page in pages:
            outside.clear()
            failed.clear()
            name = page.relative_to(site).as_posix()
            response = tab.goto(page.as_uri(), wait_until="load")
            if response is not None and not response.ok:
                problems.append(f"{name}: did not load")
            tab.wait_for_timeout(150)
            broken = tab.eval_on_selector_all(
                "img", "els => els.filter(e => !e.complete || e.naturalWidth === 0).map(e => e.src)"
            )
            images += tab.eval_on_selector_all("img", "els => els.length")
            problems += [f"{name}: image does not render: {src}" for src in broken]
            hrefs = tab.eval_on_selector_all("a[href]", "els => els.map(e => e.getAttribute('href'))")
            for href in hrefs:
                target = internal_target(page, href.split("#")[0])
                if target is not None and not target.exists():
                    problems.append(f"{name}: broken link {href}")
            problems += [f"{name}: fetched from outside the machine: {u}" for u in outside]
            problems += [f"{name}: request failed: {u}" for u in failed if u.startswith("file:")]
            if name in ("index.html", "notebooks/04_protocol_table.html"):
                tab.screenshot(path=str(shots / f"{name.replace('/', '_')}.png"), full_page=False)
        browser.close()
    for p in problems:
        print(p)
    print(
        f"site check: {len(pages)} pages, {images} images, {len(problems)} problems; screenshots in "
        f"{paths.shown(shots)}/"
    )
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(check(paths.project_root() / "build" / "site"))
