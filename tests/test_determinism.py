"""Same inputs, same published tables (issue 23): built twice, with different DuckDB thread
counts, the bundled sample publishes identical marts, audit and quarantine tables.

A sum of doubles depends on the order DuckDB's threads add in; the models sum exactly
(dbt_project/macros/exact_arithmetic.sql) and store each mart in grain order. The whole
check builds the sample twice (pull, ingest, dbt build, publish; no checks, docs or reports)
with 1 and then 2 DuckDB threads, and compares every published table, row for row and in
order (orchestration/warehouse_diff.py). The bundled sample has the Staff Survey (rates
times bases: non-integer sums for collaborations and ICBs) and SHMI, which the tiny test
project lacks.
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import duckdb
import polars as pl
import pytest

from ingest.metric_catalogue import MetricCatalogue, source_metric_values
from orchestration.warehouse_diff import compare_warehouses

PUBLISHED = Path("warehouse") / "collab_health.duckdb"


# --- the pieces ----------------------------------------------------------------------------


def pooled_catalogue() -> MetricCatalogue:
    return MetricCatalogue.model_validate(
        {
            "metrics": [
                {
                    "id": "pooled",
                    "name": "Pooled",
                    "domain": "staff_experience",
                    "unit": "proportion",
                    "polarity": "higher_is_better",
                    "description": "Rows of one organisation and period are summed.",
                    "sources": {"staff_survey": {"numerator": "rate * base", "denominator": "base"}},
                }
            ]
        }
    )


def staff_survey_rows(rates: list[float], bases: list[float]) -> pl.DataFrame:
    """Rows of one organisation and period (summed into one metric value)."""
    n = len(rates)
    return pl.DataFrame(
        {
            "org_code": ["RF4"] * n,
            "period_start": [dt.date(2023, 1, 1)] * n,
            "period_grain": ["year"] * n,
            "source_file": ["f.csv"] * n,
            "rate": rates,
            "base": bases,
        }
    )


@pytest.mark.unit
def test_metric_values_sum_the_same_in_any_order():
    # Added as doubles these give 222602.66999999998 in this order and 222602.67 backwards
    # (polars' own float sum did too); the exact decimal sum gives 222602.67 either way.
    rows = staff_survey_rows([42.67, 97700.0, 79780.0, 45080.0], [1.0] * 4)
    assert sum(rows["rate"]) != sum(reversed(rows["rate"]))
    for frame in (rows, rows.reverse()):
        values = source_metric_values(frame, "staff_survey", pooled_catalogue())
        assert values.select("numerator", "denominator", "source_rows").rows() == [(222602.67, 4.0, 4)]


@pytest.mark.unit
def test_a_metric_divided_by_zero_gives_no_value():
    # rate / base with base 0 is infinite (or NaN): like a missing numerator, no value,
    # rather than a NaN total (or a failed exact sum).
    catalogue = pooled_catalogue()
    catalogue.metrics[0].sources["staff_survey"].numerator = "rate / base"
    values = source_metric_values(staff_survey_rows([5.0, 0.0], [0.0, 0.0]), "staff_survey", catalogue)
    assert values.height == 0
    values = source_metric_values(staff_survey_rows([5.0, 3.0], [0.0, 2.0]), "staff_survey", catalogue)
    assert values.select("numerator", "denominator", "source_rows").rows() == [(1.5, 2.0, 1)]


def write_warehouse(path: Path, rows: list[tuple], audit_time: str) -> Path:
    with duckdb.connect(str(path)) as db:
        db.execute("create schema marts; create schema audit; create schema quarantine")
        db.execute("create table marts.scores (org varchar, score double)")
        db.executemany("insert into marts.scores values (?, ?)", rows)
        db.execute(f"create table audit.file_loads as select 'a.csv' as source_file, timestamp '{audit_time}' as at")
        db.execute("create table quarantine.rows as select 'a.csv' as source_file, 3 as source_row")
    return path


@pytest.mark.unit
def test_the_comparison_names_the_table_and_row_that_differ(tmp_path):
    rows = [("R1H", 4.1), ("RF4", 13702.17), ("RQX", 2.0)]
    first = write_warehouse(tmp_path / "first.duckdb", rows, "2024-01-01 02:00")
    # A different audit time is not a difference (audit records when they were written).
    same = write_warehouse(tmp_path / "same.duckdb", rows, "2024-01-02 02:00")
    assert compare_warehouses(first, same) == (["audit.file_loads", "marts.scores", "quarantine.rows"], [])

    # The last bits of one sum: the row is named, value for value.
    noisy = write_warehouse(tmp_path / "noisy.duckdb", [rows[0], ("RF4", 13702.169999999998), rows[2]], "2024-01-01")
    _, differences = compare_warehouses(first, noisy)
    assert [(d.table, d.differing_rows, d.first_row, d.second_row) for d in differences] == [
        ("marts.scores", 1, ("RF4", 13702.17), ("RF4", 13702.169999999998))
    ]
    assert "marts.scores: 1 of 3 rows differ" in differences[0].describe()

    # The same rows stored in another order differ too (a reader without ORDER BY sees them).
    shuffled = write_warehouse(tmp_path / "shuffled.duckdb", [rows[1], rows[0], rows[2]], "2024-01-01")
    _, differences = compare_warehouses(first, shuffled)
    assert [(d.table, d.differing_rows, d.order_position) for d in differences] == [("marts.scores", 0, 0)]

    # A table missing from one side.
    with duckdb.connect(str(shuffled)) as db:
        db.execute("drop table quarantine.rows")
    _, differences = compare_warehouses(first, shuffled)
    assert "quarantine.rows: missing from the second" in [d.describe() for d in differences]


@pytest.mark.unit
def test_duckdb_threads_reach_dbt_and_do_not_shape_the_run(tmp_path):
    from orchestration.settings import Settings, SettingsError

    settings = Settings.from_environ({"COLLAB_HEALTH_DATA_DIR": str(tmp_path), "COLLAB_HEALTH_DUCKDB_THREADS": "1"})
    assert settings.dbt_environment()["COLLAB_HEALTH_DUCKDB_THREADS"] == "1"
    assert Settings.from_environ({"COLLAB_HEALTH_DATA_DIR": str(tmp_path)}).duckdb_threads == 2
    # The thread count does not change what a run builds: not part of the run's fingerprint.
    assert "COLLAB_HEALTH_DUCKDB_THREADS" not in settings.run_shaping_values()
    with pytest.raises(SettingsError, match="COLLAB_HEALTH_DUCKDB_THREADS is 'two'"):
        Settings.from_environ({"COLLAB_HEALTH_DUCKDB_THREADS": "two"})


# --- the sample, built twice ---------------------------------------------------------------


def build_sample(data_dir: Path, duckdb_threads: int, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Pull, ingest, dbt build and publish the bundled sample into `data_dir`; the published file."""
    from dagster import AssetSelection, materialize

    from orchestration.definitions import build_definitions

    monkeypatch.setenv("COLLAB_HEALTH_DATA_DIR", str(data_dir))
    monkeypatch.setenv("COLLAB_HEALTH_WAREHOUSE", str(data_dir / "warehouse" / "build" / "collab_health.duckdb"))
    monkeypatch.setenv("COLLAB_HEALTH_DUCKDB_THREADS", str(duckdb_threads))
    definitions = build_definitions()
    result = materialize(
        definitions.assets,
        resources=definitions.resources,
        selection=AssetSelection.all() - AssetSelection.key_prefixes(["docs"], ["reports"]),
    )
    assert result.success
    return data_dir / PUBLISHED


