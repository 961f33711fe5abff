"""Does a rerun land inside the intervals we publish? Side by side, every number with a 95% interval in two
sets of figure sidecars (figures/*.json): the committed ones and those of a rerun (a fresh clone, another
machine, other threads or instruction sets).

A sidecar's values are records (dicts), in lists or in dicts of lists (parts). An interval is a numeric field
`m` with `m_low` / `m_high` beside it, or the numeric field written just before `ci_low` / `ci_high` or
`low` / `high` (value, jaggedness, share, difference, rho, ...). Records are matched by their position in
their part (the same code writes them in the same order), and their text labels (variant, zone, model, ...;
texts holding decimal numbers are results, not labels) must agree.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Sequence
from pathlib import Path

import pandas as pd

from invariance.core import files, paths

_LOW_HIGH = (("ci_low", "ci_high"), ("low", "high"))
_COLUMNS = ("part", "position", "label", "quantity", "value", "low", "high", "rerun_low", "rerun_high")
_DECIMAL = re.compile(r"\d\.\d")  # "0.508 / 0.508 / 0.499" is a result, "lite0" a label


def _records(values: object, part: str = "") -> Iterator[tuple[str, int, dict]]:
    """(part, position, record) for every dict record in a sidecar's values."""
    if isinstance(values, list):
        for i, r in enumerate(x for x in values if isinstance(x, dict)):
            yield part, i, r
    elif isinstance(values, dict):
        for key, sub in values.items():
            if isinstance(sub, list | dict):
                yield from _records(sub, f"{part}.{key}" if part else key)


def _number(v: object) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


# Integer fields that name a record (an offset, a size, a grid cell), not measure it: part of its label.
_ID_FIELDS = ("offset", "size", "side", "row", "col", "bin", "shift", "seed", "step", "stride")


def _label(r: dict) -> str:
    return ", ".join(
        f"{k}={v}"
        for k, v in r.items()
        if (isinstance(v, str) and not _DECIMAL.search(v))
        or (k in _ID_FIELDS and isinstance(v, int) and not isinstance(v, bool))
    )


def _named(result: Path, miss: dict) -> str:
    """A stored miss's record label, read again from the rerun's own sidecars (kept beside its result file)
    so that records saved before the label named their offsets or sizes get them too."""
    try:
        values = _values(result.with_suffix(""), miss["figure"])
    except FileNotFoundError:
        return miss["label"]
    for part, i, r in _records(values):
        if part == miss["part"] and i == miss["position"]:
            return _label(r)
    return miss["label"]


def intervals(values: object) -> pd.DataFrame:
    """Every interval in a sidecar's values. Columns: part, position, label (the record's text labels),
    quantity, value, low, high (the 95% CI), rerun_low, rerun_high (where a rerun with new trainings should
    land, metrics.rerun_interval; NaN where the sidecar gives none). Raises ValueError for a low/high pair
    with no number before it."""
    rows = []
    for part, i, r in _records(values):
        keys = list(r)
        found = {}
        for lo, hi in _LOW_HIGH:
            if lo in r and hi in r:
                k = keys.index(lo)
                if k == 0 or not _number(r[keys[k - 1]]):
                    raise ValueError(f"{part}[{i}]: {lo}/{hi} without a number before them: {r}")
                found[keys[k - 1]] = (lo, hi)
        for m in keys:
            if _number(r[m]) and f"{m}_low" in r and f"{m}_high" in r:
                found[m] = (f"{m}_low", f"{m}_high")
        for m, (lo, hi) in found.items():
            # the interval a rerun with new trainings should land in, where the producer gives one
            if lo in ("ci_low", "low"):
                r_lo, r_hi = "rerun_low", "rerun_high"
            else:
                r_lo, r_hi = f"{m}_rerun_low", f"{m}_rerun_high"
            rows.append(
                {
                    "part": part,
                    "position": i,
                    "label": _label(r),
                    "quantity": m,
                    "value": float(r[m]),
                    "low": float(r[lo]),
                    "high": float(r[hi]),
                    "rerun_low": float(r[r_lo]) if _number(r.get(r_lo)) else float("nan"),
                    "rerun_high": float(r[r_hi]) if _number(r.get(r_hi)) else float("nan"),
                }
            )
    return pd.DataFrame(rows, columns=list(_COLUMNS))


def _values(folder: Path, figure: str) -> object:
    path = folder / f"{figure}.json"
    if not path.exists():
        raise FileNotFoundError(
            f"{path} is missing: run the notebook that draws {figure} in that checkout first"
        )
    return json.loads(path.read_text())["values"]


