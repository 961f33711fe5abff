"""Claim 3 on real framing (notebook 08, its main test): is a network's output less stable under a one-pixel
shift or growth when the object of a real photo is small, or placed and sized atypically for a photograph?

The photos keep their natural framing (no embedding): the 1,300 ILSVRC2012 validation photos of
`ilsvrc2012-val-227` (squashed to 227 x 227 by their source), or a user's val folder, each with its
largest validation box. Typicality of an object [ours, stated]: the log density of the photographer's
distribution at its (centre x, centre y, log area fraction), a Gaussian KDE (Scott's bandwidth) over the
largest boxes of every *other* val image (about 48,700), so no image is its own reference. In real photos
size and placement go together (a large object must sit near the centre), so the joint density mostly
measures size; placement given size, log p(x, y | log area) = the joint log density minus that of log area
alone, asks whether an object sits where objects *of its size* usually sit.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from scipy.stats import gaussian_kde

from invariance.claims import bias
from invariance.kernels import metrics
from invariance.presentation.figures import label, use_style
from invariance.presentation.text import (
    INCONCLUSIVE,
    NOT_REPRODUCED,
    REPRODUCED,
    Values,
    model_name,
    tidy_frame,
    verdict_text,
)
from invariance.sources import datasets
from invariance.sources.images import SourceImage
from invariance.sources.models import display_name

# stratifier column -> what the figure and the findings call it
STRATIFIERS = {
    "area": "object size: sqrt(box area / image area)",  # bins and ranks of area; ticks show sqrt, as 06
    "typicality": "typicality of position and size (log density)",
    "placement": "typicality of placement given size (log conditional density)",
}
PARTIAL = "placement | area"  # correlations(): placement typicality, the ranks of size partialled out


def load_photos(n: int | None, seed: int = 0, val_dir: str | Path | None = None) -> list[SourceImage]:
    """n seeded photos (None: all) of a val folder, or (val_dir None) of the squashed val-227 set."""
    if val_dir:
        return datasets.load_val(val_dir, n, seed)
    return datasets.load_val227(n, seed)


def scale_box(
    box: tuple[float, float, float, float], original_wh: tuple[float, float], image_hw: tuple[int, int]
) -> tuple[float, float, float, float]:
    """A box (x0, y0, x1, y1) in the original photo's pixels (W, H) -> the same box in the pixels of the
    photo as loaded (h, w): x * w / W, y * h / H (val-227 photos were squashed to 227 x 227)."""
    (x0, y0, x1, y1), (W, H), (h, w) = box, original_wh, image_hw
    sx, sy = w / W, h / H
    return x0 * sx, y0 * sy, x1 * sx, y1 * sy


def largest_boxes(boxes: pd.DataFrame) -> pd.DataFrame:
    """One row per val image (index image_id = file stem): its largest box (bias.load_boxes columns), with
    area = box area / image area and n_boxes = how many boxes the image has."""
    t = boxes.assign(
        image_id=boxes.file.map(lambda f: Path(f).stem),
        area=(boxes.x1 - boxes.x0) * (boxes.y1 - boxes.y0) / (boxes.W * boxes.H),
    )
    n_boxes = t.groupby("image_id").size().rename("n_boxes")
    largest = t.sort_values(["image_id", "area"], ascending=[True, False]).drop_duplicates("image_id")
    return largest.set_index("image_id").join(n_boxes)


def photo_objects(images: Sequence[SourceImage], boxes: pd.DataFrame | None = None) -> pd.DataFrame:
    """Per photo: its largest box in the loaded photo's pixels (x0, y0, x1, y1), normalised centre (cx, cy),
    area, n_boxes, label. Raises KeyError naming the photos that have no val box."""
    big = largest_boxes(bias.load_boxes() if boxes is None else boxes)
    missing = [img.id for img in images if img.id not in big.index]
    if missing:
        raise KeyError(
            f"{len(missing)} photos have no ILSVRC2012 val box (e.g. {missing[0]!r}); the real-framing test "
            "needs val photos under their original names (ILSVRC2012_val_*.JPEG)"
        )
    rows = []
    for img in images:
        r = big.loc[img.id]
        x0, y0, x1, y1 = scale_box((r.x0, r.y0, r.x1, r.y1), (r.W, r.H), img.size)
        rows.append(
            {
                "image_id": img.id,
                "label": img.label,
                "x0": x0,
                "y0": y0,
                "x1": x1,
                "y1": y1,
                "cx": r.cx,
                "cy": r.cy,
                "area": r.area,
                "n_boxes": int(r.n_boxes),
            }
        )
    return pd.DataFrame(rows).set_index("image_id")


def _features(t: pd.DataFrame) -> np.ndarray:
    """(3, n) rows centre x, centre y, log area: gaussian_kde's layout."""
    return np.stack([t.cx.to_numpy(), t.cy.to_numpy(), np.log(t.area.to_numpy())])


