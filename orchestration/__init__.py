"""The Dagster side of the warehouse: assets, checks, the dbt step, publishing, the CLI.

Set here, before anything imports polars: how its allocator (jemalloc, built into the
polars library, out of Python's reach) gives freed memory back. polars asks for dirty pages
to be purged after 0.5 s, but only when polars next allocates, and then lazily
(MADV_FREE: the pages stay in the resident set until the system needs them). We add a
background thread, so purging happens while another step (dbt, Great Expectations) runs,
and immediate release of purged pages. The run is one process whose steps follow one
another: pages kept by one step added to the next one's peak (at benchmark scale 3 the
run's peak fell from 2.42 to about 2 GB, at the same speed). polars appends this to its own
settings; a value set in the environment wins over ours.
"""

import os

JEMALLOC_SETTINGS = "background_thread:true,muzzy_decay_ms:0"

os.environ.setdefault("_RJEM_MALLOC_CONF", JEMALLOC_SETTINGS)
