"""Claim 3, typicality (notebook 08): does invariance hold only for typical images? (paper, Section 5)

The paper measures typicality as the perceptual similarity of an image to its 10 nearest training images.
Offline there is no ImageNet training set, so here [ours]: typicality of a test frame = mean cosine
similarity of the network's penultimate (globally pooled) features to its k = 10 nearest neighbours among
the 1,000 natural sample photos (standard centre crop; the image's own photo excluded). Embedded frames
that look like natural photos to the network score high, odd ones low.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import pandas as pd
import torch

from invariance.kernels import metrics
from invariance.presentation.figures import label, legend_above, use_style
from invariance.presentation.text import (
    Values,
    model_name,
    tidy_frame,
)
from invariance.runner import cache, protocols
from invariance.sources.images import SourceImage, content_key
from invariance.sources.models import LoadedModel, display_name, normalize


def penultimate(model: LoadedModel, frames: torch.Tensor, batch_size: int = 16) -> torch.Tensor:
    """L2-normalised pre-logit features (M, C) of frames (M, 3, N, N) in [0, 1] (timm forward_head)."""
    out = []
    with torch.inference_mode():
        for i in range(0, frames.shape[0], batch_size):
            x = normalize(frames[i : i + batch_size], model.data_config)
            feats = model.module.forward_head(model.module.forward_features(x), pre_logits=True)
            out.append(torch.nn.functional.normalize(feats.flatten(1).float(), dim=1))
    return torch.cat(out)


def knn_similarity(
    query: torch.Tensor, reference: torch.Tensor, k: int, exclude: Sequence[int] | None = None
):
    """Mean cosine similarity of each query row (Q, C) to its k nearest reference rows (R, C), both
    normalised; exclude[i] = a reference index to leave out for query i (-1: none). Returns (Q,)."""
    sim = query @ reference.T
    if exclude is not None:
        rows = torch.arange(len(query))
        idx = torch.as_tensor(exclude)
        keep = idx >= 0
        sim[rows[keep], idx[keep]] = -float("inf")
    return sim.topk(k, dim=1).values.mean(dim=1)


def frame_typicality(
    model: LoadedModel,
    protocol: protocols.Protocol,
    images: Sequence[SourceImage],
    reference: Sequence[SourceImage],
    k: int = 10,
) -> pd.DataFrame:
    """Typicality of each image's first frame under the protocol, and of its plain centre crop.

    Columns: image_id, typicality (embedded first frame), typicality_photo (the centre crop itself)."""
    canvas = model.data_config.input_size
    ref = penultimate(
        model,
        torch.cat(
            [protocols.center_crop_frames(model, reference[i : i + 32]) for i in range(0, len(reference), 32)]
        ),
    )
    ref_index = {img.id: i for i, img in enumerate(reference)}
    exclude = [ref_index.get(img.id, -1) for img in images]
    first = torch.stack(
        [protocols.build_frames(protocol, [img], canvas, model.data_config.mean)[0, 0] for img in images]
    )
    photos = protocols.center_crop_frames(model, images)
    return pd.DataFrame(
        {
            "image_id": [img.id for img in images],
            "typicality": knn_similarity(penultimate(model, first), ref, k, exclude).numpy(),
            "typicality_photo": knn_similarity(penultimate(model, photos), ref, k, exclude).numpy(),
        }
    )


def by_typicality(pairs: pd.DataFrame, typ: pd.DataFrame, bins: int = 4, n_boot: int = 1000) -> pd.DataFrame:
    """P(top-1 change), MAC and accuracy per typicality quantile bin (of images), 95% CIs over images."""
    per_image = typ.set_index("image_id").typicality
    table = metrics.by_quantile(pairs, per_image, bins, n_boot=n_boot)
    return table.rename(columns={"from": "typicality_from", "to": "typicality_to"}).set_index("bin")


def rank_correlation(
    pairs: pd.DataFrame, typ: pd.DataFrame, n_boot: int = 1000
) -> tuple[float, float, float]:
    """Spearman correlation, over images, of typicality and the image's P(top-1 change), with its 95%
    bootstrap CI over images: (rho, low, high)."""
    change = metrics.per_image(pairs, "p_top1_change")
    return metrics.spearman_ci(typ.set_index("image_id").typicality, change, n_boot=n_boot)


def rho_text(row: pd.Series) -> str:
    """A typicality_summary row's Spearman rho with its CI when the row has one: '+0.18 [-0.02, +0.37]'
    ('n/a' without a rho; sidecars from before the CI have none)."""
    if pd.isna(row.spearman):
        return "n/a"
    if "spearman_low" not in row or pd.isna(row.spearman_low):
        return f"{row.spearman:+.2f}"
    return f"{row.spearman:+.2f} [{row.spearman_low:+.2f}, {row.spearman_high:+.2f}]"


# --- cached runs over networks (notebook 08) -----------------------------------------------------------


def typicality_tables(
    models: Sequence[LoadedModel],
    protocol: protocols.Protocol,
    images: Sequence[SourceImage],
    reference: Sequence[SourceImage],
    k: int = 10,
) -> dict[str, pd.DataFrame]:
    """frame_typicality per network (cached): {model label: table}."""
    out = {}
    for m in models:
        key = {
            "model": m.cache_key(),
            "protocol": protocol,
            "images": [i.id for i in images],
            "reference": [r.id for r in reference],
            "pixels": [content_key(images), content_key(reference)],
            "k": k,
            "what": "typicality",
        }
        out[m.label] = cache.cached_once(
            f"{m.name}-typicality", key, lambda m=m: frame_typicality(m, protocol, images, reference, k)
        )
    return out


def typicality_summary(
    pairs: Mapping[tuple[str, str], pd.DataFrame], typ: Mapping[str, pd.DataFrame], bins: int
) -> pd.DataFrame:
    """Per network: metrics per typicality bin (long table with a model column) and the rank correlation."""
    rows = []
    for (model, _), table in pairs.items():
        b = by_typicality(table, typ[model], bins=bins).reset_index()
        rho, low, high = rank_correlation(table, typ[model])
        rows.append(b.assign(model=model, spearman=rho, spearman_low=low, spearman_high=high))
    return pd.concat(rows, ignore_index=True)


# --- figures (the notebook calls these; save_figure writes them with their sidecars) ---


def plot_typicality_bins(summary: pd.DataFrame) -> plt.Figure:
    """P(top-1 change) and accuracy per typicality bin (quantiles of images), one line per network, 95% CIs;
    the legend above the panels."""
    use_style()
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.6))
    n = ", ".join(str(k) for k in sorted(summary.images.unique()))
    bins = "quartile" if summary.bin.nunique() == 4 else "bin"
    for i, (model, t) in enumerate(summary.groupby("model", sort=False)):
        x = (t.typicality_from + t.typicality_to) / 2
        for ax, metric in zip(axes, ["p_top1_change", "accuracy"], strict=True):
            err = [t[metric] - t[f"{metric}_low"], t[f"{metric}_high"] - t[metric]]
            ax.errorbar(
                x,
                t[metric],
                yerr=err,
                fmt="o-",
                ms=3,
                capsize=2,
                color=f"C{i}",
                label=f"{display_name(model)} ({rho_text(t.iloc[0])})",
            )
            ax.set(
                xlabel="typicality: mean cosine similarity to the 10 nearest sample photos\n"
                "(all of other classes; bin midpoint)",
                ylabel=label(metric),
                title=f"{label(metric)} per typicality {bins} ({n} images each)",
            )
    fig.tight_layout()
    legend_above(
        fig,
        axes[0],
        "Spearman rank correlation over images of typicality and P(top-1 change)"
        + (", 95% bootstrap CI" if "spearman_low" in summary else ""),
        fontsize=7.5,
    )
    return fig


# --- findings: one sentence per figure, from its sidecar, and the claim's verdict ---


def _typicality_signs(t: pd.DataFrame) -> str:
    """Which networks' Spearman CIs exclude 0, against the sign the paper predicts (negative)."""
    if "spearman_low" not in t:  # sidecars from before the CI
        return ""
    firsts = [(model, g.iloc[0]) for model, g in t.groupby("model", sort=False)]
    firsts = [(m, r) for m, r in firsts if pd.notna(r.spearman_low)]
    if not firsts:
        return ""
    neg = [model_name(m) for m, r in firsts if r.spearman_high < 0]
    pos = [model_name(m) for m, r in firsts if r.spearman_low > 0]
    clauses = [f"significantly negative, as predicted, for {', '.join(neg)}"] if neg else []
    clauses += [f"significantly positive, the other way, for {', '.join(pos)}"] if pos else []
    if len(neg) + len(pos) < len(firsts):
        clauses.append("the CIs of the others include 0" if clauses else "no CI excludes 0")
    return (
        " The paper predicts a negative correlation (more typical, fewer changes): "
        + "; ".join(clauses)
        + "."
    )


def f08_typicality(v: Values) -> str:
    t = tidy_frame(v)
    parts = []
    for model, g in t.groupby("model", sort=False):
        g = g.sort_values("bin")
        parts.append(
            f"{model_name(model)} Spearman {rho_text(g.iloc[0])}, least vs most typical quartile "
            f"{g.p_top1_change.iloc[0]:.2f} vs {g.p_top1_change.iloc[-1]:.2f}"
        )
    signs = _typicality_signs(t)
    return (
        "Claim 3 with a substitute typicality (network features of the embedded frame vs its nearest sample "
        f"photos of other classes): {'; '.join(parts)}.{signs} The measure is weak (a frame near many "
        "photos of other classes may simply look like many classes), so this tests the substitute, not the "
        "paper's perceptual typicality."
    )