def with_typicality(objects: pd.DataFrame, boxes: pd.DataFrame | None = None) -> pd.DataFrame:
    """objects (photo_objects) plus typicality (joint log density of centre and log area) and placement
    (log density of the centre given the log area), both from the largest boxes of all val images except
    these photos."""
    big = largest_boxes(bias.load_boxes() if boxes is None else boxes)
    reference = _features(big[~big.index.isin(objects.index)])
    query = _features(objects)
    out = objects.copy()
    out["typicality"] = gaussian_kde(reference).logpdf(query)
    out["placement"] = out.typicality - gaussian_kde(reference[2]).logpdf(query[2])
    return out


def framing_summary(
    tables: Mapping[tuple[str, str], pd.DataFrame], objects: pd.DataFrame, bins: int, n_boot: int = 1000
) -> pd.DataFrame:
    """P(top-1 change) and accuracy per quantile bin of each stratifier, per network and protocol, 95% CIs
    over photos. tables: {(model, protocol): pair table}. Long table: model, protocol, stratifier, bin,
    from, to, images, p_top1_change(_low/_high), accuracy(_low/_high)."""
    parts = []
    for (model, protocol), table in tables.items():
        for column in STRATIFIERS:
            b = metrics.by_quantile(
                table, objects[column], bins, metrics=("p_top1_change", "accuracy"), n_boot=n_boot
            )
            parts.append(b.assign(model=model, protocol=protocol, stratifier=column))
    cols = ["model", "protocol", "stratifier"]
    t = pd.concat(parts, ignore_index=True)
    return t[cols + [c for c in t.columns if c not in cols]]


def correlations(
    tables: Mapping[tuple[str, str], pd.DataFrame], objects: pd.DataFrame, n_boot: int = 1000
) -> pd.DataFrame:
    """Spearman rank correlation, over photos, of each stratifier with the photo's P(top-1 change), with a
    95% bootstrap CI over photos; and PARTIAL (placement typicality with the ranks of size partialled out:
    removes a monotone trend with size, not a U-shaped one). Columns: model, protocol, stratifier, rho,
    low, high, images."""
    rows = []
    for (model, protocol), table in tables.items():
        change = metrics.per_image(table, "p_top1_change")
        for column in (*STRATIFIERS, PARTIAL):
            x, control = (objects.placement, objects.area) if column == PARTIAL else (objects[column], None)
            rho, low, high = metrics.spearman_ci(x, change, control, n_boot=n_boot)
            rows.append(
                {
                    "model": model,
                    "protocol": protocol,
                    "stratifier": column,
                    "rho": rho,
                    "low": low,
                    "high": high,
                    "images": int(change.index.isin(objects.index).sum()),
                }
            )
    return pd.DataFrame(rows)


def overall(tables: Mapping[tuple[str, str], pd.DataFrame], n_boot: int = 1000) -> pd.DataFrame:
    """Per network and protocol over all photos: P(top-1 change) and accuracy (of the frames) with 95% CIs.
    Columns: model, protocol, metric, value, ci_low, ci_high, pairs, images."""
    s = metrics.summary_table(tables, n_boot=n_boot)
    return s[s.metric.isin(["p_top1_change", "accuracy"])].rename(columns={"condition": "protocol"})


# --- figures (the notebook calls these; save_figure writes them with their sidecars) ---


FRAMING_PROTOCOLS = {"crop": "one-pixel shift of the view (crop protocol)", "zoom": "one-pixel zoom"}


def _tick(fmt: str, x: float) -> str:
    text = fmt.format(x)
    return text[1:] if text.startswith("-") and float(text) == 0 else text  # no "-0.0"