@pytest.mark.e2e
def test_the_sample_built_with_one_and_two_duckdb_threads_publishes_identical_tables(tmp_path, monkeypatch):
    for name in [n for n in os.environ if n.startswith("COLLAB_HEALTH_")]:
        monkeypatch.delenv(name)  # the bundled sample and default configuration, demo mode
    one_thread = build_sample(tmp_path / "one_thread", 1, monkeypatch)
    two_threads = build_sample(tmp_path / "two_threads", 2, monkeypatch)

    compared, differences = compare_warehouses(one_thread, two_threads)
    assert not differences, "built twice, the published tables differ:\n" + "\n".join(d.describe() for d in differences)
    # Every published schema was compared, including the marts with non-integer sums.
    schemas = {name.split(".")[0] for name in compared}
    assert schemas == {"marts", "audit", "quarantine"}
    assert {"marts.system_metrics", "marts.collaboration_health", "audit.file_loads"} <= set(compared)
    with duckdb.connect(str(one_thread), read_only=True) as db:
        pooled_staff_survey = db.execute(
            "select count(*) from marts.system_metrics where entity_type in ('collaboration', 'icb') "
            "and metric_id like 'staff_%' and numerator <> round(numerator)"
        ).fetchone()[0]
        shmi = db.execute("select count(*) from marts.system_metrics where metric_id like 'shmi%'").fetchone()[0]
        # The demo's experience targets (issue 22) are linked: yearly windows with a firm
        # before/after comparison, and the association holds yearly measures.
        firm_yearly = db.execute(
            "select count(distinct metric_id), count(*) from marts.outcome_linked_collaboration "
            "where period_grain = 'year' and not is_provisional "
            "and baseline_value is not null and followup_value is not null"
        ).fetchone()
        yearly_associations = db.execute(
            "select count(*) from marts.health_outcome_association where period_grain = 'year' and is_reportable"
        ).fetchone()[0]
    assert pooled_staff_survey > 100 and shmi > 100
    assert firm_yearly[0] >= 3 and firm_yearly[1] >= 10, firm_yearly
    assert yearly_associations > 0
