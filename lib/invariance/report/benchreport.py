"""The README's speed section, written from the `make bench` result files (benchmarks/results/*.json).

One block per file (CPU first, then GPUs): the variants table, the naive reference, the runner against
the forward pass per Table 1 protocol, and the inpainting cost against the forward pass, each timing as
median [min-max] over the run's alternating rounds. The targets (issue 17) are checked, not asserted:
the text says whether the run met them.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Sequence
from pathlib import Path

from invariance.core import paths

# Targets: runner speed / forward speed at the default batch, for every Table 1 protocol but inpainting;
# inpainting per frame against one forward pass per frame.
RUNNER_TARGET = {"cpu": 0.95, "cuda": 0.9}
INPAINT_TARGET = 3.0


def results_dir() -> Path:
    return paths.project_root() / "benchmarks" / "results"


def load_results(folder: Path | None = None) -> list[tuple[str, dict]]:
    """(file name, record) of every result file, CPU runs first, then by name."""
    folder = folder or results_dir()
    found = sorted(folder.glob("*.json"), key=lambda p: (not p.name.startswith("cpu-"), p.name))
    out = []
    for path in found:
        record = json.loads(path.read_text())
        if not isinstance(record.get("variants", [{}])[0].get("runner_over_forward"), dict):
            raise ValueError(
                f"{path.name} was written by an older `make bench` (no min/median/max): rerun `make bench`"
                " on that device, or delete the file"
            )
        out.append((path.name, record))
    return out


def shard_timed(sh: dict) -> bool:
    """Whether a record's sharded comparison was timed (not skipped, not failed)."""
    return "sharded_over_one" in sh


def shard_outcome(sh: dict) -> str:
    """'skipped (why)' or 'failed (why)' for a sharded comparison that was not timed."""
    return (
        f"skipped ({sh['skipped']})" if "skipped" in sh else f"failed ({sh.get('failed', 'no reason kept')})"
    )


def median_range(r: dict[str, float], fmt: str = ".1f") -> str:
    """A min / median / max record as 'median [min-max]'."""
    return f"{r['median']:{fmt}} [{r['min']:{fmt}}-{r['max']:{fmt}}]"


def _device_type(name: str) -> str:
    return "cpu" if name.startswith("cpu-") else "cuda"


