"""The steps the notebooks take, one call each: runs over networks and protocols, reshaped for plotting.

Everything expensive goes through `evaluate.run`, so it is cached and resumable.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from . import aliasing, datasets, evaluate, metrics, protocols, results, typicality
from .images import SourceImage, from_paths
from .models import LoadedModel
from .protocols import Crop, Placement, Protocol, Scale, Translation


def frame_table(pairs: pd.DataFrame) -> pd.DataFrame:
    """Per-frame view of a pair table: image_id, label, frame, top1, p_true (frames 0..K-1)."""
    first = pairs.rename(columns={"frame_a": "frame", "top1_a": "top1", "p_true_a": "p_true"})
    last = pairs.sort_values("frame_b").groupby("image_id", sort=False).tail(1)
    last = last.rename(columns={"frame_b": "frame", "top1_b": "top1", "p_true_b": "p_true"})
    cols = ["image_id", "label", "frame", "top1", "p_true"]
    out = pd.concat([first[cols], last[cols]], ignore_index=True)
    return out.sort_values(["image_id", "frame"], ignore_index=True)


def path_matrix(pairs: pd.DataFrame, value: str = "p_true") -> pd.DataFrame:
    """(images x frames) table of a per-frame value along a path, rows sorted by mean value (high first)."""
    mat = frame_table(pairs).pivot(index="image_id", columns="frame", values=value)
    return mat.loc[mat.mean(axis=1).sort_values(ascending=False).index]


def jaggedness_by_image(pairs: pd.DataFrame) -> pd.Series:
    """Fraction of one-pixel steps whose top-1 changes, per image."""
    return metrics.per_image(pairs, "p_top1_change")


def jumpiest(pairs: pd.DataFrame, k: int) -> list[str]:
    """The k images whose P(correct class) curve varies most along the path (total variation)."""
    tv = (pairs.p_true_b - pairs.p_true_a).abs().groupby(pairs.image_id).sum()
    return list(tv.sort_values(ascending=False).index[:k])


def run_grid(
    models: Sequence[LoadedModel],
    conditions: Mapping[str, Protocol],
    images: Sequence[SourceImage],
    *,
    batch_size: int | None = None,
) -> dict[tuple[str, str], pd.DataFrame]:
    """Pair tables for every network x condition: {(model label, condition name): table}."""
    return {(m.label, name): evaluate.run(m, p, images, batch_size=batch_size)
            for m in models for name, p in conditions.items()}  # fmt: skip


def summary_table(tables: Mapping[tuple[str, str], pd.DataFrame], n_boot: int = 2000) -> pd.DataFrame:
    """Long table: model, condition, metric, value, ci_low, ci_high, pairs, images."""
    rows = []
    for (model, condition), table in tables.items():
        s = metrics.summarize(table, n_boot=n_boot).reset_index()
        rows.append(s.assign(model=model, condition=condition))
    cols = ["model", "condition", "metric", "value", "ci_low", "ci_high", "pairs", "images"]
    return pd.concat(rows, ignore_index=True)[cols]


def protocol_summary(
    models: Sequence[LoadedModel], images: Sequence[SourceImage], steps: int = 8
) -> pd.DataFrame:
    """summary_table of the Table 1 protocols for every network; an empty table (same columns) for none."""
    if not models:
        cols = ["model", "condition", "metric", "value", "ci_low", "ci_high", "pairs", "images"]
        return pd.DataFrame(columns=cols)
    return summary_table(run_grid(models, table1_protocols(steps), images))


def jaggedness_summary(tables: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
    """Per network: jaggedness (fraction of steps with a top-1 change) with a 95% CI over images."""
    rows = []
    for model, t in tables.items():
        v, lo, hi = metrics.bootstrap_ci(metrics.PAIR_METRICS["p_top1_change"](t), t.image_id)
        rows.append(
            {"model": model, "jaggedness": v, "ci_low": lo, "ci_high": hi, "images": t.image_id.nunique()}
        )
    return pd.DataFrame(rows).set_index("model")


# --- protocol sets -----------------------------------------------------------------------------------


def table1_protocols(steps: int = 8, seed: int = 0) -> dict[str, Protocol]:
    """The protocols of the quantification (Table 1 and beyond)."""
    return {
        "crop": Crop(steps=steps, seed=seed),
        "black": Translation(background="black", steps=steps, seed=seed),
        "mean": Translation(background="mean", steps=steps, seed=seed),
        "inpaint": Translation(background="inpaint", steps=steps, seed=seed),
        "scale": Scale(background="black", steps=steps, seed=seed),
    }


def sweep_conditions(
    crop_fractions: Sequence[float], embed_scales: Sequence[float], steps: int = 8, seed: int = 0
) -> dict[str, Protocol]:
    """The official object-scale sweep: crops of area fraction s, and centred square embeddings of
    int(224 / s) px on black and on the mean colour; plus the shift-before-rescale crop variant."""
    out: dict[str, Protocol] = {}
    for s in crop_fractions:
        out[f"crop|{s:g}"] = Crop(fraction=s, steps=steps, seed=seed)
        out[f"crop shift-before-rescale|{s:g}"] = Crop(
            fraction=s, steps=steps, seed=seed, shift_before_rescale=True
        )
    for s in embed_scales:
        for bg in ("black", "mean"):
            out[f"embed {bg}|{s:g}"] = Translation(background=bg, side=int(224 / s), shape="square",
                                                   position="center", steps=steps, seed=seed)  # fmt: skip
    return out


def split_condition(summary: pd.DataFrame) -> pd.DataFrame:
    """'variant|scale' condition names -> variant and scale columns."""
    parts = summary.condition.str.split("|", expand=True)
    return summary.assign(variant=parts[0], scale=parts[1].astype(float))


# --- single images and natural changes ---------------------------------------------------------------


def path_for_image(model: LoadedModel, image: SourceImage, protocol: Protocol) -> pd.DataFrame:
    """Per-frame table of one image along a path protocol (cached like any run)."""
    return frame_table(evaluate.run(model, protocol, [image], progress=False))


def frames_for_image(model: LoadedModel, image: SourceImage, protocol: Protocol) -> torch.Tensor:
    """The frames (K, 3, N, N) of one image under a protocol at the model's canvas (for thumbnails)."""
    canvas = model.data_config.input_size
    return protocols.build_frames(protocol, [image], canvas, model.data_config.mean)[0]