def compare(published: Path, rerun: Path, figures: Sequence[str]) -> pd.DataFrame:
    """For every interval in the published sidecars of `figures`, the rerun's value of the same quantity of
    the same record, and whether it lies inside the published interval (NaN when the rerun lacks it).
    Raises ValueError when a record's labels differ between the two (the runs list different things).

    Columns: figure, part, position, label, quantity, value, low, high, rerun, inside, shift (rerun - value),
    rerun_low, rerun_high, inside_rerun (inside the rerun interval; NaN where the sidecar gives none).
    """
    if not figures:
        raise ValueError("no figures to compare: check the folder and the name prefixes")
    tables = []
    for figure in figures:
        ours = intervals(_values(published, figure))
        theirs = intervals(_values(rerun, figure))[["part", "position", "quantity", "label", "value"]]
        theirs = theirs.rename(columns={"value": "rerun", "label": "rerun_label"})
        both = ours.merge(theirs, on=["part", "position", "quantity"], how="left")
        clash = both[both.rerun_label.notna() & (both.rerun_label != both.label)]
        if len(clash):
            r = clash.iloc[0]
            raise ValueError(
                f"{figure} {r.part}[{r.position}]: published '{r.label}', rerun '{r.rerun_label}': "
                "the two runs list different records (other settings or another version of the code)"
            )
        tables.append(both.drop(columns="rerun_label").assign(figure=figure))
    out = pd.concat(tables, ignore_index=True)
    inside = (out.rerun >= out.low) & (out.rerun <= out.high)
    out["inside"] = inside.where(out.rerun.notna())
    in_rerun = (out.rerun >= out.rerun_low) & (out.rerun <= out.rerun_high)
    out["inside_rerun"] = in_rerun.where(out.rerun.notna() & out.rerun_low.notna())
    out["shift"] = out.rerun - out.value
    return out[
        ["figure", *_COLUMNS[:-2], "rerun", "inside", "shift", "rerun_low", "rerun_high", "inside_rerun"]
    ]


def summary(table: pd.DataFrame) -> pd.DataFrame:
    """Per figure: intervals, how many the rerun has, how many it lands inside; how many give a rerun
    interval and how many of those it lands inside; the largest |shift| and the largest |shift| relative to
    the CI's half-width."""
    t = table.assign(
        rel=(table["shift"].abs() / ((table.high - table.low) / 2)).where(table.high > table.low)
    )
    g = t.groupby("figure", sort=False)
    return pd.DataFrame(
        {
            "intervals": g.size(),
            "in rerun": g.rerun.count(),
            "inside": g.inside.sum().astype(int),
            "with rerun interval": g.inside_rerun.count(),
            "inside rerun interval": g.inside_rerun.sum().astype(int),
            "largest |shift|": g["shift"].apply(lambda s: s.abs().max()),
            "largest |shift| / half-width": g.rel.max(),
        }
    )


def figures_named(folder: Path, prefixes: Sequence[str]) -> list[str]:
    """Names of the sidecars in folder whose names start with one of prefixes (all when none given)."""
    names = sorted(p.stem for p in folder.glob("*.json"))
    return [n for n in names if not prefixes or n.startswith(tuple(prefixes))]


def _git(folder: Path, figure: str) -> str:
    return str(json.loads((folder / f"{figure}.json").read_text()).get("git", "?"))


def record(table: pd.DataFrame, what: str, published: Path, rerun: Path) -> dict:
    """A comparison as a JSON-able record for benchmarks/reruns/ (the README's reruns section reads it):
    what the rerun was, the git of both sides, the per-figure summary and every value outside its CI or its
    rerun interval."""
    first = str(table.figure.iloc[0])
    outside = table[(table.inside == False) | (table.inside_rerun == False)]  # noqa: E712 (NaN: no interval)
    return {
        "what": what,
        "published_git": _git(published, first),
        "rerun_git": _git(rerun, first),
        "summary": summary(table).reset_index().to_dict(orient="records"),
        "outside": outside.to_dict(orient="records"),
        "missing": int(table.rerun.isna().sum()),
    }


def reruns_dir() -> Path:
    return paths.project_root() / "benchmarks" / "reruns"


