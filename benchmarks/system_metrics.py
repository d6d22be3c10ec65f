"""Benchmark: the Monthly A&E reader, the metric catalogue and SPC at national scale.

    .venv/bin/python benchmarks/system_metrics.py [--years 10] [--organisations 250] [--metrics 20]

1. A&E reader: writes `years` x 12 Monthly A&E files in the original layout (each with
   `organisations` rows made from the real December 2024 file, plus a total row), then
   times reading and combining them, and turning them into metric values.
2. SPC: a series table of years x 12 months x organisations x metrics points (a noisy
   random walk per series, deterministic), then times the SPC model's SQL, compiled by dbt
   from `int_system_metrics__spc` (as `collab-health spc` runs it), in DuckDB, with the
   default convention's rules.

Prints numbers; asserts nothing.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import random
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import duckdb  # noqa: E402
import polars as pl  # noqa: E402

from ingest.layouts import load_layout  # noqa: E402
from ingest.metric_catalogue import load_metric_catalogue, source_metric_values  # noqa: E402
from ingest.publication import combine_publications, read_publication  # noqa: E402
from ingest.spc_settings import CHANGE_POINTS_SCHEMA, SpcSettings  # noqa: E402
from orchestration.spc_command import compiled_spc_model, load_model_inputs  # noqa: E402

SAMPLE = ROOT / "sample_data" / "nhs" / "monthly_ae" / "Monthly-AE-December-2024.csv"
MONTHS = [
    "JANUARY",
    "FEBRUARY",
    "MARCH",
    "APRIL",
    "MAY",
    "JUNE",
    "JULY",
    "AUGUST",
    "SEPTEMBER",
    "OCTOBER",
    "NOVEMBER",
    "DECEMBER",
]


def write_ae_files(folder: Path, years: int, organisations: int) -> int:
    """Monthly files in the original layout; returns the data rows written."""
    with open(SAMPLE, encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.reader(handle))
    header, body = rows[0], [r for r in rows[1:] if r and r[1].strip().lower() != "total"]
    rng = random.Random(11)
    written = 0
    for year in range(2015, 2015 + years):
        for month in MONTHS:
            out = []
            for n in range(organisations):
                template = body[n % len(body)]
                code = template[1] if n < len(body) else f"X{n:04d}"
                counts = [str(int(int(c or 0) * rng.uniform(0.9, 1.1))) if c else "" for c in template[4:]]
                out.append([f"MSitAE-{month}-{year}", code, template[2], template[3], *counts])
            total = [str(sum(int(r[i] or 0) for r in out)) for i in range(4, len(header))]
            out.append(["TOTAL", "TOTAL", "TOTAL", "TOTAL", *total])
            with open(folder / f"Monthly-AE-{month.title()}-{year}.csv", "w", encoding="utf-8", newline="") as handle:
                writer = csv.writer(handle)
                writer.writerow(header)
                writer.writerows(out)
            written += len(out)
    return written


def series_table(years: int, organisations: int, metrics: int) -> pl.DataFrame:
    months = [dt.date(2015 + m // 12, 1 + m % 12, 1) for m in range(years * 12)]
    rng = random.Random(5)
    frames = []
    for metric in range(metrics):
        for org in range(organisations):
            level, values = rng.uniform(0.6, 0.95), []
            for _ in months:
                level = min(max(level + rng.gauss(0, 0.01), 0.0), 1.0)
                values.append(level + rng.gauss(0, 0.02))
            frames.append(
                pl.DataFrame(
                    {"entity_id": f"O{org:04d}", "metric_id": f"m{metric:02d}", "period_month": months, "value": values}
                )
            )
    return pl.concat(frames).with_columns(
        entity_type=pl.lit("organisation"),
        period_grain=pl.lit("month"),
        numerator=pl.col("value"),
        denominator=pl.lit(1.0),
        n_organisations=pl.lit(1),
    )


def benchmark_spc(years: int, organisations: int, metrics: int) -> None:
    series = series_table(years, organisations, metrics)
    metric_config = pl.DataFrame(
        {"metric_id": [f"m{i:02d}" for i in range(metrics)], "polarity": "higher_is_better", "target_value": 0.8}
    )
    change_points = pl.DataFrame(schema=CHANGE_POINTS_SCHEMA)
    model = compiled_spc_model()  # the model's SQL as dbt compiles it (as `collab-health spc` runs it)
    with tempfile.TemporaryDirectory() as folder:
        db = duckdb.connect(str(Path(folder) / "bench.duckdb"))
        load_model_inputs(db, model, series, metric_config, SpcSettings().rules, change_points)
        started = time.perf_counter()
        db.execute(f"create table spc as {model.sql}")
        elapsed = time.perf_counter() - started
        signals = db.sql("select spc_signal, count(*) from spc group by 1 order by 1").fetchall()
    points = series.height
    print(
        f"SPC: {points:,} points ({years} years x {organisations} organisations x {metrics} metrics) "
        f"in {elapsed:.2f} s = {points / elapsed:,.0f} points/s"
    )
    print(f"     signals: {dict(signals)}")


def benchmark_reader(years: int, organisations: int) -> None:
    catalogue = load_metric_catalogue(ROOT / "config" / "metrics.yaml")
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        rows = write_ae_files(folder, years, organisations)
        files = sorted(folder.glob("*.csv"))
        started = time.perf_counter()
        layout = load_layout(ROOT / "config" / "layouts" / "monthly_ae.yaml")
        results = [read_publication(path, layout) for path in files]
        tables, _ = combine_publications(layout)(results)
        read = time.perf_counter() - started
        started = time.perf_counter()
        values = source_metric_values(tables["monthly_ae"], "monthly_ae", catalogue)
        catalogued = time.perf_counter() - started
    print(
        f"A&E reader: {len(files)} files, {rows:,} rows in {read:.2f} s = {rows / read:,.0f} rows/s "
        f"(read, validate, total row, revised-file precedence)"
    )
    print(
        f"Metric catalogue: {values.height:,} metric values from those rows in {catalogued:.2f} s "
        f"= {values.height / catalogued:,.0f} values/s"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--years", type=int, default=10)
    parser.add_argument("--organisations", type=int, default=250)
    parser.add_argument("--metrics", type=int, default=20)
    args = parser.parse_args()
    benchmark_reader(args.years, args.organisations)
    benchmark_spc(args.years, args.organisations, args.metrics)


if __name__ == "__main__":
    main()
