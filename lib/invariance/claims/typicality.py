"""Claim 3, typicality (notebook 08): does invariance hold only for typical images? (paper, Section 5)

The paper measures typicality as the perceptual similarity of an image to its 10 nearest training images.
Offline there is no ImageNet training set, so here [ours]: typicality of a test frame = mean cosine
similarity of the network's penultimate (globally pooled) features to its k = 10 nearest neighbours among
the 1,000 natural sample photos (standard centre crop; the image's own photo excluded). Embedded frames
that look like natural photos to the network score high, odd ones low.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pandas as pd
import torch

from invariance.kernels import metrics
from invariance.runner import cache, protocols
from invariance.sources.images import SourceImage, content_key
from invariance.sources.models import LoadedModel, normalize


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
