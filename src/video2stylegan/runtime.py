"""Process-wide settings that make CPU work faster; the command line applies them, library imports do not.

glibc's ``malloc`` hands every block above 32 MB (its largest mmap threshold)
straight back to the kernel when it is freed, so each new activation of that
size is page-faulted in again, one 4 KB page at a time. A StyleGAN3 step
allocates and frees such blocks by the dozen (the upsampled feature maps).
:func:`keep_freed_memory` serves every allocation from the heap and never
trims it, which removes those page faults (``benchmarks/RESULTS.md``, "Kept
freed memory", has the measurement). The price: the process keeps its peak
memory until it exits, which suits a command that runs one job.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import platform

# mallopt parameters (glibc malloc.h)
_M_TRIM_THRESHOLD = -1
_M_TOP_PAD = -2
_M_MMAP_MAX = -4

#: Set to 0 to leave the C allocator alone.
ENV_SWITCH = "VIDEO2STYLEGAN_KEEP_FREED_MEMORY"

_applied: bool | None = None


def keep_freed_memory() -> bool:
    """Make glibc ``malloc`` reuse freed memory instead of returning it to the kernel; True where applied.

    Idempotent. Does nothing (returns False) off glibc (macOS, Windows, musl)
    or when ``$VIDEO2STYLEGAN_KEEP_FREED_MEMORY`` is ``0``.
    """
    global _applied
    if _applied is not None:
        return _applied
    _applied = False
    if os.environ.get(ENV_SWITCH, "1") == "0" or platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        return False
    try:
        mallopt = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").mallopt
        mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
        ok = (
            mallopt(_M_MMAP_MAX, 0) == 1  # no mmap: big blocks come from the heap and return to it
            and mallopt(_M_TRIM_THRESHOLD, 2**31 - 1) == 1  # keep up to 2 GB free at the heap's top
            and mallopt(_M_TOP_PAD, 64 << 20) == 1  # grow the heap in 64 MB steps
        )
    except (OSError, AttributeError):
        ok = False
    _applied = ok
    return ok
