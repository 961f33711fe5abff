"""invariance: measuring how CNN outputs change under one-pixel image transformations.

A reproduction of Azulay & Weiss, "Why do deep convolutional networks generalize so poorly to small image
transformations?" (JMLR 2019). Modules, one job each:

    paths      where data, caches and figures live        config     seeds, TF32 policy, config hashes
    images     robust decoding to RGB                     datasets   sample / val discovery, manifests
    models     registry, offline weights, preprocessing   transforms batched resize / paste / windows
    inpaint    the official inpainting, batched           protocols  crop, translation, scale frames
    evaluate   model x protocol x images -> pair table    results    cached, resumable tables
    metrics    P(top-1 change), MAC, jaggedness, CIs      plotting   save_figure with provenance
    paper      the paper's reference numbers
"""

from . import (
    config,
    datasets,
    evaluate,
    images,
    metrics,
    models,
    paths,
    protocols,
    results,
    transforms,
)

__version__ = "0.1.0"
__all__ = ["config", "datasets", "evaluate", "images", "metrics", "models", "paths", "protocols",
           "results", "transforms"]  # fmt: skip
