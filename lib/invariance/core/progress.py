"""Progress that reads well everywhere: a live bar in JupyterLab and terminals, and a few plain lines in the
log of a papermill run (`make figures` sets INVARIANCE_PROGRESS=log), where a bar would be stored as a
single "0%" line.
"""

from __future__ import annotations

import os
import sys
import time
from typing import Any

from tqdm.auto import tqdm

PROGRESS_ENV = "INVARIANCE_PROGRESS"


class LogBar:
    """The part of tqdm's interface the library uses, printing one line at the start, at each quarter and
    at the end: counts, rate, and where the results go."""

    def __init__(self, total: int, desc: str, unit: str = "it", initial: int = 0, where: str = "") -> None:
        self.total, self.desc, self.unit, self.n = total, desc, unit, initial
        self._start, self._computed = time.perf_counter(), 0  # update() counts work done; n may jump
        self._printed = initial * 4 // max(total, 1)  # the last quarter reported
        self._where = f" -> {where}" if where else ""
        self._postfix = ""
        before = f" ({initial:,} done before)" if initial else ""
        self._print(f"{total:,} {unit}{before}{self._where}")

    def _print(self, text: str) -> None:
        print(f"{self.desc}: {text}{self._postfix}", file=sys.stdout, flush=True)

    def set_postfix(self, ordered_dict: dict | None = None, refresh: bool = True, **kwargs: Any) -> None:
        """Values shown with the next line (e.g. the training loss), as tqdm shows them beside its bar."""
        items = {**(ordered_dict or {}), **kwargs}
        self._postfix = "".join(
            f", {k}={v:.4g}" if isinstance(v, float) else f", {k}={v}" for k, v in items.items()
        )

    def update(self, n: int = 1) -> None:
        self.n += n
        self._computed += n
        self.refresh()

    def refresh(self) -> None:
        quarter = self.n * 4 // max(self.total, 1)
        if quarter > self._printed and self.n < self.total:
            self._printed = quarter
            self._print(f"{self.n:,} of {self.total:,} {self.unit} ({self._rate()})")

    def _rate(self) -> str:
        """Speed of the work done here; results set by assigning n (e.g. chunks read from the cache) are
        reported as such, not as speed."""
        seconds = time.perf_counter() - self._start
        if not self._computed:
            return "from the cache"
        rate = f"{self._computed / max(seconds, 1e-9):.1f} {self.unit}/s"
        return rate if self._computed >= self.n else f"{rate}; {self.n - self._computed:,} from the cache"

    def close(self) -> None:
        seconds = time.perf_counter() - self._start
        self._print(f"{self.n:,} of {self.total:,} {self.unit} in {seconds:.0f} s ({self._rate()})")


def bar(total: int, desc: str, *, unit: str = "it", disable: bool = False, where: str = "", **kw: Any):
    """A tqdm bar, or a LogBar when INVARIANCE_PROGRESS=log (papermill runs), or a silent one (disable)."""
    if not disable and os.environ.get(PROGRESS_ENV) == "log":
        return LogBar(total, desc, unit, kw.get("initial", 0), where)
    return tqdm(total=total, desc=desc, unit=unit, disable=disable, **kw)
