"""Profiles: what each notebook runs in `smoke` (seconds, CI), `default` (the real offline experiment on
a 2-core CPU) and `paper` (ImageNet val + the paper's networks, on a GPU).

A notebook's parameters cell holds literals (None = "the profile's value"); `settings()` merges them with
the profile into one frozen Settings object whose hash names the notebook's results.
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import torch

from invariance.core import config
from invariance.sources import datasets, models
from invariance.sources.images import SourceImage

PROFILES = ("smoke", "default", "paper")

_BASE: dict[str, dict[str, Any]] = {
    "smoke": {"models": ("lite0",), "n_images": 3},
    "default": {"models": ("lite0", "lite1", "lite2"), "n_images": 100},
    "paper": {
        "models": ("vgg16", "resnet50", "inception_resnet_v2"),
        "n_images": 1000,
        "batch_size": 128,
        "device": "auto",
    },
}

# Real photos at their natural framing (framing.py): how many (None: all 1,300 of val-227; the paper
# profile: of the user's val folder) and one-pixel steps per photo. Notebooks 03 (depth on real photos) and
# 08 (typicality) share them, so their runs share the cache.
_FRAMING: dict[str, dict[str, Any]] = {
    "smoke": {"framing_images": 8, "framing_steps": 2},
    "default": {"framing_images": None, "framing_steps": 4},
    "paper": {"framing_images": 5000, "framing_steps": 4},
}
_DRY_FRAMING: dict[str, Any] = {"framing_images": 4, "framing_steps": 1}

# Per notebook and profile: the values that differ from _BASE. Image counts in `default` are chosen so
# that `make figures` stays under an hour on a 2-core CPU from an empty cache (see README, "Profiles
# and budgets": 53.4 min measured for all nine, 17 of them in 01 and 15 in the remedies training of 09).
_NOTEBOOKS: dict[str, dict[str, dict[str, Any]]] = {
    # Figure 1: the rows' images are picked from the whole sample (n_images) along a path of `span` one-pixel
    # shifts and `size_steps` one-pixel size steps; `clips` are video clips (names or folders of frames).
    "01_jagged_examples": {
        "smoke": {
            "n_images": 3,
            "span": 6,
            "scale_from": 90,
            "size_steps": 6,
            "clips": ("dog", "bear"),
            "clip_frames": 5,
        },
        "default": {
            "models": ("lite2",),
            "n_images": None,
            "span": 24,
            "scale_from": 90,
            "size_steps": 24,
            "clips": ("dog", "bear"),
            "clip_frames": None,
        },
        "paper": {
            "models": ("inception_resnet_v2",),
            "n_images": 1000,
            "span": 24,
            "scale_from": 90,
            "size_steps": 24,
            "clips": ("dog", "bear"),
            "clip_frames": None,
        },
    },
    "02_protocols": {"smoke": {}, "default": {}, "paper": {"models": ("inception_resnet_v2",)}},
    # depth_pixels: the object's side in px on every canvas for the size-matched depth comparison;
    # series_images CIFAR-10 test images (None: all 10,000) and series_seeds (None: every shipped seed) for
    # the controlled depth series (depth_series: the shipped depth 1-4 networks, untrained in the dry run)
    "03_jaggedness_maps": {
        "smoke": {
            "n_images": 3,
            "span": 6,
            "depth_pixels": 100,
            **_FRAMING["smoke"],
            "series_images": 8,
            "series_seeds": (0,),
        },
        "default": {
            "n_images": 64,
            "span": 48,
            "depth_pixels": 100,
            **_FRAMING["default"],
            "series_images": 1000,
            "series_seeds": None,
        },
        "paper": {
            "n_images": 200,
            "span": None,
            "depth_pixels": 100,
            **_FRAMING["paper"],
            "series_images": None,
            "series_seeds": None,
        },
    },
    "04_protocol_table": {
        "smoke": {"n_images": 2, "steps": 2},
        "default": {"n_images": 100, "steps": 8},
        "paper": {
            "models": ("vgg16", "resnet50", "densenet121", "inception_resnet_v2", "resnetblur50"),
            "steps": 8,
        },
    },
    "05_crop_rescale_sweep": {
        "smoke": {"n_images": 2, "steps": 2, "crop_fractions": (0.4, 1.0), "embed_scales": (1.6,)},
        "default": {
            "models": ("lite0",),
            "n_images": 500,
            "steps": 8,
            "crop_fractions": (0.1, 0.4, 0.7, 1.0),
            "embed_scales": (1.3, 1.6, 1.9),
        },
        "paper": {
            "models": ("vgg16", "resnet50", "densenet201"),
            "steps": 8,
            "crop_fractions": (0.1, 0.4, 0.7, 1.0),
            "embed_scales": (1.3, 1.6, 1.9),
        },
    },
    "06_photographers_bias": {
        "smoke": {"n_images": 2, "grid": 2, "sides": (100,), "n_boxes": 2000},
        "default": {
            "models": ("lite0",),
            "n_images": 500,
            "grid": 4,
            "sides": (60, 100, 140),
            "n_boxes": None,
        },
        "paper": {
            "models": ("resnet50",),
            "n_images": 200,
            "grid": 5,
            "sides": (60, 100, 140),
            "n_boxes": None,
        },
    },
    "07_sampling_theorem": {
        "smoke": {
            "n_images": 2,
            "architectures": ("resnet50",),
            "architectures_pretrained": False,
            "init_seeds": (0,),
            "stage_controls": (),
            "periodicity_images": 1,
            "shifts": (0, 1, 2, 16, 31, 32, 33),
        },
        "default": {
            "n_images": 30,
            "architectures": ("resnet50", "vgg16"),
            "architectures_pretrained": False,
            "init_seeds": (0, 1, 2),
            # the trained networks' own architecture at random init: the same-architecture control for the
            # stage-wise figure (trained vs untrained of one architecture, not across architectures)
            "stage_controls": ("lite0",),
            "periodicity_images": 4,
            "shifts": (*range(0, 9), 12, 16, 24, 31, 32, 33, 40, 48, 56, 63, 64),
        },
        "paper": {
            "models": ("vgg16", "resnet50", "inception_resnet_v2"),
            "n_images": 200,
            "architectures": ("resnet50",),
            "architectures_pretrained": True,
            "init_seeds": (0,),
            "stage_controls": (),
            "periodicity_images": 16,
            "shifts": tuple(range(0, 65)),
        },
    },
    # framing_*: the main test on real framing (framing.py), quantile bins of photos.
    "08_typicality": {
        "smoke": {
            "n_images": 4,
            "n_reference": 20,
            "bins": 2,
            "steps": 2,
            **_FRAMING["smoke"],
            "framing_bins": 2,
        },
        "default": {
            "n_images": 100,
            "n_reference": None,
            "bins": 4,
            "steps": 8,
            **_FRAMING["default"],
            "framing_bins": 4,
        },
        "paper": {
            "n_reference": None,
            "bins": 5,
            "steps": 8,
            **_FRAMING["paper"],
            "framing_bins": 5,
        },
    },
    # Certified versus realistic shifts on the shipped CIFAR-10 networks (catalogue.C10_VARIANTS): `variants`
    # (None: all five) x `seeds` (None: every shipped seed; smoke and the dry run: untrained networks at
    # init seed 0); n_images test images for accuracy and the shift protocols (steps one-pixel steps;
    # pad: the reflect padding of the moving window; side: the object's side on the black canvas), the first
    # cert_images of them for the certificate (all 1,023 circular shifts each). Default: measured cold on this
    # CPU per seed of all five variants, 36 s of protocols per 500 images + 30 s of certificate on 16 images.
    "10_certified_shifts": {
        "smoke": {
            "models": (),
            "pretrained": False,
            "n_images": 8,
            "variants": None,
            "seeds": (0,),
            "cert_images": 1,
            "steps": 8,
            "pad": 4,
            "side": 24,
        },
        "default": {
            "models": (),
            "n_images": 1000,
            "variants": None,
            "seeds": None,
            "cert_images": 16,
            "steps": 8,
            "pad": 4,
            "side": 24,
        },
        "paper": {
            "models": (),
            "n_images": None,
            "variants": None,
            "seeds": None,
            "cert_images": 128,
            "steps": 8,
            "pad": 4,
            "side": 24,
        },
    },
    # Beyond the paper on real networks: n_images real val photos (framing.load_photos), one one-pixel pair
    # per photo and protocol, each with its controls (shift_controls); margin_bins quantile bins of the first
    # frame's top-1/top-2 margin. Part 2 (inference_remedies): remedy_models (None: all) run plain and through
    # each inference-time remedy on windows of side N - 2 remedy_radius. Default: 400 photos,
    # all of it in ~7.5 min cold on this CPU (measured per photo: controls 0.19-0.34 s per network,
    # remedies 0.39 s).
    "11_real_networks": {
        "smoke": {"n_images": 4, "margin_bins": 2, "remedy_models": ("lite0",), "remedy_radius": 16},
        "default": {"n_images": 400, "margin_bins": 4, "remedy_models": ("lite0",), "remedy_radius": 16},
        "paper": {"n_images": 2000, "margin_bins": 4, "remedy_models": None, "remedy_radius": 16},
    },
    # Notebook 09 redesigned, on the shipped canvas networks (claims/canvas_remedies.py, canvas_curves.py;
    # drafted in notebooks/drafts/09_remedies_shipped.ipynb until the canvas networks are trained): `variants`
    # (None: the catalogue's three) x `seeds` (None: every shipped seed; smoke: untrained networks at init
    # seeds 0 and 1, the catalogue's architectures). n_test CIFAR-10 test images, one one-pixel pair per image
    # and zone (the verdicts); n_curve of them at every diagonal offset (81 frames each: the position curves);
    # n_size_test of them resized to each side in `sizes`, size_steps one-pixel steps around the canvas centre
    # (size_steps + 1 frames each). models / n_images / steps: the ImageNet part (resnet50 vs the
    # antialiased resnetblur50, Table 1 protocols), paper profile only (no offline weights); smoke runs it on
    # Lite0 (random weights, like everything in smoke) and 2 images to keep the code path tested.
    # Default cost, cold (an untrained network costs what a trained one does), from timed untrained runs on
    # this 2-core CPU under load from background training: one network's whole diagonal on 200 images took
    # 6.2 ms of CPU time per 112 px frame (stride; 101 s CPU, 191 s wall) and 14.3 ms (BlurPool, 100 images).
    # Frames per network: zones 1,000 x 3 x 2 = 6,000; curves 200 x 81 = 16,200; sizes 300 x 6 x 3 = 5,400.
    # For 6 stride + 3 BlurPool networks ~2,200 CPU s (zones ~480, curves ~1,300, sizes ~430), about 20 min
    # of wall time on both idle cores; cached per network, so a rerun reads the tables.
    "09_remedies_shipped": {
        "smoke": {
            "models": ("lite0",),
            "n_images": 2,
            "steps": 2,
            "pretrained": False,
            "n_test": 8,
            "variants": None,
            "seeds": (0, 1),
            "n_curve": 2,
            "sizes": (24, 32, 40),
            "size_steps": 1,
            "n_size_test": 4,
        },
        "default": {
            "models": (),
            "n_images": 0,
            "steps": 8,
            "n_test": 1000,
            "variants": None,
            "seeds": None,
            "n_curve": 200,
            "sizes": (16, 24, 32, 40, 48, 64),
            "size_steps": 2,
            "n_size_test": 300,
        },
        "paper": {
            "models": ("resnet50", "resnetblur50"),
            "steps": 8,
            "n_test": None,
            "variants": None,
            "seeds": None,
            "n_curve": 2000,
            "sizes": (16, 24, 32, 40, 48, 64),
            "size_steps": 2,
            "n_size_test": 2000,
        },
    },
    # models / n_images: the ImageNet part (resnet50 vs the antialiased resnetblur50), paper profile only
    # (no offline weights for either); smoke runs it on Lite0 and 2 images to keep the code path tested.
    "09_remedies": {
        "smoke": {
            "models": ("lite0",),
            "n_images": 2,
            "steps": 2,
            "variants": ("photographer", "uniform", "blurpool", "uniform+blurpool"),
            "seeds": (0,),
            "train_steps": 4,
            "n_test": 20,
            "sizes": (24, 32, 40),
            "n_size_test": 10,
        },
        "default": {
            "models": (),
            "n_images": 0,
            "steps": 8,
            "variants": ("photographer", "uniform", "blurpool", "uniform+blurpool"),
            "seeds": (0, 1, 2),
            "train_steps": 600,
            "n_test": 1000,
            "sizes": (20, 24, 28, 32, 40, 48),
            "n_size_test": 300,
        },
        "paper": {
            "models": ("resnet50", "resnetblur50"),
            "steps": 8,
            "variants": ("photographer", "uniform", "blurpool", "uniform+blurpool", "no subsampling"),
            "seeds": (0, 1, 2),
            "train_steps": 6000,
            "n_test": None,
            "sizes": (20, 24, 28, 32, 40, 48),
            "n_size_test": None,
        },
    },
}


# The paper profile's dry run (`INVARIANCE_DRY_RUN=1`, tests/apps/test_paper_profile.py): every notebook's
# paper code path (the user's val folder, the paper's networks, figures/paper/) on a CPU in seconds, with
# random weights (labelled untrained in every figure) and a few images: it proves the plumbing, not results.
DRY_RUN_ENV = "INVARIANCE_DRY_RUN"
_DRY_COMMON: dict[str, Any] = {"pretrained": False, "device": "cpu", "batch_size": 8}
_DRY_RUN: dict[str, dict[str, Any]] = {
    "01_jagged_examples": {"n_images": 2, "span": 2, "size_steps": 2, "clip_frames": 3},
    "02_protocols": {},
    "03_jaggedness_maps": {
        "n_images": 2,
        "span": 2,
        **_DRY_FRAMING,
        "series_images": 4,
        "series_seeds": (0,),
    },
    "04_protocol_table": {"n_images": 2, "steps": 1},
    "05_crop_rescale_sweep": {
        "n_images": 2,
        "steps": 1,
        "crop_fractions": (0.4, 1.0),
        "embed_scales": (1.6,),
    },
    "06_photographers_bias": {"n_images": 2, "grid": 2, "sides": (100,), "n_boxes": 2000},
    "07_sampling_theorem": {
        "n_images": 2,
        "architectures_pretrained": False,
        "init_seeds": (0, 1),
        "stage_controls": (),
        "periodicity_images": 1,
        "shifts": (0, 1, 2, 32, 33),
    },
    "08_typicality": {
        "n_images": 4,
        "n_reference": 20,
        "bins": 2,
        "steps": 1,
        **_DRY_FRAMING,
        "framing_bins": 2,
    },
    "10_certified_shifts": {"n_images": 4, "cert_images": 1, "seeds": (0,)},
    "11_real_networks": {"n_images": 2, "margin_bins": 2, "remedy_models": None, "remedy_radius": 16},
    "09_remedies_shipped": {
        "n_images": 2,
        "steps": 1,
        "n_test": 8,
        "seeds": (0,),
        "n_curve": 2,
        "sizes": (24, 32),
        "size_steps": 1,
        "n_size_test": 4,
    },
    "09_remedies": {
        "n_images": 2,
        "steps": 1,
        "seeds": (0,),
        "train_steps": 2,
        "n_test": 20,
        "sizes": (24, 32),
        "n_size_test": 10,
    },
}


def dry_run() -> bool:
    """Whether the paper profile runs as its dry run (environment variable INVARIANCE_DRY_RUN=1)."""
    return os.environ.get(DRY_RUN_ENV, "") not in ("", "0")


@dataclass(frozen=True)
class Settings:
    """Everything a notebook's run depends on. Notebook-specific values are in `extra` and read as
    attributes (e.g. `s.span`)."""

    notebook: str
    profile: str
    models: tuple[str, ...]
    n_images: int | None
    seed: int = 0
    device: str = "cpu"
    batch_size: int | None = None  # None: the device's measured default (evaluate.DEFAULT_BATCH)
    pretrained: bool = True
    val_dir: str | None = None
    extra: tuple[tuple[str, Any], ...] = field(default=())

    def __getattr__(self, name: str) -> Any:
        for key, value in object.__getattribute__(self, "extra"):
            if key == name:
                return value
        raise AttributeError(f"{name!r} is not a setting of {self.notebook}")

    @property
    def untrained(self) -> bool:
        return not self.pretrained

    def describe(
        self, n_images: int | None = None, models: Sequence[str] | None = None, data: str | None = None
    ) -> str:
        """Footer text for figures: profile, networks, image count, and 'untrained' where it applies.

        models: the networks the figure actually plots (labels), when not all of the settings' models;
        data: what the images are, when not the profile's images (the sample, or the val folder)."""
        nets = ", ".join(self.models if models is None else models)
        nets += " (UNTRAINED, random weights)" if self.untrained else ""
        if data is None:
            data = f"ImageNet val ({self.val_dir})" if self.val_dir else "ImageNet sample"
        count = n_images if n_images is not None else self.n_images
        profile = f"{self.profile} (dry run)" if self.profile == "paper" and dry_run() else self.profile
        return f"profile {profile} | {nets} | {count} images of {data}"


