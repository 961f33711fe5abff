"""`make lab-check`: try an explorer as a reader would, in a real browser.

Serves JupyterLab on loopback with the project's kernel, opens a notebook in headless Chromium (Debian's
/usr/bin/chromium, driven by Playwright), runs all its cells, changes a widget, waits for the redraw and
saves screenshots to build/lab-check/ (before.png, after.png). Exits non-zero when a step fails.

Needs: `apt-get install chromium` and `pip install playwright` (the make target installs the latter).
"""

from __future__ import annotations

import argparse
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_lab(port: int, token: str, log: Path, root: Path) -> subprocess.Popen:
    cmd = [
        sys.executable,
        "-m",
        "jupyter",
        "lab",
        "--no-browser",
        "--ip=127.0.0.1",
        f"--port={port}",
        f"--IdentityProvider.token={token}",
        f"--ServerApp.root_dir={root}",
        "--allow-root",
    ]
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    lab = subprocess.Popen(cmd, stdout=log.open("w"), stderr=subprocess.STDOUT, env=env)
    for _ in range(120):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/api/status?token={token}", timeout=2)
            return lab
        except OSError:
            time.sleep(0.5)
    lab.terminate()
    raise RuntimeError(f"JupyterLab did not start on port {port}; see {log}")


def check(notebook: str, widget_label: str, option: str, timeout_s: float, out: Path) -> None:
    from playwright.sync_api import sync_playwright

    out.mkdir(parents=True, exist_ok=True)
    # a copy is served: JupyterLab autosaves, and the notebooks in notebooks/ must stay output-free
    served = out / "served"
    served.mkdir(exist_ok=True)
    shutil.copy(ROOT / "notebooks" / notebook, served / notebook)
    port, token = free_port(), secrets.token_hex(16)
    lab = start_lab(port, token, out / "jupyterlab.log", served)
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_FLAGS)
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.goto(f"http://127.0.0.1:{port}/lab/tree/{notebook}?token={token}")
            page.wait_for_selector(".jp-Notebook", timeout=60_000)
            page.screenshot(path=str(out / "opened.png"))
            page.wait_for_selector(".jp-Notebook-ExecutionIndicator[data-status='idle']", timeout=120_000)
            page.get_by_role("menuitem", name="Run", exact=True).click()
            page.get_by_text("Run All Cells", exact=True).click()
            select = page.locator(f".widget-dropdown:has(label:text-is('{widget_label}')) select")
            try:
                select.wait_for(timeout=timeout_s * 1000)
            finally:
                page.screenshot(path=str(out / "waited.png"))
            select.scroll_into_view_if_needed()
            page.wait_for_timeout(3000)  # the first drawing
            page.screenshot(path=str(out / "before.png"))
            select.select_option(option)
            page.wait_for_timeout(5000)  # the redraw
            page.screenshot(path=str(out / "after.png"))
            errors = page.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']")
            print(f"stderr outputs in the notebook: {errors.count()}")
            browser.close()
    finally:
        lab.terminate()
        lab.wait(timeout=30)
    print(f"screenshots: {out / 'before.png'}, {out / 'after.png'}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--notebook", default="04_protocol_table.ipynb")
    parser.add_argument("--widget", default="metric", help="label of the dropdown to change")
    parser.add_argument("--option", default="mac", help="the value to pick")
    parser.add_argument("--timeout", type=float, default=600, help="seconds to wait for the widget")
    args = parser.parse_args()
    if not Path("/usr/bin/chromium").exists():
        sys.exit("No /usr/bin/chromium: install Debian's chromium (apt-get install chromium) first.")
    check(args.notebook, args.widget, args.option, args.timeout, ROOT / "build" / "lab-check")


if __name__ == "__main__":
    main()
