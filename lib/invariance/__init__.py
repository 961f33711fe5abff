"""invariance: measuring how CNN outputs change under one-pixel image transformations.

A reproduction of Azulay & Weiss, "Why do deep convolutional networks generalize so poorly to small image
transformations?" (JMLR 2019). Modules, one job each, from the bottom up (a module imports only from
layers below it, or beside it):

Kernels, pure metrics and plumbing
    paths        where data, caches and figures live        config     seeds, TF32 policy, config hashes
    files        atomic writes, provenance records          images     robust decoding to RGB
    transforms   batched resize / paste / windows           inpaint    the official inpainting, batched
    metrics      P(top-1 change), MAC, CIs, table reshapes
Sources and protocols
    datasets     ImageNet sample / val, manifests           cifar      CIFAR-10 from its JPEG archive
    models       registry, offline weights, preprocessing   protocols  crop, translation, scale frames
    placement    where training puts objects on a canvas
Runner and cache
    evaluate     model x protocol x images -> pair table    cache      cached, resumable tables
    training     small CIFAR-10 CNNs, seeded and resumable
One module per claim (its notebooks)
    jagged       claim 1, Figures 1-3 (01-03)               bias       photographer's bias (06)
    aliasing     sampling theorem (07)                      typicality typical vs atypical images (08)
    remedies     antialiasing and augmentation (09)
Entry points and presentation
    profiles     smoke / default / paper settings           plotting   figures with provenance sidecars
    paper        the paper's reference numbers              run_notebooks  `make figures`
    fetch        `make data`                                bench      `make bench`
Notebooks 04 and 05 (the quantification) need no module of their own: protocols, evaluate and metrics.
"""

from . import (
    cache,
    config,
    datasets,
    evaluate,
    files,
    images,
    metrics,
    models,
    paths,
    protocols,
    transforms,
)

__version__ = "0.1.0"
__all__ = [
    "cache",
    "config",
    "datasets",
    "evaluate",
    "files",
    "images",
    "metrics",
    "models",
    "paths",
    "protocols",
    "transforms",
]
