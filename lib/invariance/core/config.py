"""Numerics policy and configuration hashing, stated once.

Policy: every random choice is seeded; measurements run in float32 with TF32 off unless a parameter
asks otherwise (TF32 and bf16 can flip the top-1 of near-ties, which would count as a "change").
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import random
from pathlib import Path
from typing import Any

import numpy as np
import torch

from invariance.core import allocator

# Bump when a transformation kernel's output or the pair table's columns change: it invalidates caches.
# 2: the pair table gained margin_a (frame a's top-1 minus top-2 probability).
KERNEL_VERSION = "2"


def set_numerics(seed: int = 0) -> None:
    """Seed Python, NumPy and torch, turn TF32 off for matmul and cuDNN, and keep freed memory in the process
    (allocator.keep_freed_memory: faster on the CPU, values unchanged)."""
    allocator.keep_freed_memory()
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False


def numerics_record() -> dict[str, Any]:
    """The numerics in force, recorded with every result."""
    return {
        "tf32_matmul": torch.backends.cuda.matmul.allow_tf32,
        "tf32_cudnn": torch.backends.cudnn.allow_tf32,
        "torch": torch.__version__,
    }


def _plain(obj: Any) -> Any:
    """Turn dataclasses, paths, tuples and numpy scalars into JSON-able values, deterministically."""
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        # KEY_NAME: the name a renamed class had, so that the cache keys of its results stay the same
        name = getattr(type(obj), "KEY_NAME", type(obj).__name__)
        return {"__type__": name, **_plain(dataclasses.asdict(obj))}
    if isinstance(obj, dict):
        return {str(k): _plain(v) for k, v in sorted(obj.items(), key=lambda kv: str(kv[0]))}
    if isinstance(obj, list | tuple):
        return [_plain(v) for v in obj]
    if isinstance(obj, Path):
        return str(obj)
    if isinstance(obj, np.generic):
        return obj.item()
    return obj


def to_json(obj: Any) -> str:
    return json.dumps(_plain(obj), sort_keys=True, separators=(",", ":"))


def config_hash(obj: Any, length: int = 12) -> str:
    """Stable short hash of a configuration (dataclasses, dicts, lists, scalars, paths)."""
    return hashlib.sha256(to_json(obj).encode()).hexdigest()[:length]
