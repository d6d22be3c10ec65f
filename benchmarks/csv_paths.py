"""Benchmark: the CSV reader's two paths, polars for a plain file and the csv module for any other.

    .venv/bin/python benchmarks/csv_paths.py [--respondents 50000] [--repeat 3]

Reads the sample's largest real CSVs (the RTT full extract in its zip, the Monthly A&E
files, the NHS Staff Survey results) and one generated diagnostic export of the core
instrument, each with the fast path (`ingest.plain_csv`) and with it turned off, and prints
seconds (the best of `--repeat` reads) and the process's peak RSS. Each measurement runs in
a process of its own, so a peak is that read's alone (the imports' resident memory is
printed apart). Prints numbers; asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

NHS = ROOT / "sample_data" / "nhs"
RTT_ZIP = NHS / "rtt" / "20260430-RTT-April-2026-full-extract.csv.zip"


def _read(kind: str, path: Path, fast: bool) -> None:
    """One measurement, in this process: print seconds, peak and idle RSS as JSON."""
    from benchmarks.diagnostic_ingest import peak_rss_mb
    from ingest import plain_csv
    from ingest.batches import iter_text_tables
    from ingest.codebook import load_codebook
    from ingest.diagnostic import read_diagnostic_export
    from ingest.files import read_text_table
    from ingest.layouts import load_layout
    from ingest.organisations import OrganisationMatcher, read_organisations
    from ingest.publication import read_publication
    from ingest.synthetic import DEFAULT_CODEBOOKS, DEFAULT_ORGANISATIONS

    if not fast:
        plain_csv.ENCODINGS = ()  # no file is plain: every file goes to the csv module
    if kind == "rtt-batches":
        layout = load_layout(ROOT / "config" / "layouts" / "rtt.yaml")
        read = lambda: sum(  # noqa: E731
            t.rows.height for t in iter_text_tables(path, tuple(layout.files.types), member=layout.files.member)
        )
    elif kind.startswith("publication:"):
        layout = load_layout(ROOT / "config" / "layouts" / f"{kind.split(':')[1]}.yaml")
        files = sorted(path.glob("*.csv")) if path.is_dir() else [path]
        read = lambda: sum(read_publication(f, layout).rows_read for f in files)  # noqa: E731
    elif kind == "text-table":
        read = lambda: read_text_table(path).rows.height  # noqa: E731
    elif kind == "diagnostic":
        codebooks = [load_codebook(DEFAULT_CODEBOOKS / "collab_health_core.yaml")]
        matcher = OrganisationMatcher(read_organisations(DEFAULT_ORGANISATIONS))
        read = lambda: read_diagnostic_export(path, codebooks, b"benchmark-key", matcher).rows_read  # noqa: E731
    else:
        raise SystemExit(f"unknown kind {kind}")
    idle = peak_rss_mb()
    started = time.perf_counter()
    rows = read()
    seconds = time.perf_counter() - started
    print(json.dumps({"seconds": seconds, "peak_mb": peak_rss_mb(), "idle_mb": idle, "rows": rows}))


def measure(kind: str, path: Path, fast: bool, repeat: int) -> dict:
    """The best of `repeat` runs, each in a fresh process."""
    runs = []
    for _ in range(repeat):
        command = [sys.executable, __file__, "--one", kind, str(path), "fast" if fast else "slow"]
        output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
        runs.append(json.loads(output.strip().splitlines()[-1]))
    return min(runs, key=lambda run: run["seconds"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--respondents", type=int, default=50_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--one", nargs=3, metavar=("KIND", "PATH", "PATH_TAKEN"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        kind, path, taken = args.one
        _read(kind, Path(path), taken == "fast")
        return

    from benchmarks.diagnostic_ingest import large_export

    with tempfile.TemporaryDirectory() as folder:
        export = Path(folder) / "bench_wave1.csv"
        large_export(export, args.respondents)
        cases = [
            ("RTT full extract (zip), batches", "rtt-batches", RTT_ZIP),
            ("RTT full extract (zip), read_publication", "publication:rtt", RTT_ZIP),
            ("Monthly A&E x7, read_publication", "publication:monthly_ae", NHS / "monthly_ae"),
            (
                "Staff Survey results, read_publication",
                "publication:staff_survey",
                next((NHS / "staff_survey").glob("*.csv")),
            ),
            (f"generated export {args.respondents:,} rows, TextTable", "text-table", export),
            (f"generated export {args.respondents:,} rows, read_diagnostic_export", "diagnostic", export),
        ]
        print(
            f"{'file and reader':58} {'rows':>9} {'slow s':>7} {'fast s':>7} {'x':>5} {'slow MB':>8} {'fast MB':>8} {'idle MB':>8}"
        )
        for label, kind, path in cases:
            slow = measure(kind, path, False, args.repeat)
            fast = measure(kind, path, True, args.repeat)
            assert slow["rows"] == fast["rows"]
            print(
                f"{label:58} {fast['rows']:>9,} {slow['seconds']:>7.2f} {fast['seconds']:>7.2f} "
                f"{slow['seconds'] / fast['seconds']:>5.1f} {slow['peak_mb']:>8,.0f} {fast['peak_mb']:>8,.0f} "
                f"{fast['idle_mb']:>8,.0f}"
            )


if __name__ == "__main__":
    main()