def plot_real_framing(summary: pd.DataFrame, corr: pd.DataFrame, stratifiers: dict[str, str]) -> plt.Figure:
    """Real photos at their natural framing: P(top-1 change) per quantile bin of each stratifier (columns)
    for each protocol (rows), then accuracy (last row, first protocol's frames); one colour per network,
    95% CIs over photos; each legend gives the network's Spearman rho (photo's P(change) vs the stratifier)
    with its CI. summary: framing_summary; corr: correlations."""
    use_style()
    protocols = list(dict.fromkeys(summary.protocol))
    rows = [(p, "p_top1_change") for p in protocols] + [(protocols[0], "accuracy")]
    fig, axes = plt.subplots(len(rows), len(stratifiers), figsize=(4.1 * len(stratifiers), 2.9 * len(rows)))
    axes = np.atleast_2d(axes)
    models = list(dict.fromkeys(summary.model))
    width = 0.12
    for r, (protocol, metric) in enumerate(rows):
        for c, column in enumerate(stratifiers):
            ax = axes[r, c]
            for i, model in enumerate(models):
                t = summary[(summary.model == model) & (summary.protocol == protocol)]
                t = t[t.stratifier == column].sort_values("bin")
                x = t.bin + (i - (len(models) - 1) / 2) * width
                err = [t[metric] - t[f"{metric}_low"], t[f"{metric}_high"] - t[metric]]
                name = display_name(model)
                if metric == "p_top1_change":
                    # placement: the partial correlation (size ranks out), the statistic the verdict uses
                    shown = (
                        PARTIAL if column == "placement" and (corr.stratifier == PARTIAL).any() else column
                    )
                    k = corr[(corr.model == model) & (corr.protocol == protocol) & (corr.stratifier == shown)]
                    k = k.iloc[0]
                    name += f": rho {k.rho:+.2f} [{k.low:+.2f}, {k.high:+.2f}]"
                ax.errorbar(x, t[metric], yerr=err, fmt="o-", ms=3, capsize=2, color=f"C{i}", label=name)
            ticks = summary[(summary.stratifier == column)].drop_duplicates("bin").sort_values("bin")
            fmt = "{:.2f}" if column == "area" else "{:.1f}"
            scale = np.sqrt if column == "area" else float  # size as in 06: sqrt of the area fraction
            ax.set_xticks(
                ticks.bin,
                [
                    f"Q{b + 1}\n{_tick(fmt, scale(lo))} to {_tick(fmt, scale(hi))}"
                    for b, lo, hi in zip(ticks.bin, ticks["from"], ticks["to"], strict=True)
                ],
                fontsize=7,
            )
            ax.set_ylabel(label(metric) if metric != "accuracy" else "accuracy (frames)")
            if metric == "p_top1_change":  # one scale per row, headroom for the legend above the data
                row = summary[summary.protocol == protocol]
                ax.set_ylim(0, 1.55 * float(row[f"{metric}_high"].max()))
                title = (
                    "partial Spearman over photos\n(size ranks partialled out)"
                    if column == "placement"
                    else "Spearman over photos"
                )
                ax.legend(fontsize=6.5, loc="upper right", title=title, title_fontsize=6.5)
            if r == 0:
                ax.set_title(stratifiers[column], fontsize=9)
            if c == 0:
                what = FRAMING_PROTOCOLS.get(protocol, protocol)
                what = what if metric == "p_top1_change" else f"accuracy ({protocol} frames)"
                ax.annotate(
                    what,
                    xy=(-0.26, 0.5),
                    xycoords="axes fraction",
                    rotation=90,
                    ha="center",
                    va="center",
                    fontsize=9,
                    fontweight="bold",
                )
            if r == len(rows) - 1:
                ax.set_xlabel(
                    "quartile of photos (bin range)" if ticks.bin.nunique() == 4 else "bin of photos"
                )
    fig.tight_layout()
    return fig


# --- findings: one sentence per figure, from its sidecar, and the claim's verdict ---


def _framing(v: Values, stratifier: str) -> str:
    c = tidy_frame(v["correlations"])
    c = c[c.stratifier == stratifier]
    parts = []
    for model, g in c.groupby("model", sort=False):
        g = g.set_index("protocol")
        parts.append(
            f"{model_name(model)} "
            + " / ".join(f"{r.rho:+.2f} [{r.low:+.2f}, {r.high:+.2f}]" for _, r in g.iterrows())
        )
    return "; ".join(parts)


