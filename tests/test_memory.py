"""Memory given back between steps (orchestration/memory.py)."""

import os
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
    assert after == pytest.approx(resident_megabytes(), abs=50)  # MiB of this process, as /proc says
    assert before - after > 100, f"{before:.0f} -> {after:.0f} MiB"
    assert len(last) == 100_000


def test_polars_allocator_is_told_to_return_memory_before_polars_loads():
    import subprocess

    # A fresh interpreter, as `collab-health` starts: the setting is in the environment
    # before polars (and with it jemalloc) is loaded, and a value already set is kept.
    probe = "import os, sys, orchestration.cli; print(os.environ.get('_RJEM_MALLOC_CONF'))"
    environment = {k: v for k, v in os.environ.items() if k != "_RJEM_MALLOC_CONF"}
    shown = subprocess.run([sys.executable, "-c", probe], env=environment, capture_output=True, text=True, check=True)
    # polars puts its own settings first and ours after (the last of a setting wins).
    assert shown.stdout.strip().endswith(",background_thread:true,muzzy_decay_ms:0")
    probe_order = "import sys, orchestration; print('polars' in sys.modules)"
    loaded = subprocess.run([sys.executable, "-c", probe_order], env=environment, capture_output=True, text=True)
    assert loaded.stdout.strip() == "False"
    mine = subprocess.run(
        [sys.executable, "-c", probe],
        env={**environment, "_RJEM_MALLOC_CONF": "dirty_decay_ms:5000"},
        capture_output=True,
        text=True,
        check=True,
    )
    assert mine.stdout.strip().endswith(",dirty_decay_ms:5000")
    assert "background_thread" not in mine.stdout
