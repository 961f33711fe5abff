"""Keep freed memory inside the process (glibc's malloc, Linux): the CPU forward pass then stops paying for
page faults.

By default glibc hands large freed blocks back to the kernel (munmap, heap trimming) and takes fresh pages
for the next allocation, which the kernel must fault in and zero. A batch of EfficientNet-Lite0 on a 224 px
canvas allocates ~45 MB of activations, so every batch re-faults ~11,000 pages: on this project's 2-core
CPU (`tools/cpu_allocator_check.py`, log in benchmarks/logs) 0.78 M minor page faults per 576 frames for the
bare forward pass and 1.6-2.1 M for the runner (which also builds frames), about a fifth of the forward
pass's time and a third or more of the runner's. With mmap off for malloc and a 2 GiB trim threshold, freed
blocks are reused: after a few batches, no more faults in the main thread (allocations made in other
threads still come from their own arenas). Values are unchanged (where memory comes from does not change
arithmetic; PyTorch aligns its CPU buffers itself). The cost: freed memory stays with the process (up to
2 GiB of free heap top) and the peak can be somewhat higher, as large blocks now share one heap. This is
the effect PyTorch's CPU performance guide gets from jemalloc or tcmalloc, without preloading a library.

It changes malloc for the whole process, once. Set INVARIANCE_KEEP_FREED_MEMORY=0 (before the first call)
to leave the allocator as it is.
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
    if os.environ.get(ENV, "1").strip().lower() in ("0", "false", "no", "off") or not is_glibc():
        return False
    try:
        mallopt = ctypes.CDLL("libc.so.6").mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    # mallopt returns 1 on success; the trim threshold without mmap off would only make things worse, so
    # mmap goes first and nothing else is tried when it is refused
    if mallopt(M_MMAP_MAX, 0) != 1:
        log.info("mallopt refused M_MMAP_MAX; the allocator keeps its defaults")
        return False
    _state = mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD) == 1
    if not _state:
        log.info("mallopt refused M_TRIM_THRESHOLD; mmap is off for malloc, trimming as by default")
    return _state


def is_glibc() -> bool:
    """Whether this process runs on glibc (Linux); musl, macOS and Windows have no mallopt to tune."""
    try:
        return sys.platform.startswith("linux") and os.confstr("CS_GNU_LIBC_VERSION") is not None
    except (ValueError, OSError, AttributeError):
        return False
