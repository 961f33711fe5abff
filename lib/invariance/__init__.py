"""invariance: measuring how CNN outputs change under one-pixel image transformations.

A reproduction of Azulay & Weiss, "Why do deep convolutional networks generalize so poorly to small image
transformations?" (JMLR 2019). The sub-packages are layers, listed from the bottom up; a module imports only
from its own layer or the layers below it (tests/test_layers.py checks this, and that no import is circular):

    core/          paths, atomic files and provenance, config hashes and numerics, allocator, progress
    kernels/       pure tensor code: transforms (resize, paste, windows), inpainting, polyphase, metrics
    sources/       images, ImageNet sample and val, CIFAR-10, video clips, networks, the paper's numbers
    runner/        protocols (frames), evaluate (model x protocol x images -> pair table), cache, torchrun
    training/      small CIFAR-10 networks, seeded and resumable; where training puts objects on a canvas
    presentation/  the figure style and save_figure(); the sentence helpers every findings text uses
    claims/        one module per paper claim or notebook: its computation, its figures, its sentences
    report/        the findings registry (notebook closing cells), the README's generated sections, reruns
    apps/          entry points: the `invariance` CLI, `make figures`, `make bench`, `make data`, explorers

Notebooks import what they show by name, e.g. `from invariance.claims import depth`.
"""

__version__ = "0.1.0"

# The measuring API in short (`from invariance import datasets, evaluate, metrics, models, protocols`),
# loaded on first use so that importing a low layer does not pull in torch and timm through the root.
_SHORT = {
    "datasets": "invariance.sources.datasets",
    "models": "invariance.sources.models",
    "protocols": "invariance.runner.protocols",
    "evaluate": "invariance.runner.evaluate",
    "metrics": "invariance.kernels.metrics",
}
__all__ = list(_SHORT)


def __getattr__(name: str):
    if name in _SHORT:
        import importlib

        return importlib.import_module(_SHORT[name])
    raise AttributeError(f"module 'invariance' has no attribute {name!r}")
