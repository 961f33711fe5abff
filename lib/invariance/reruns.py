"""Does a rerun land inside the intervals we publish? Side by side, every number with a 95% interval in two
sets of figure sidecars (figures/*.json): the committed ones and those of a rerun (a fresh clone, another
machine, other threads or instruction sets).

A sidecar's values are records (dicts); an interval is any numeric field `m` with `m_low` / `m_high`
beside it, or `value` / `change` with `ci_low` / `ci_high`, or `difference` with `low` / `high`. A record
is identified by its text and integer fields (variant, zone, metric, offset, ...).
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from pathlib import Path

import pandas as pd

_PAIRS = {"value": ("ci_low", "ci_high"), "change": ("ci_low", "ci_high"), "difference": ("low", "high")}


def _records(values: object, part: str = "") -> Iterator[tuple[str, dict]]:
    """(part, record) for every dict record in a sidecar's values (lists of dicts, dicts of such lists)."""
    if isinstance(values, list):
        for r in values:
            if isinstance(r, dict):
                yield part, r
    elif isinstance(values, dict):
        for key, sub in values.items():
            if isinstance(sub, list | dict):
                yield from _records(sub, f"{part}.{key}" if part else key)


def intervals(values: object) -> pd.DataFrame:
    """Every interval in a sidecar's values. Columns: part, record (its identifying fields), quantity, value,
    low, high."""
    rows = []
    for part, r in _records(values):
        ident = ", ".join(
            f"{k}={v}"
            for k, v in r.items()
            if isinstance(v, str) or (isinstance(v, int) and not isinstance(v, bool))
        )
        for m, v in r.items():
            lo_hi = _PAIRS.get(m, (f"{m}_low", f"{m}_high"))
            if isinstance(v, int | float) and not isinstance(v, bool) and all(k in r for k in lo_hi):
                rows.append(
                    {
                        "part": part,
                        "record": ident,
                        "quantity": m,
                        "value": float(v),
                        "low": float(r[lo_hi[0]]),
                        "high": float(r[lo_hi[1]]),
                    }
                )
    return pd.DataFrame(rows, columns=["part", "record", "quantity", "value", "low", "high"])


def _values(folder: Path, figure: str) -> object:
    return json.loads((folder / f"{figure}.json").read_text())["values"]


def compare(published: Path, rerun: Path, figures: Sequence[str]) -> pd.DataFrame:
    """For every interval in the published sidecars of `figures`, the rerun's value of the same quantity of
    the same record, and whether it lies inside the published interval (NaN when the rerun lacks it).

    Columns: figure, part, record, quantity, value, low, high, rerun, inside, shift (rerun - value)."""
    tables = []
    for figure in figures:
        ours = intervals(_values(published, figure))
        theirs = intervals(_values(rerun, figure))[["part", "record", "quantity", "value"]]
        both = ours.merge(
            theirs.rename(columns={"value": "rerun"}), on=["part", "record", "quantity"], how="left"
        )
        tables.append(both.assign(figure=figure))
    out = pd.concat(tables, ignore_index=True)
    inside = (out.rerun >= out.low) & (out.rerun <= out.high)
    out["inside"] = inside.where(out.rerun.notna())
    out["shift"] = out.rerun - out.value
    cols = ["figure", "part", "record", "quantity", "value", "low", "high", "rerun", "inside", "shift"]
    return out[cols]


def summary(table: pd.DataFrame) -> pd.DataFrame:
    """Per figure: intervals, how many the rerun has, how many it lands inside, the largest |shift| and the
    largest |shift| relative to the interval's half-width."""
    t = table.assign(
        rel=(table["shift"].abs() / ((table.high - table.low) / 2)).where(table.high > table.low)
    )
    g = t.groupby("figure", sort=False)
    return pd.DataFrame(
        {
            "intervals": g.size(),
            "in rerun": g.rerun.count(),
            "inside": g.inside.sum().astype(int),
            "largest |shift|": g["shift"].apply(lambda s: s.abs().max()),
            "largest |shift| / half-width": g.rel.max(),
        }
    )


def figures_named(folder: Path, prefixes: Sequence[str]) -> list[str]:
    """Names of the sidecars in folder whose names start with one of prefixes (all when none given)."""
    names = sorted(p.stem for p in folder.glob("*.json"))
    return [n for n in names if not prefixes or n.startswith(tuple(prefixes))]


def main(argv: Sequence[str] | None = None) -> int:
    """python -m invariance.reruns PUBLISHED RERUN [PREFIX ...]: the summary, then every value outside."""
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("published", type=Path, help="folder of the published sidecars (e.g. figures/)")
    parser.add_argument("rerun", type=Path, help="folder of the rerun's sidecars")
    parser.add_argument("prefixes", nargs="*", help="figure name prefixes, e.g. 07 09 (default: all)")
    args = parser.parse_args(argv)
    for folder in (args.published, args.rerun):
        if not folder.is_dir():
            parser.error(f"{folder} is not a folder of figure sidecars")
    table = compare(args.published, args.rerun, figures_named(args.published, args.prefixes))
    with pd.option_context("display.width", 200, "display.max_rows", 500, "display.max_colwidth", 70):
        print(summary(table).to_string(float_format=lambda v: f"{v:.3g}"))
        outside = table[table.inside == False]  # noqa: E712 (NaN: not in the rerun)
        print(f"\n{len(outside)} of {table.rerun.count()} rerun values outside the published 95% intervals")
        if len(outside):
            print(outside.to_string(index=False, float_format=lambda v: f"{v:.4f}"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
