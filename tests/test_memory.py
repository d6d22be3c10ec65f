"""Memory given back between steps (orchestration/memory.py)."""

import sys

import pytest

from orchestration.memory import release_memory, resident_megabytes

pytestmark = pytest.mark.unit


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's heap and /proc are Linux's")
def test_freed_heap_memory_goes_back_to_the_system():
    # 200 MB in blocks small enough for glibc's heap (not mmap), then all freed but the last
    # one: the heap cannot shrink past it, so the freed pages stay resident until trimmed.
    blocks = [bytearray(100_000) for _ in range(2_000)]
    for block in blocks:
        block[::4096] = b"x" * len(block[::4096])  # touch every page
    last = blocks[-1]
    del blocks
    before, after = release_memory()
    assert before == pytest.approx(resident_megabytes(), abs=200)
    assert before - after > 100, f"{before:.0f} -> {after:.0f} MiB"
    assert len(last) == 100_000