def resolve_device(device: str) -> str:
    """'auto' -> 'cuda' where a GPU is, else 'cpu'; ValueError for a name torch does not know, or for a
    GPU this machine lacks (saying what to use instead)."""
    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    try:
        kind = torch.device(device)
    except RuntimeError:
        kind = None
    if kind is None or kind.type not in ("cpu", "cuda", "mps"):  # the devices the runner is written for
        raise ValueError(f"device {device!r} is not one of: cpu, cuda, cuda:N, mps, auto")
    if kind.type == "cuda":
        have = torch.cuda.device_count()
        if (kind.index or 0) >= have:
            raise ValueError(
                f"device {device!r}: this machine has {have} CUDA GPU(s); use "
                + ("cpu (or auto)" if not have else f"cuda:0 to cuda:{have - 1}")
            )
    return device


def settings(notebook: str, profile: str, **overrides: Any) -> Settings:
    """The notebook's settings in a profile; overrides that are None keep the profile's value.

    Also applies the numerics policy (config.set_numerics with the settings' seed)."""
    if profile not in PROFILES:
        raise ValueError(f"profile must be one of {PROFILES}, not {profile!r}")
    if notebook not in _NOTEBOOKS:
        raise ValueError(f"unknown notebook {notebook!r}; known: {', '.join(_NOTEBOOKS)}")
    known = set(Settings.__dataclass_fields__) - {"notebook", "profile", "extra"}
    known |= {k for base in _BASE.values() for k in base}
    known |= {k for per_profile in _NOTEBOOKS[notebook].values() for k in per_profile}
    unknown = sorted(set(overrides) - known)
    if unknown:
        close = {u: difflib.get_close_matches(u, sorted(known), n=1) for u in unknown}
        hints = ", ".join(f"{u!r}" + (f" (did you mean {c[0]!r}?)" if c else "") for u, c in close.items())
        raise TypeError(f"{notebook}: unknown setting {hints}; its settings are: {', '.join(sorted(known))}")
    merged: dict[str, Any] = {"device": "cpu", **_BASE[profile], **_NOTEBOOKS[notebook][profile]}
    for key, value in overrides.items():
        if value is not None:
            merged[key] = tuple(value) if isinstance(value, list) else value
    if profile == "paper" and dry_run():  # after the overrides: the dry run must stay small and untrained
        if not os.environ.get("INVARIANCE_FIGURES"):
            raise ValueError(
                f"{DRY_RUN_ENV} is set: the paper profile would run as its untrained dry run and write "
                "into figures/paper/. Unset it for a real paper run, or set INVARIANCE_FIGURES to a "
                "scratch folder."
            )
        merged.update({**_DRY_COMMON, **_DRY_RUN.get(notebook, {})})
    if profile == "paper" and not merged.get("val_dir"):
        merged["val_dir"] = os.environ.get("INVARIANCE_IMAGENET_VAL")
    merged["device"] = resolve_device(merged["device"])
    own = {f for f in Settings.__dataclass_fields__ if f not in ("notebook", "profile", "extra")}
    extra = tuple(sorted((k, v) for k, v in merged.items() if k not in own))
    s = Settings(notebook, profile, extra=extra, **{k: v for k, v in merged.items() if k in own})
    # Every notebook builds its settings first, so the numerics policy (seeds, TF32 off) is in force for
    # everything it computes and is recorded in every sidecar and cached result.
    config.set_numerics(s.seed)
    return s


