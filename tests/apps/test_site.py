"""`make site`: links rewritten for the site's layout, the staged sources, and (where MkDocs and Chromium
are installed: `make site`) the build and its browser check."""

import importlib.util
from pathlib import Path

import pytest
from invariance.apps import site, site_check


def test_links_are_rewritten_for_the_sites_layout():
    readme = (
        "[gallery](docs/gallery.md) [nb](notebooks/executed/04_protocol_table.ipynb) "
        '<a href="figures/x.png"><img src="figures/x.png" width="9"></a> [code](lib/invariance/cli.py) '
        "[`benchmarks/`](benchmarks/) [web](https://example.com/a) [here](#claims)"
    )
    out = site.rewrite_links(readme, "README.md")
    assert "[gallery](gallery.md)" in out and "[nb](notebooks/04_protocol_table.ipynb)" in out
    assert 'href="figures/x.png"' in out and 'src="figures/x.png"' in out
    assert "`code`" in out and "[code]" not in out  # the site has no code files: a name, not a dead link
    assert "`benchmarks/`" in out and "[web](https://example.com/a)" in out and "[here](#claims)" in out
    page = "[back](../README.md) ![](../figures/y.png) [nb](../notebooks/executed/11_real_networks.ipynb)"
    out = site.rewrite_links(page, "docs/gallery.md")
    assert "[back](index.md)" in out and "![](figures/y.png)" in out
    assert "[nb](notebooks/11_real_networks.ipynb)" in out


def test_staging_copies_the_pages_figures_and_executed_notebooks(tmp_path):
    (tmp_path / "docs").mkdir()
    (tmp_path / "figures").mkdir()
    (tmp_path / "notebooks" / "executed").mkdir(parents=True)
    (tmp_path / "README.md").write_text("[a](docs/a.md) ![](figures/f.png)")
    (tmp_path / "docs" / "a.md").write_text("[home](../README.md)")
    (tmp_path / "figures" / "f.png").write_bytes(b"png")
    (tmp_path / "notebooks" / "executed" / "01_x.ipynb").write_text("{}")
    out = site.stage(tmp_path)
    assert (out / "index.md").read_text() == "[a](a.md) ![](figures/f.png)"
    assert (out / "a.md").read_text() == "[home](index.md)"
    assert (out / "figures" / "f.png").exists() and (out / "notebooks" / "01_x.ipynb").exists()
    (tmp_path / "notebooks" / "executed" / "01_x.ipynb").unlink()
    with pytest.raises(FileNotFoundError, match="make figures"):
        site.stage(tmp_path)


def test_internal_targets_of_the_browser_check(tmp_path):
    page = tmp_path / "index.html"
    (tmp_path / "notebooks").mkdir()
    assert site_check.internal_target(page, "gallery.html") == tmp_path / "gallery.html"
    assert site_check.internal_target(page, "notebooks/") == tmp_path / "notebooks" / "index.html"
    for external in ("https://example.com/", "#top", "mailto:a@b.c", ""):
        assert site_check.internal_target(page, external) is None


@pytest.mark.slow
@pytest.mark.skipif(
    importlib.util.find_spec("mkdocs_jupyter") is None or not Path("/usr/bin/chromium").exists(),
    reason="make site's own dependencies (requirements-site.txt, Debian's chromium) are not installed",
)
def test_the_site_builds_and_every_page_passes_the_browser_check(tmp_path):
    built = site.build()
    assert site_check.check(built, tmp_path / "shots") == 0