def natural_sequence(model: LoadedModel, frames: Sequence[SourceImage]) -> pd.DataFrame:
    """Per frame of a natural sequence (standard centre crop): top-1 class and name, and the probability
    of the first frame's top class."""
    probs = evaluate.forward_probs(model, evaluate.center_crop_frames(model, frames)).cpu()
    first_top = int(probs[0].argmax())
    names = datasets.class_names()
    top1 = probs.argmax(-1).numpy()
    return pd.DataFrame({
        "frame": [f.id for f in frames],
        "top1": top1,
        "top1_name": [names[i] for i in top1],
        "p_top1": probs.max(-1).values.numpy(),
        "first_class": names[first_top],
        "p_first_class": probs[:, first_top].numpy(),
    })  # fmt: skip


def stereo_motorcycle() -> list[SourceImage]:
    """The two views of scikit-image's stereo motorcycle: a real, small, natural change of viewpoint."""
    from skimage.data import stereo_motorcycle as load

    left, right, _ = load()
    return [SourceImage(name, -1, torch.from_numpy(np.ascontiguousarray(v.transpose(2, 0, 1))))
            for name, v in (("left view", left), ("right view", right))]  # fmt: skip


# --- placements (photographer's bias) ----------------------------------------------------------------


def placement_conditions(
    sides: Sequence[int], grid: int, canvas: int = 224, seed: int = 0
) -> dict[str, Protocol]:
    """One-pixel diagonal pairs of a square embedding at grid x grid positions for each side length.

    Condition names are 'side|row|col' with row/col the grid cell (0 = top/left)."""
    out: dict[str, Protocol] = {}
    for side in sides:
        for r in range(grid):
            for c in range(grid):
                out[f"{side}|{r}|{c}"] = Placement(side=side, cell=(r, c), grid=grid, seed=seed)
    return out


