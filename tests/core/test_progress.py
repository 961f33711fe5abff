"""Progress bars: plain lines in papermill runs, tqdm elsewhere."""

from invariance.core import progress
from tqdm.auto import tqdm


def test_log_bar_prints_start_quarters_and_end(monkeypatch, capsys):
    monkeypatch.setenv(progress.PROGRESS_ENV, "log")
    bar = progress.bar(8, "lite0 | crop", unit="img", where="data/cache/lite0-crop-abc")
    assert isinstance(bar, progress.LogBar)
    for _ in range(8):
        bar.update(1)
    bar.close()
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "lite0 | crop: 8 img -> data/cache/lite0-crop-abc"
    assert [line.split(": ", 1)[1].split(" (")[0] for line in lines[1:4]] == [
        "2 of 8 img",
        "4 of 8 img",
        "6 of 8 img",
    ]
    assert lines[-1].startswith("lite0 | crop: 8 of 8 img in ") and "img/s" in lines[-1]
    assert len(lines) == 5


def test_chunks_from_the_cache_and_the_default_bar(monkeypatch, capsys):
    monkeypatch.setenv(progress.PROGRESS_ENV, "log")
    bar = progress.bar(4, "x", unit="img")
    bar.set_postfix(loss=0.123456)
    bar.n = 4  # chunks loaded from disk (evaluate.run sets n and refreshes)
    bar.refresh()
    bar.close()
    assert capsys.readouterr().out.splitlines()[-1].endswith("(from the cache), loss=0.1235")
    assert progress.bar(4, "x", disable=True).disable  # silent: no lines, whatever the mode
    monkeypatch.delenv(progress.PROGRESS_ENV)
    assert isinstance(progress.bar(4, "x"), tqdm)
