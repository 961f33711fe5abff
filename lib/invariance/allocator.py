"""Keep freed memory inside the process (glibc's malloc, Linux): the CPU forward pass then stops paying for
page faults.

By default glibc hands large freed blocks back to the kernel (munmap, heap trimming) and takes fresh pages
for the next allocation, which the kernel must fault in and zero. A batch of EfficientNet-Lite0 on a 224 px
canvas allocates ~45 MB of activations, so every batch re-faults ~11,000 pages: on this project's 2-core
CPU, measured with `tools/cpu_allocator_check.py`, 0.78 M minor page faults per 576 frames for the bare
forward pass and 1.6 M for the runner (which also builds frames), about a fifth of the forward pass's time
and a third of the runner's. With mmap off for malloc and a high trim threshold, freed blocks are reused:
no faults after the first batch. Values are unchanged (where memory comes from does not change arithmetic;
PyTorch aligns its CPU buffers itself), the process keeps its peak memory until it exits. This is the
effect PyTorch's CPU performance guide gets from jemalloc or tcmalloc, without preloading a library.

Set INVARIANCE_KEEP_FREED_MEMORY=0 to leave the allocator as it is.
"""

from __future__ import annotations

import ctypes
import logging
import os
import sys

log = logging.getLogger(__name__)

# glibc's mallopt parameters (malloc.h)
M_TRIM_THRESHOLD = -1
M_MMAP_MAX = -4
TRIM_THRESHOLD = 2**31 - 1  # mallopt takes an int: keep up to 2 GiB of free heap top before trimming
ENV = "INVARIANCE_KEEP_FREED_MEMORY"

_state: bool | None = None  # None: not tried yet; then whether it is in force


def keep_freed_memory() -> bool:
    """Ask glibc's malloc to keep freed memory for reuse (idempotent, process-wide). Returns whether it is in
    force: False off glibc/Linux, when mallopt refuses, or when INVARIANCE_KEEP_FREED_MEMORY=0."""
    global _state
    if _state is not None:
        return _state
    _state = False
    if os.environ.get(ENV, "1") == "0" or not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL("libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):  # not glibc (e.g. musl): nothing to tune
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    # mallopt returns 1 on success
    _state = mallopt(M_MMAP_MAX, 0) == 1 and mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD) == 1
    if not _state:
        log.info("mallopt refused; the allocator keeps its defaults")
    return _state