def placement_summary(tables: Mapping[tuple[str, str], pd.DataFrame]) -> pd.DataFrame:
    """P(top-1 change) and accuracy per model x side x grid cell, with CIs."""
    s = summary_table(tables, n_boot=500)
    parts = s.condition.str.split("|", expand=True).astype(int)
    return s.assign(side=parts[0], row=parts[1], col=parts[2])


def natural_frames(frames_dir: str | None) -> list[SourceImage]:
    """A user's folder of video frames (sorted by name), or the stereo motorcycle's two views."""
    if not frames_dir:
        return stereo_motorcycle()
    folder = Path(frames_dir).expanduser()
    files = sorted(p for p in folder.iterdir() if p.suffix.lower() in (".jpg", ".jpeg", ".png", ".bmp"))
    if len(files) < 2:
        raise FileNotFoundError(f"{folder} holds {len(files)} image files; a sequence needs at least two")
    return from_paths(files)


def path_example(model: LoadedModel, image: SourceImage, protocol: Protocol) -> dict:
    """One image along a path: its per-frame table, frames (for thumbnails) and step statistics."""
    curve = path_for_image(model, image, protocol)
    steps = np.diff(curve.p_true.to_numpy())
    return {
        "image": image,
        "curve": curve,
        "frames": frames_for_image(model, image, protocol),
        "stats": {
            "image": image.id,
            "frames": len(curve),
            "jaggedness": float(np.mean(curve.top1.to_numpy()[1:] != curve.top1.to_numpy()[:-1])),
            "max_step_change": float(np.abs(steps).max()),
            "p_true_range": (float(curve.p_true.min()), float(curve.p_true.max())),
        },
    }


def jumpiest_examples(
    model: LoadedModel, protocol: Protocol, images: Sequence[SourceImage], k: int
) -> list[dict]:
    """Run the path for every image (cached), then return path_example() of the k jumpiest."""
    table = evaluate.run(model, protocol, images)
    by_id = {img.id: img for img in images}
    return [path_example(model, by_id[i], protocol) for i in jumpiest(table, k)]


def run_path(
    models: Sequence[LoadedModel],
    path: Protocol,
    images: Sequence[SourceImage],
    *,
    batch_size: int | None = None,
) -> dict[str, pd.DataFrame]:
    """Pair tables of one path protocol for every network: {model label: table}."""
    grid = run_grid(models, {"path": path}, images, batch_size=batch_size)
    return {model: table for (model, _), table in grid.items()}


