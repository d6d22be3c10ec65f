"""Benchmark: rows per second of the diagnostic ingest on a large generated export.

    .venv/bin/python benchmarks/diagnostic_ingest.py [--respondents 100000]

Generates one export of the core instrument (deterministic; synthetic respondents spread
over real trust codes), then times reading it (decode, tokenise, map answers,
pseudonymise, quarantine) and combining it, and prints the process's peak memory (RSS
high-water mark; the export is written as a stream, so the peak is the ingest's). Prints
numbers; asserts nothing.
"""

from __future__ import annotations

import argparse
import csv
import random
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from ingest.codebook import load_codebook
from ingest.diagnostic import combine_exports, read_diagnostic_export
from ingest.organisations import OrganisationMatcher, read_organisations
from ingest.synthetic import DEFAULT_CODEBOOKS, DEFAULT_ORGANISATIONS, _answer, export_headers

ORGS = ["R1H", "RF4", "RQX", "RAL", "RAP", "RKE", "RRV", "RJ1", "RJ2", "RJZ"]


def large_export(path: Path, respondents: int, seed: int = 7) -> None:
    codebook = load_codebook(DEFAULT_CODEBOOKS / "collab_health_core.yaml")
    rng = random.Random(seed)
    with open(path, "w", encoding="utf-8-sig", newline="") as handle:
        _write_rows(csv.writer(handle, lineterminator="\r\n"), codebook, rng, respondents)


def _write_rows(writer, codebook, rng: random.Random, respondents: int) -> None:
    writer.writerow(export_headers(codebook))
    for n in range(respondents):
        latent = rng.uniform(2.0, 4.5)
        writer.writerow(
            [
                f"R{n:07d}",
                f"{1 + n % 28:02d}/08/2024 {8 + n % 10:02d}:{n % 60:02d}",
                rng.choice(ORGS),
                rng.choice(codebook.role_groups),
                "bench",
                "1",
            ]
            + [_answer(rng, codebook, latent, item.reverse) for item in codebook.items]
            + [""]
        )


def peak_rss_mb() -> float:
    """This process's peak resident memory so far, in MB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--respondents", type=int, default=100_000)
    args = parser.parse_args()
    codebooks = [load_codebook(DEFAULT_CODEBOOKS / "collab_health_core.yaml")]
    matcher = OrganisationMatcher(read_organisations(DEFAULT_ORGANISATIONS))
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "bench_wave1.csv"
        started = time.perf_counter()
        large_export(path, args.respondents)
        generated = time.perf_counter() - started
        size_mb = path.stat().st_size / 1e6
        before = peak_rss_mb()

        started = time.perf_counter()
        result = read_diagnostic_export(path, codebooks, b"benchmark-key", matcher)
        read_seconds = time.perf_counter() - started
        started = time.perf_counter()
        tables, _quarantine = combine_exports([result])
        combine_seconds = time.perf_counter() - started

    total = read_seconds + combine_seconds
    print(f"export: {args.respondents:,} respondents, {size_mb:.1f} MB (generated in {generated:.1f} s)")
    print(f"read:    {read_seconds:6.2f} s")
    print(f"combine: {combine_seconds:6.2f} s")
    print(f"total:   {total:6.2f} s  ->  {result.rows_read / total:,.0f} rows/s")
    peak = peak_rss_mb()
    print(f"peak memory: {peak:,.0f} MB ({peak / size_mb:.1f}x the file; {before:,.0f} MB before reading)")
    print(
        f"rows: {result.rows_read:,} read, {tables['diagnostic_respondents'].height:,} clean, "
        f"{result.rows_quarantined:,} quarantined; {tables['diagnostic_answers'].height:,} answers"
    )


if __name__ == "__main__":
    main()
