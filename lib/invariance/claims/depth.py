"""Claim 2 under controls (notebook 03): are deeper networks less invariant once the object's size and the
network's competence are held fixed?

EfficientNet-Lite0/1/2 run at 224/240/260 px canvases, so "the same embedding" means either the same
fraction of each canvas (sides given for 224 scale with N: 100 -> 107 -> 116 px) or the same size in
pixels (100 px everywhere); larger objects are measurably more stable (notebooks 05, 09), so the two can
order the networks differently. A third comparison keeps only the images every network classifies correctly
on the path's first frame (competence held fixed); a fourth uses real photos at their natural framing
(notebook 08's crop runs, which are the same fraction of every canvas).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence

import pandas as pd

from invariance.kernels import metrics
from invariance.runner import evaluate
from invariance.runner.protocols import Translation, scaled
from invariance.sources.images import SourceImage
from invariance.sources.models import LoadedModel

COMPARISONS = {
    "fraction": "object the same fraction of each canvas",
    "pixels": "object the same size in pixels",
    "all correct": "same fraction, only images every\nnetwork gets right on frame 0",
    "photos": "real photos, natural framing",
}


def side_for_pixels(pixels: int, canvas: int) -> int:
    """The side (given for a 224 canvas, as protocols take it) that is `pixels` px at canvas N."""
    guess = round(pixels * 224 / canvas)
    for side in (guess, guess - 1, guess + 1):
        if side >= 1 and scaled(side, canvas) == pixels:
            return side
    raise ValueError(f"no integer side gives a {pixels} px object on a {canvas} px canvas")


def pixel_matched(path: Translation, pixels: int, canvas: int) -> Translation:
    """The same path with the object `pixels` px on an N = canvas px canvas."""
    return dataclasses.replace(path, side=side_for_pixels(pixels, canvas))


def pixel_matched_runs(
    models: Sequence[LoadedModel], path: Translation, pixels: int, images: Sequence[SourceImage]
) -> dict[str, pd.DataFrame]:
    """Pair tables of the path with the object `pixels` px on each network's own canvas (cached runs)."""
    return {
        m.label: evaluate.run(m, pixel_matched(path, pixels, m.data_config.input_size), images)
        for m in models
    }


def only(tables: Mapping[str, pd.DataFrame], ids: Sequence[str]) -> dict[str, pd.DataFrame]:
    """The pair tables restricted to the images in ids."""
    return {model: t[t.image_id.isin(ids)] for model, t in tables.items()}


def all_correct(tables: Mapping[str, pd.DataFrame]) -> list[str]:
    """Ids of the images every network classifies correctly on the first frame of its path (frame_a == 0)."""
    sets = []
    for t in tables.values():
        first = t[t.frame_a == 0]
        sets.append(set(first.image_id[first.top1_a == first.label]))
    return sorted(set.intersection(*sets)) if sets else []


def depth_table(comparisons: Mapping[str, Mapping[str, pd.DataFrame]], n_boot: int = 2000) -> pd.DataFrame:
    """P(top-1 change) per one-pixel step and accuracy (of the frames), 95% CIs over images, per comparison
    and network. comparisons: {comparison: {model: pair table}}. Columns: comparison, model, p_top1_change,
    ci_low, ci_high, accuracy, accuracy_low, accuracy_high, images."""
    rows = []
    for name, tables in comparisons.items():
        for model, t in tables.items():
            s = metrics.summarize(t, n_boot=n_boot)
            p, a = s.loc["p_top1_change"], s.loc["accuracy"]
            rows.append(
                {
                    "comparison": name,
                    "model": model,
                    "p_top1_change": p.value,
                    "ci_low": p.ci_low,
                    "ci_high": p.ci_high,
                    "accuracy": a.value,
                    "accuracy_low": a.ci_low,
                    "accuracy_high": a.ci_high,
                    "images": int(p.images),
                }
            )
    return pd.DataFrame(rows)


def differences(comparisons: Mapping[str, Mapping[str, pd.DataFrame]]) -> pd.DataFrame:
    """Per comparison: P(top-1 change) of the deepest network minus the shallowest's (the first and last
    networks in the order given: shallowest first), paired over the images both ran on, with a 95% CI
    (metrics.difference_ci, one run each) and the verdict on "deeper is less invariant": reproduced (CI
    above 0), reversed (below 0), inconclusive (includes 0), or "needs two networks"."""
    rows = []
    for name, tables in comparisons.items():
        models = list(tables)
        row = {
            "comparison": name,
            "shallower": models[0] if models else None,
            "deeper": models[-1] if models else None,
        }
        if len(models) < 2:
            rows.append({**row, "verdict": "needs two networks"})
            continue
        first, last = tables[models[0]], tables[models[-1]]
        if first.empty or last.empty:  # e.g. no image every (untrained) network gets right
            rows.append({**row, "verdict": "no images"})
            continue
        d, lo, hi, p = metrics.difference_ci(last.assign(seed=0), first.assign(seed=0), "p_top1_change")
        verdict = "reproduced" if lo > 0 else "reversed" if hi < 0 else "inconclusive"
        rows.append({**row, "difference": d, "low": lo, "high": hi, "p": p, "verdict": verdict})
    return pd.DataFrame(rows)