def path_matrices(tables: Mapping[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    """{model: (images x frames) P(correct class), rows sorted}."""
    return {model: path_matrix(t) for model, t in tables.items()}


def wide(summary: pd.DataFrame, columns: Sequence[str] = ("condition",)) -> pd.DataFrame:
    """Summary as 'value [low, high]' strings: rows model x metric, one column per condition."""
    triples = zip(summary.value, summary.ci_low, summary.ci_high, strict=True)
    text = summary.assign(cell=[f"{v:.3f} [{lo:.3f}, {hi:.3f}]" for v, lo, hi in triples])
    return text.pivot_table(index=["model", "metric"], columns=list(columns), values="cell", aggfunc="first",
                            sort=False)  # fmt: skip


def protocol_pairs(
    model: LoadedModel, image: SourceImage, conditions: Mapping[str, Protocol], pair: int = 0
) -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
    """Frames (pair, pair + 1) of one image under each protocol, at the model's canvas and mean colour."""
    out = {}
    for name, p in conditions.items():
        frames = frames_for_image(model, image, p)
        out[name] = (frames[pair], frames[pair + 1])
    return out


def pair_differences(pairs: Mapping[str, tuple[torch.Tensor, torch.Tensor]]) -> pd.DataFrame:
    """Per protocol: share of pixels that differ within the pair, and the mean absolute difference."""
    rows = []
    for name, (a, b) in pairs.items():
        d = (a - b).abs()
        rows.append({"protocol": name, "pixels_changed": float((d.amax(0) > 0).float().mean()),
                     "mean_abs_difference": float(d.mean())})  # fmt: skip
    return pd.DataFrame(rows).set_index("protocol")


def typical_vs_atypical(placements: pd.DataFrame) -> pd.DataFrame:
    """P(top-1 change) and accuracy at the most typical placement (largest side, central cell) against the
    least typical (smallest side, corner cells), and averaged over all, per network."""
    grid = placements.row.max() + 1
    centre = (grid - 1) / 2
    dist = (placements.row - centre).abs() + (placements.col - centre).abs()
    largest, smallest = placements.side.max(), placements.side.min()
    typical = placements[(placements.side == largest) & (dist == dist.min())]
    atypical = placements[(placements.side == smallest) & (dist == dist.max())]
    rows = []
    for label, part in (("typical: large, centred", typical), ("atypical: small, in a corner", atypical),
                        ("all placements", placements)):  # fmt: skip
        agg = part.groupby(["model", "metric"]).value.mean().unstack("metric")
        rows.append(agg[["p_top1_change", "accuracy"]].assign(placement=label))
    return pd.concat(rows).reset_index().set_index(["model", "placement"]).sort_index()


def _cached(slug: str, key: dict, compute) -> pd.DataFrame:
    """A small table computed once per key (see `results`): warm notebook runs skip the work."""
    return results.cached_table(slug, key, [None], lambda _: compute(), chunk_size=1)


def stage_invariance_table(models: Sequence[LoadedModel], protocol: Protocol, images: Sequence[SourceImage]):
    """aliasing.stage_invariance for every network, one long table (cached)."""
    ids = [img.id for img in images]
    tables = []
    for m in models:
        key = {"model": m.cache_key(), "protocol": protocol, "images": ids, "what": "stages"}
        tables.append(
            _cached(f"{m.name}-stages", key, lambda m=m: aliasing.stage_invariance(m, protocol, images))
        )
    return pd.concat(tables, ignore_index=True)


def periodicity_checks(models: Sequence[LoadedModel], images: Sequence[SourceImage], shifts: Sequence[int]):
    """aliasing.shift_periodicity for every network: {model label: table} (cached)."""
    ids = [img.id for img in images]
    checks = {}
    for m in models:
        key = {"model": m.cache_key(), "images": ids, "shifts": list(shifts), "what": "circular periodicity"}
        checks[m.label] = _cached(
            f"{m.name}-periodicity", key, lambda m=m: aliasing.shift_periodicity(m, images, shifts)
        )
    return checks


def periodicity_summary(checks: Mapping[str, pd.DataFrame], stride: int = 32) -> pd.DataFrame:
    """Per network: the largest logit change at multiples of the stride, and the smallest elsewhere."""
    rows = []
    for model, t in checks.items():
        on = t["shift"] % stride == 0
        rows.append({"model": model, f"max at multiples of {stride}": t.max_abs_logit_diff[on].max(),
                     "min at other shifts": t.max_abs_logit_diff[~on & (t["shift"] > 0)].min()})  # fmt: skip
    return pd.DataFrame(rows).set_index("model")


def typicality_tables(
    models: Sequence[LoadedModel],
    protocol: Protocol,
    images: Sequence[SourceImage],
    reference: Sequence[SourceImage],
    k: int = 10,
) -> dict[str, pd.DataFrame]:
    """typicality.frame_typicality per network (cached): {model label: table}."""
    out = {}
    for m in models:
        key = {"model": m.cache_key(), "protocol": protocol, "images": [i.id for i in images],
               "reference": [r.id for r in reference], "k": k, "what": "typicality"}  # fmt: skip

        def compute(m=m):
            return typicality.frame_typicality(m, protocol, images, reference, k)

        out[m.label] = _cached(f"{m.name}-typicality", key, compute)
    return out


def typicality_summary(
    pairs: Mapping[tuple[str, str], pd.DataFrame], typ: Mapping[str, pd.DataFrame], bins: int
) -> pd.DataFrame:
    """Per network: metrics per typicality bin (long table with a model column) and the rank correlation."""
    rows = []
    for (model, _), table in pairs.items():
        b = typicality.by_typicality(table, typ[model], bins=bins).reset_index()
        rows.append(b.assign(model=model, spearman=typicality.rank_correlation(table, typ[model])))
    return pd.concat(rows, ignore_index=True)
