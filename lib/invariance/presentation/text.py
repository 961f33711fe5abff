"""Numbers and sentences for the findings texts: each claim module writes its sentences with these, and
reads its figures' sidecars with sidecar_values()."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd

from invariance.core import paths

Values = Any  # a sidecar's "values": dicts and lists of row records


def sidecar_values(name: str, folder: Path | None = None) -> Values:
    """The values a figure shows, read from <folder>/<name>.json (default: the committed figures/)."""
    folder = folder or paths.figures_dir("default")
    path = folder / f"{name}.json"
    values = json.loads(path.read_text()).get("values")
    if values is None:
        raise ValueError(f"{path} holds no values: rerun its notebook (`make figures`)")
    return values


def tidy_frame(values: Values) -> pd.DataFrame:
    return pd.DataFrame(values)


def ci_text(row: Any, digits: int = 3) -> str:
    return f"{row['value']:.{digits}f} [{row['ci_low']:.{digits}f}, {row['ci_high']:.{digits}f}]"


def pct(x: float, digits: int = 1) -> str:
    return f"{100 * x:.{digits}f}%"


def value_range(xs: pd.Series, digits: int = 2) -> str:
    lo, hi = float(xs.min()), float(xs.max())
    return (
        f"{lo:.{digits}f}" if f"{lo:.{digits}f}" == f"{hi:.{digits}f}" else f"{lo:.{digits}f}-{hi:.{digits}f}"
    )


def model_name(model: str) -> str:
    return model.replace("lite", "Lite") if model.startswith("lite") else model


def sentence_start(text: str) -> str:
    """text with its first letter upper-case, the rest as written ("crop and inpaint" -> "Crop and ...")."""
    return text[:1].upper() + text[1:]


# The one verdict vocabulary: every notebook's verdict starts with exactly one of these words.
REPRODUCED = "reproduced"
NOT_REPRODUCED = "not reproduced"
INCONCLUSIVE = "inconclusive"  # the CI covers both outcomes
NOT_TESTABLE = "not testable offline"
VERDICTS = (REPRODUCED, NOT_REPRODUCED, INCONCLUSIVE, NOT_TESTABLE)


def verdict_text(word: str, reason: str) -> str:
    """'**word**: reason' for a notebook's verdict line; word must be one of VERDICTS."""
    if word not in VERDICTS:
        raise ValueError(f"verdict {word!r} is not one of {VERDICTS}")
    return f"**{word}**: {reason}"


def interval_verdict(low: float, high: float) -> str:
    """The verdict word for an effect predicted positive, from its CI: reproduced above 0, not reproduced
    below 0, inconclusive when the CI covers 0."""
    return REPRODUCED if low > 0 else NOT_REPRODUCED if high < 0 else INCONCLUSIVE