def load_images(s: Settings) -> list[SourceImage]:
    """The profile's seeded image list: the offline sample, or the user's ImageNet val folder."""
    if s.n_images == 0:
        return []
    if s.profile == "paper":
        if not s.val_dir:
            raise FileNotFoundError(
                "The paper profile needs ImageNet validation images: set the environment variable "
                "INVARIANCE_IMAGENET_VAL=/path/to/ILSVRC2012/val before `make figures PROFILE=paper` "
                "(from Python: profiles.settings(..., val_dir='/path/to/ILSVRC2012/val'))."
            )
        return datasets.load_val(s.val_dir, s.n_images, s.seed)
    return datasets.load_sample(s.n_images, s.seed)


def load_models(s: Settings) -> list[models.LoadedModel]:
    return [models.load(name, pretrained=s.pretrained, device=s.device) for name in s.models]


def load_stage_controls(s: Settings) -> list[models.LoadedModel]:
    """The notebook's trained networks' architectures (`s.stage_controls`) at random initialisation, one per
    seed in `s.init_seeds`: same-architecture controls for a trained network's numbers."""
    return [
        models.load(name, pretrained=False, device=s.device, seed=seed)
        for name in s.stage_controls
        for seed in s.init_seeds
    ]


def load_architectures(s: Settings) -> list[models.LoadedModel]:
    """The paper's architectures of a notebook: random weights offline (labelled untrained), one network per
    initialisation seed in `s.init_seeds` (an untrained network's numbers depend on its seed, so they are
    reported over several), pretrained in the paper profile (one each)."""
    if s.architectures_pretrained:
        return [models.load(name, pretrained=True, device=s.device) for name in s.architectures]
    return [
        models.load(name, pretrained=False, device=s.device, seed=seed)
        for name in s.architectures
        for seed in s.init_seeds
    ]