def f08_framing(v: Values) -> str:
    o = tidy_frame(v["overall"])
    protocols = list(dict.fromkeys(o.protocol))
    acc = o[(o.metric == "accuracy") & (o.protocol == protocols[0])].set_index("model")
    p = o[o.metric == "p_top1_change"].set_index(["model", "protocol"])
    per_model = "; ".join(
        f"{model_name(m)} accuracy {acc.loc[m, 'value']:.2f}, P(top-1 change) "
        + " / ".join(f"{p.loc[(m, q), 'value']:.3f}" for q in protocols)
        for m in acc.index
    )
    s = tidy_frame(v["summary"])
    size = s[(s.stratifier == "area") & (s.protocol == protocols[0])]
    by_size = "; ".join(
        f"{model_name(m)} " + " / ".join(f"{x:.3f}" for x in g.sort_values("bin").p_top1_change)
        for m, g in size.groupby("model", sort=False)
    )
    return (
        f"Real ImageNet val photos at their natural framing ({int(o.images.iloc[0]):,} photos, "
        f"{' / '.join(protocols)} = one-pixel shift of the view / one-pixel zoom): {per_model}. "
        f"P(top-1 change) under {protocols[0]} per object-size quartile, smallest first: {by_size}. "
        "Spearman rank correlation over photos of a photo's P(top-1 change) with "
        f"({' / '.join(protocols)}, 95% CIs) object size: {_framing(v, 'area')}; the typicality of position "
        f"and size (joint density): {_framing(v, 'typicality')}; placement given size, size ranks "
        f"partialled out: {_framing(v, PARTIAL)}. The cases share one set of photos; with at most "
        f"{int(tidy_frame(v['overall']).pairs.iloc[0] / o.images.iloc[0])} steps per photo most photos never "
        "change, "
        "so a correlation mostly contrasts photos that change with photos that do not."
    )


# the paper's claim that notebook 08 tests
CLAIM = "Invariance holds only for images typical of the training set."


def verdict(read) -> str:
    """Our verdict on CLAIM with its reason, given a reader of this run's sidecars (name -> values): from
    the rank correlations of a photo's P(top-1 change) with the typicality of its object's placement once
    size is partialled out (predicted below 0)."""
    c = tidy_frame(read("08_real_framing")["correlations"])
    typ, size, place, part = (c[c.stratifier == k] for k in ("typicality", "area", "placement", PARTIAL))
    cases = len(typ)
    if typ.rho.isna().all():
        return verdict_text(INCONCLUSIVE, "no top-1 change in these runs to correlate with typicality")
    below = {
        name: int((t.high < 0).sum())
        for name, t in (("typ", typ), ("size", size), ("place", place), ("part", part))
    }
    above = int((part.low > 0).sum())
    width = float((part.high - part.low).max() / 2)
    placement = (
        f"placement given size: rank correlation below 0 in {below['place']} of {cases} network x protocol "
        f"cases, but it too goes with size; with the ranks of size partialled out, below 0 in "
        f"{below['part']} of {cases}"
        + (f" (CIs about +-{width:.2f})" if below["part"] == 0 else "")
        + " (a partial rank correlation removes a monotone size trend only)"
    )
    if below["part"] == cases:
        word, head = REPRODUCED, "an atypically placed object costs stability beyond its size"
    elif above == cases:
        word, head = NOT_REPRODUCED, "atypically placed objects change less once size is partialled out"
    elif below["typ"] and not below["part"]:
        word = INCONCLUSIVE
        head = (
            "not separable from object size: photos whose object is typical in position and size change "
            f"their top-1 less often (CI below 0 in {below['typ']} of {cases} cases), but so do photos with "
            f"larger objects ({below['size']} of {cases}), and the joint typicality mostly measures size"
        )
    else:
        word, head = (
            INCONCLUSIVE,
            f"the placement CIs given size cover 0 in {cases - below['part']} of {cases} cases",
        )
    return verdict_text(
        word,
        f"on real framing, {head}; {placement}. The cases share one set of photos, so they are not "
        "independent confirmations; the feature-similarity measure (weaker) is reported beside it",
    )


# claims at a glance (README): the claim in a line, the paper's evidence, the figure, the key number
SHORT = CLAIM
PAPER_EVIDENCE = "P(top-1 change) against how typical an image is"
FIGURE = "08_real_framing"


def headline(read) -> str:
    """How many network x protocol cases have a partial rank correlation (placement given size) below 0."""
    c = tidy_frame(read("08_real_framing")["correlations"])
    part = c[c.stratifier == PARTIAL]
    return (
        f"placement typicality given size, partial rank correlation with P(top-1 change): CI below 0 in "
        f"{int((part.high < 0).sum())} of {len(part)} cases"
    )