def block(name: str, r: dict) -> str:
    """Markdown for one result file."""
    kind = _device_type(name)
    target = RUNNER_TARGET[kind]
    when = r["when"][:10]
    lines = [
        f"**{r['device']}** (torch {r['torch']}, {r['threads']} threads; `benchmarks/results/{name}`, "
        f"{when}, git {r['git']}): {r['model']}, {r['protocol']}, {r['images']} images x "
        f"{r['frames_per_image']} frames, default batch {r['batch']}; median [min-max] of {r['repeats']} "
        "alternating rounds.",
        "",
        "| variant | forward frames/s | runner frames/s | runner / forward | top-1 flips vs float32 "
        f"| {'peak GPU MB' if kind == 'cuda' else 'peak RSS MB (process so far)'} |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for v in r["variants"]:
        lines.append(
            f"| {v['variant']} | {median_range(v['forward_frames_per_s'])} | "
            f"{median_range(v['runner_frames_per_s'])} | {median_range(v['runner_over_forward'], '.2f')} | "
            f"{v['top1_flips_vs_float32']} of {v['pairs']} pairs | "
            f"{v['peak_memory_mb']:.0f} |"
        )
    nv = r["naive"]
    lines += [
        "",
        f"Naive reference (per pair: PIL paste of both frames, normalise, a batch of two; {nv['images']} "
        f"images): {median_range(nv['pairs_per_s'])} pairs/s; the runner at the default batch is "
        f"**{r['runner_speedup_over_naive']:.1f}x** faster (medians); top-1 agrees with the runner: "
        f"{'yes' if nv['top1_agrees_with_runner'] else 'NO'}.",
    ]
    if r.get("protocols"):
        rows = r["protocols"]
        checked = [c for c in rows if c["protocol"] != "inpaint"]
        met = all(c["runner_over_forward"]["median"] >= target for c in checked)
        lines += [
            "",
            f"Runner / forward per Table 1 protocol ({rows[0]['frames']} frames each, default batch, "
            f"float32; target >= {target} for all but inpainting: **{'met' if met else 'not met'}**):",
            "",
            "| protocol | runner / forward | forward frames/s | frame building s |",
            "| --- | --- | --- | --- |",
        ]
        for c in rows:
            lines.append(
                f"| {c['protocol']} | {median_range(c['runner_over_forward'], '.2f')} | "
                f"{median_range(c['forward_frames_per_s'])} | {median_range(c['build_s'], '.3f')} |"
            )
    sh = r.get("sharding")
    if sh and not shard_timed(sh):
        lines += ["", f"`invariance measure`, one process against `torchrun`: {shard_outcome(sh)}."]
    elif sh:
        lines += [
            "",
            f"`invariance measure` on {sh['images']} images (black protocol), the whole command timed "
            f"(process start, imports and model load included; empty cache each time): one process "
            f"{median_range(sh['one_process_images_per_s'], '.2f')} images/s, `torchrun --nproc_per_node "
            f"{sh['processes']}` {median_range(sh['sharded_images_per_s'], '.2f')} images/s: "
            f"**{sh['sharded_over_one']['median']:.2f}x** (median of per-round ratios).",
        ]
    ip = r.get("inpainting")
    if ip:
        forward_ms = 1000 / r["variants"][0]["forward_frames_per_s"]["median"]
        ours_ms = ip["ours_s_per_frame"] * 1000
        times = ours_ms / forward_ms
        spread_ms = {k: v * 1000 for k, v in ip["ours_s_per_frame_spread"].items()}
        digits = ".1f" if forward_ms >= 1 else ".3f"
        met = "met" if times <= INPAINT_TARGET else "not met"
        lines += [
            "",
            f"Inpainting ({ip['frames']} frames at once): {median_range(spread_ms, digits)} "
            f"ms per frame = **{times:.1f}x** one {r['model']} forward pass per frame "
            f"({forward_ms:{digits}} ms; "
            f"target <= {INPAINT_TARGET:g}x: {met}); the official "
            f"SciPy code takes {ip['official_s_per_frame'] * 1000:.0f} ms per frame ({ip['official_frames']} "
            f"frames): x{ip['speedup']:.0f}, max |difference| {ip['max_abs_diff']:.1e}.",
        ]
    return "\n".join(lines)


def readme_section(folder: Path | None = None) -> str:
    """The README's generated speed section (every result file); `folder` is the figures folder of
    `findings.render_readme` and is not used: the numbers come from benchmarks/results/."""
    results = load_results()
    if not results:
        return "No `make bench` results yet: run `make bench`."
    if not any(_device_type(n) == "cuda" for n, _ in results):
        tail = "\n\nNo GPU result file: GPU numbers are unmeasured."
    else:
        tail = ""
    return "\n\n".join(block(n, r) for n, r in results) + tail


def side_by_side_dir() -> Path:
    return paths.project_root() / "benchmarks" / "side-by-side"


def parse_side_by_side(text: str) -> dict[str, dict[str, list[float]]]:
    """A `tools/gpu_runner_profile.py ... timing` log of alternating codes ('== round R, old code' headers,
    then 'protocol: M frames | runner X ms, forward alone Y ms (ratio Z), ...' lines) ->
    {protocol: {"old": [ratio per round], "new": [...]}}; lines starting with '#' are comments."""
    out: dict[str, dict[str, list[float]]] = {}
    code = None
    for line in text.splitlines():
        if line.startswith("== round"):
            code = line.rsplit(",", 1)[1].split()[0]
        elif "frames | runner" in line and code is not None:
            name = line.split(":", 1)[0]
            ratio = float(line.split("(ratio ", 1)[1].split(")", 1)[0])
            out.setdefault(name, {}).setdefault(code, []).append(ratio)
    return out


def _codes(text: str, name: str) -> dict[str, str]:
    """{'before': commit, 'after': commit} from a log's '# before: code X; after: code Y' line."""
    for line in text.splitlines():
        if line.startswith("# before:"):
            pairs = [part.strip().partition(": code ") for part in line[2:].split(";")]
            if all(sep for _, sep, _ in pairs):
                return {key: code.strip() for key, _, code in pairs}
    raise ValueError(f"benchmarks/side-by-side/{name}: no '# before: code X; after: code Y' line")


def side_by_side_section(folder: Path | None = None) -> str:
    """The README's before/after tables of runner / forward, one per log in benchmarks/side-by-side/."""
    blocks = []
    for path in sorted(side_by_side_dir().glob("*.txt")):
        text = path.read_text()
        parsed = parse_side_by_side(text)
        codes = _codes(text, path.name)
        rows = [
            f"| {name} | {', '.join(f'{v:.3f}' for v in r.get('old', []))} | "
            f"{', '.join(f'{v:.3f}' for v in r.get('new', []))} |"
            for name, r in parsed.items()
        ]
        blocks.append(
            f"`benchmarks/side-by-side/{path.name}` (runner / forward from the fastest of 3 runs of each, "
            "per round; the rounds alternate the two codes on one machine):\n\n"
            f"| protocol | before ({codes.get('before', '?')}) | after ({codes.get('after', '?')}) |\n"
            "| --- | --- | --- |\n" + "\n".join(rows)
        )
    return "\n\n".join(blocks) if blocks else "No side-by-side log in benchmarks/side-by-side/."


def make_figures_dir() -> Path:
    return paths.project_root() / "benchmarks" / "make-figures"


def make_figures_section(folder: Path | None = None) -> str:
    """The README's `make figures` timing table: the newest cold (empty cache, fresh clone) and warm run
    records in benchmarks/make-figures/ (copies of build/notebooks/default/timing.json)."""
    runs = {}
    for kind in ("cold", "warm"):
        found = sorted(make_figures_dir().glob(f"default-{kind}-*.json"))
        if found:
            runs[kind] = (found[-1].name, json.loads(found[-1].read_text()))
    if "cold" not in runs:
        return "No timed `make figures` run recorded in benchmarks/make-figures/."
    names = [n for n in runs["cold"][1]["seconds"] if n != "total"]
    head = "| notebook | cold s | warm s |\n| --- | --- | --- |"
    rows = []
    for name in [*names, "total"]:
        cold = runs["cold"][1]["seconds"].get(name)
        warm = runs.get("warm", ("", {"seconds": {}}))[1]["seconds"].get(name)
        label = "**all nine**" if name == "total" else name
        rows.append(f"| {label} | {cold:,.1f} | {'-' if warm is None else f'{warm:,.1f}'} |")
    cold_name, cold = runs["cold"]
    text = (
        f"`make figures` from a fresh clone with an empty cache (`benchmarks/make-figures/{cold_name}`, "
        f"{cold['device']}, git {cold['git']}, finished {cold['finished'][:16]}): "
        f"**{cold['seconds']['total'] / 60:.1f} min**"
    )
    if "warm" in runs:
        warm_name, warm = runs["warm"]
        text += f"; rerun at once with the cache filled (`{warm_name}`): **{warm['seconds']['total']:.0f} s**"
    return text + ".\n\n" + head + "\n" + "\n".join(rows) + smoke_line()


def smoke_line() -> str:
    """One sentence on the newest smoke-profile record (benchmarks/make-figures/smoke-*.json), if any."""
    found = sorted(make_figures_dir().glob("smoke-*.json"))
    if not found:
        return ""
    run = json.loads(found[-1].read_text())
    each = [v for k, v in run["seconds"].items() if k != "total"]
    return (
        f"\n\nThe smoke profile (CI) ran each of its {len(each)} notebooks in "
        f"{min(each):.0f}-{max(each):.0f} s, {run['seconds']['total']:.0f} s in all "
        f"(`benchmarks/make-figures/{found[-1].name}`, {run['device']}, git {run['git']})."
    )


PROVENANCE = ("git", "created")  # sidecar fields that name the run, not its results


def _leaves(x: object, path: str = "") -> dict[str, object]:
    """{path: value} of every leaf of a JSON value."""
    if isinstance(x, dict):
        return {k: v for key, item in x.items() for k, v in _leaves(item, f"{path}/{key}").items()}
    if isinstance(x, list):
        return {k: v for i, item in enumerate(x) for k, v in _leaves(item, f"{path}[{i}]").items()}
    return {path: x}


def sidecar_difference(a: dict, b: dict) -> float | None:
    """0.0 when two sidecars hold the same values (provenance fields aside), else the largest relative
    difference between their numbers, or None when they differ in structure or in a non-number."""
    la, lb = (_leaves({k: v for k, v in d.items() if k not in PROVENANCE}) for d in (a, b))
    if la.keys() != lb.keys():
        return None
    worst = 0.0
    for key, x in la.items():
        y = lb[key]
        if x == y:
            continue
        if not all(isinstance(v, int | float) and not isinstance(v, bool) for v in (x, y)):
            return None
        worst = max(worst, abs(x - y) / max(abs(x), abs(y), 1e-300))
    return worst


def compare_bytes(published: Path, rerun: Path) -> dict:
    """The published figures folder against a rerun's: PNGs byte for byte, JSON sidecars value for value
    (provenance fields aside). {"identical": [...], "differ": {name: largest relative difference of a
    sidecar's numbers, or None (PNGs, or another structure)}, "missing": [...], "files": n}."""
    out: dict = {"identical": [], "differ": {}, "missing": []}
    for path in sorted(p for p in published.iterdir() if p.suffix in (".png", ".json")):
        other = rerun / path.name
        if not other.exists():
            out["missing"].append(path.name)
        elif path.suffix == ".png":
            same = paths.file_sha256(path) == paths.file_sha256(other)
            if same:
                out["identical"].append(path.name)
            else:
                out["differ"][path.name] = None
        else:
            diff = sidecar_difference(json.loads(path.read_text()), json.loads(other.read_text()))
            if diff == 0.0:
                out["identical"].append(path.name)
            else:
                out["differ"][path.name] = diff
    out["files"] = len(out["identical"]) + len(out["differ"]) + len(out["missing"])
    return out


def bitwise_section(folder: Path | None = None) -> str:
    """The README's sentence on the newest comparison of a rerun (benchmarks/make-figures/bytes-*.json)."""
    found = sorted(make_figures_dir().glob("bytes-*.json"))
    if not found:
        return "No byte-for-byte comparison of a rerun recorded yet."
    r = json.loads(found[-1].read_text())
    names = r["identical"] + list(r["differ"]) + r["missing"]
    same = {ext: sum(n.endswith(ext) for n in r["identical"]) for ext in (".png", ".json")}
    total = {ext: sum(n.endswith(ext) for n in names) for ext in (".png", ".json")}
    text = (
        f"{r['what']} (`benchmarks/make-figures/{found[-1].name}`, {r['when'][:10]}, commit {r['commit']}) "
        f"reproduced **{same['.png']} of {total['.png']}** committed PNGs byte for byte and "
        f"**{same['.json']} of {total['.json']}** sidecars value for value (run names and times aside)"
    )
    numbers = {n: d for n, d in r["differ"].items() if n.endswith(".json") and d is not None}
    if numbers:
        text += (
            f"; {', '.join(sorted(numbers))} differ by at most {max(numbers.values()):.1e} relative "
            "(float rounding)"
        )
    other = sorted(n for n, d in r["differ"].items() if n not in numbers)
    if other:
        text += f"; other differences: {', '.join(other)}"
    if r["missing"]:
        text += f"; missing from the rerun: {', '.join(r['missing'])}"
    return text + "."


def main(argv: Sequence[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description="Record a byte-for-byte comparison of a rerun's figures folder.")
    ap.add_argument("published", type=Path, help="the committed figures/ folder")
    ap.add_argument("rerun", type=Path, help="the rerun's figures/ folder")
    ap.add_argument("--commit", required=True, help="the commit both were made from")
    ap.add_argument("--what", required=True, help="what the rerun was, for the README")
    ap.add_argument("--save", type=Path, required=True, help="benchmarks/make-figures/bytes-<date>.json")
    args = ap.parse_args(argv)
    record = {
        "what": args.what,
        "commit": args.commit,
        "when": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        **compare_bytes(args.published, args.rerun),
    }
    args.save.write_text(json.dumps(record, indent=1))
    print(bitwise_section())


if __name__ == "__main__":
    main()
