"""Giving memory back to the operating system between the run's steps.

The run is one process: what a step's frames used stays in the process's allocators after
the frames are gone (glibc keeps freed heap, pyarrow's pool keeps freed blocks). It is
returned after each source is loaded, and before a step hands over to a child process (the
dbt build), so that the two do not add up: at scale 1 the process held 1.18 GB at the start
of the dbt build, and 0.88 GB after `release_memory`.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
import os
import sys


def resident_megabytes() -> float:
    """This process's resident set, in MiB (Linux; 0 elsewhere)."""
    try:
        with open("/proc/self/statm") as handle:
            return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
    except (OSError, IndexError, ValueError):
        return 0.0


def release_memory(collect_garbage: bool = False) -> tuple[float, float]:
    """Return freed memory held by pyarrow's pool and glibc's heap to the operating system,
    first collecting garbage if asked (a full collection costs about 0.25 s once Dagster and
    Great Expectations are imported; before the dbt build it freed another 0.1 GB at scale
    1). Returns the resident MiB before and after."""
    before = resident_megabytes()
    if collect_garbage:
        gc.collect()
    if "pyarrow" in sys.modules:  # only if something used it: not worth importing for this
        sys.modules["pyarrow"].default_memory_pool().release_unused()
    libc_name = ctypes.util.find_library("c")
    if sys.platform.startswith("linux") and libc_name:
        libc = ctypes.CDLL(libc_name)
        if hasattr(libc, "malloc_trim"):  # glibc only (not musl)
            libc.malloc_trim(0)
    return before, resident_megabytes()