def readme_section(folder: Path | None = None) -> str:
    """The README's reruns section: every record in benchmarks/reruns/, oldest first (folder: unused, the
    sections' common signature)."""
    found = sorted(reruns_dir().glob("*.json"))
    if not found:
        return "No rerun compared with the published intervals yet (`python -m invariance.report.reruns`)."
    out = []
    head = (
        "| figure | intervals | in rerun | inside the CI | with a rerun interval | inside it | "
        "largest shift / CI half-width |\n|" + " --- |" * 7
    )
    for path in found:
        r = json.loads(path.read_text())
        rows = "\n".join(
            f"| {s['figure']} | {s['intervals']} | {s['in rerun']} | {s['inside']} | "
            f"{s.get('with rerun interval', 0)} | {s.get('inside rerun interval', 0)} | "
            f"{s['largest |shift| / half-width']:.2f} |"
            for s in r["summary"]
        )
        total = sum(s["intervals"] for s in r["summary"])
        inside = sum(s["inside"] for s in r["summary"])
        with_rerun = sum(s.get("with rerun interval", 0) for s in r["summary"])
        in_rerun = sum(s.get("inside rerun interval", 0) for s in r["summary"])
        text = (
            f"{r['what']} (`benchmarks/reruns/{path.name}`; published sidecars at git "
            f"{r['published_git']}, rerun at git {r['rerun_git']}): the rerun's value lies inside "
            f"**{inside} of {total}** published 95% CIs"
        )
        if with_rerun:
            text += (
                f", and inside **{in_rerun} of {with_rerun}** rerun intervals (given where a number depends "
                "on training or random initialisation: where a rerun with new trainings should land 95% of "
                "the time)"
            )
        if r["missing"]:
            text += f"; {r['missing']} intervals have no value in the rerun"
        misses = [o for o in r["outside"] if o.get("inside_rerun") is False]
        if misses:
            m = max(misses, key=lambda o: abs(o["shift"]) / max(o["rerun_high"] - o["rerun_low"], 1e-12))
            text += (
                f". Farthest outside its rerun interval: {m['figure']} {_named(path, m)} {m['quantity']}, "
                f"published {m['value']:.3f}, rerun interval [{m['rerun_low']:.3f}, {m['rerun_high']:.3f}], "
                f"rerun {m['rerun']:.3f}"
            )
        if any(o["inside"] is False for o in r["outside"]):
            worst = max(
                (o for o in r["outside"] if o["inside"] is False),
                key=lambda o: abs(o["shift"]) / max(o["high"] - o["low"], 1e-12),
            )
            text += (
                f". Farthest outside its CI: {worst['figure']} {_named(path, worst)} {worst['quantity']}, "
                f"published {worst['value']:.3f} [{worst['low']:.3f}, {worst['high']:.3f}], "
                f"rerun {worst['rerun']:.3f}"
            )
        out.append(text + ".\n\n" + head + "\n" + rows)
    return "\n\n".join(out)


def main(argv: Sequence[str] | None = None) -> int:
    """python -m invariance.report.reruns PUBLISHED RERUN [PREFIX ...] [--save FILE --what TEXT]: the summary,
    then every value outside; --save writes the record the README's reruns section shows."""
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("published", type=Path, help="folder of the published sidecars (e.g. figures/)")
    parser.add_argument("rerun", type=Path, help="folder of the rerun's sidecars")
    parser.add_argument("prefixes", nargs="*", help="figure name prefixes, e.g. 07 09 (default: all)")
    parser.add_argument(
        "--save", type=Path, help="write the comparison as JSON (e.g. benchmarks/reruns/x.json)"
    )
    parser.add_argument("--what", default="a rerun", help="what the rerun was, for the saved record")
    args = parser.parse_args(argv)
    for folder in (args.published, args.rerun):
        if not folder.is_dir():
            parser.error(f"{folder} is not a folder of figure sidecars")
    names = figures_named(args.published, args.prefixes)
    if not names:
        parser.error(f"no sidecar in {args.published} starts with {' or '.join(args.prefixes)}")
    try:
        table = compare(args.published, args.rerun, names)
    except (FileNotFoundError, ValueError) as e:
        parser.error(str(e))
    with pd.option_context("display.width", 200, "display.max_rows", 500, "display.max_colwidth", 70):
        print(summary(table).to_string(float_format=lambda v: f"{v:.3g}"))
        outside = table[table.inside == False]  # noqa: E712 (NaN: not in the rerun)
        missing = int(table.rerun.isna().sum())
        print(f"\n{len(outside)} of {table.rerun.count()} rerun values outside the published 95% intervals")
        if missing:
            print(f"{missing} published intervals have no value in the rerun")
        if len(outside):
            print(outside.to_string(index=False, float_format=lambda v: f"{v:.4f}"))
    if args.save:
        files.atomic_write_text(
            args.save, json.dumps(record(table, args.what, args.published, args.rerun), indent=1)
        )
        print(f"saved {args.save}")
    return 1 if len(outside) or missing else 0


if __name__ == "__main__":
    raise SystemExit(main())
