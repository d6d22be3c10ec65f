"""One dbt project, two engines (issue 19): the bundled sample built on DuckDB and on Spark
(dbt-spark in local session mode) publishes the same marts, row for row and in order
(doubles to within 1e-9, everything else exactly).

The parity test carries the `spark` marker: `make test` leaves it out and `make test-spark`
(which installs the lock's optional spark group; CI runs it) runs it. Without pyspark or
Java it is skipped, unless COLLAB_HEALTH_REQUIRE_SPARK=1 (CI), when it fails. The other tests
here (the engine setting, the Parquet hand-over, the comparison) need no Spark.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import polars as pl
import pytest

from orchestration import settings as settings_module
from orchestration.resources import DuckDBWarehouse
from orchestration.settings import PROJECT_ROOT, Settings, SettingsError
from orchestration.spark import import_tables, mart_tables
from orchestration.warehouse_diff import compare_warehouses

PUBLISHED = Path("warehouse") / "collab_health.duckdb"
#: Every mart of the sample (the parity test must compare them all).
MARTS = {
    "collaboration_health",
    "collaboration_health_by_organisation",
    "collaboration_network",
    "collaboration_network_by_organisation",
    "collaboration_network_edges",
    "data_warnings",
    "dim_characteristics",
    "dim_collaboration_members",
    "dim_collaborations",
    "dim_metrics",
    "dim_organisations",
    "dim_waves",
    "health_outcome_association",
    "outcome_linked_collaboration",
    "outcome_linked_collaboration_by_characteristic",
    "system_metrics",
}


# --- the engine setting --------------------------------------------------------------------


@pytest.mark.unit
def test_duckdb_is_the_default_engine_and_spark_a_named_target(tmp_path):
    default = Settings.from_environ({"COLLAB_HEALTH_DATA_DIR": str(tmp_path)})
    assert (default.engine, default.dbt_target) == ("duckdb", "local")
    # A DuckDB project's run fingerprint is as it was before the setting existed.
    assert "COLLAB_HEALTH_ENGINE" not in default.run_shaping_values()
    assert default.engine_problem() is None

    spark = Settings.from_environ({"COLLAB_HEALTH_DATA_DIR": str(tmp_path), "COLLAB_HEALTH_ENGINE": " Spark "})
    assert (spark.engine, spark.dbt_target) == ("spark", "spark")
    assert spark.run_shaping_values()["COLLAB_HEALTH_ENGINE"] == "spark"
    environment = spark.dbt_environment()
    assert environment["COLLAB_HEALTH_SPARK_INPUTS"] == str(tmp_path.resolve() / "spark" / "inputs")
    assert environment["COLLAB_HEALTH_SPARK_DIR"] == str(tmp_path.resolve() / "spark")
    assert spark.spark_warehouse == tmp_path.resolve() / "spark" / "warehouse"

    with pytest.raises(SettingsError, match="COLLAB_HEALTH_ENGINE is 'snowflake'; it must be one of: duckdb, spark"):
        Settings.from_environ({"COLLAB_HEALTH_ENGINE": "snowflake"})


@pytest.mark.unit
def test_a_missing_spark_package_or_java_is_named(monkeypatch):
    spark = Settings.from_environ({"COLLAB_HEALTH_ENGINE": "spark"})
    monkeypatch.setattr(settings_module, "_importable", lambda module: module != "pyspark")
    assert "missing: pyspark" in spark.engine_problem() and "make spark-setup" in spark.engine_problem()
    monkeypatch.setattr(settings_module, "_importable", lambda module: True)
    monkeypatch.setattr(settings_module.shutil, "which", lambda name: None)
    monkeypatch.delenv("JAVA_HOME", raising=False)
    assert "needs a Java runtime" in spark.engine_problem()


@pytest.mark.unit
def test_the_command_line_refuses_an_engine_it_cannot_run(monkeypatch, capsys, tmp_path):
    from orchestration.cli import run_nightly

    monkeypatch.setenv("COLLAB_HEALTH_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("COLLAB_HEALTH_ENGINE", "spark")
    monkeypatch.setattr(settings_module, "_importable", lambda module: False)
    assert run_nightly() == 2
    assert "COLLAB_HEALTH_ENGINE=spark needs pyspark and dbt-spark[session]" in capsys.readouterr().err
    assert not (tmp_path / "dagster").exists()  # refused before anything started


# --- the hand-over: Parquet inputs for Spark, marts back into DuckDB -------------------------


@pytest.mark.integration
def test_tables_are_also_written_as_parquet_for_spark(tmp_path):
    inputs = tmp_path / "inputs"
    warehouse = DuckDBWarehouse(path=str(tmp_path / "build.duckdb"), parquet_dir=str(inputs))
    first = pl.DataFrame({"org": ["R1H", "RF4"], "score": [4.5, 2.0]})
    warehouse.replace_tables("clean", {"scores": first})
    written = inputs / "clean" / "scores" / "data.parquet"
    assert pl.read_parquet(written).equals(first)
    # A new night's table replaces the folder whole.
    second = pl.DataFrame({"org": ["RQX"], "score": [3.0]})
    warehouse.replace_tables("clean", {"scores": second})
    assert [p.name for p in (inputs / "clean").iterdir()] == ["scores"]
    assert pl.read_parquet(written).equals(second)
    # A table changed in place (audit.file_loads) is written on request.
    with warehouse.connect() as connection:
        connection.execute("create schema audit; create table audit.file_loads as select 'a.csv' as source_file")
    warehouse.write_parquet("audit", "file_loads")
    assert pl.read_parquet(inputs / "audit" / "file_loads" / "data.parquet")["source_file"].to_list() == ["a.csv"]

    # Without a Parquet folder (the DuckDB engine) nothing is written beside the warehouse.
    plain = DuckDBWarehouse(path=str(tmp_path / "plain.duckdb"))
    plain.replace_tables("clean", {"scores": first})
    assert sorted(p.name for p in tmp_path.iterdir()) == ["build.duckdb", "inputs", "plain.duckdb"]


@pytest.mark.integration
def test_marts_spark_built_are_read_back_in_their_order(tmp_path):
    spark_warehouse = tmp_path / "spark"
    table = spark_warehouse / "marts.db" / "scores"
    table.mkdir(parents=True)
    with duckdb.connect() as db:
        # Spark writes a sorted table across files named in order.
        db.execute(
            f"copy (select * from (values ('a', 1.5), ('b', 2.5)) t(org, score)) to '{table}/part-00000-x.parquet'"
        )
        db.execute(f"copy (select * from (values ('c', 0.5)) t(org, score)) to '{table}/part-00001-x.parquet'")
    (table / "_SUCCESS").touch()
    warehouse = DuckDBWarehouse(path=str(tmp_path / "build.duckdb"))
    import_tables(spark_warehouse, warehouse, ["scores"])
    assert warehouse.query("select org, score from marts.scores") == [("a", 1.5), ("b", 2.5), ("c", 0.5)]
    with pytest.raises(FileNotFoundError, match=r"Spark built no Parquet files for marts.missing"):
        import_tables(spark_warehouse, warehouse, ["missing"])


@pytest.mark.unit
def test_only_the_marts_tables_are_read_back():
    def node(schema, alias, materialized, resource_type="model"):
        return {
            "resource_type": resource_type,
            "schema": schema,
            "alias": alias,
            "config": {"materialized": materialized},
        }

    manifest = {
        "nodes": {
            "a": node("marts", "system_metrics", "table"),
            "b": node("marts", "collaboration_health", "table"),
            "c": node("intermediate", "int_x", "table"),
            "d": node("marts", "a_view", "view"),
            "e": node("marts", "a_test", "test", resource_type="test"),
        }
    }
    assert mart_tables(manifest) == ["collaboration_health", "system_metrics"]


def warehouse_with(path: Path, rows: list[tuple]) -> Path:
    with duckdb.connect(str(path)) as db:
        db.execute("create schema marts")
        db.execute("create table marts.scores (org varchar, n integer, score double)")
        db.executemany("insert into marts.scores values (?, ?, ?)", rows)
    return path


@pytest.mark.unit
def test_the_parity_comparison_allows_doubles_within_the_tolerance_and_nothing_else(tmp_path):
    rows = [("R1H", 5, 4.1), ("RF4", 7, 13702.17), ("RQX", 9, None)]
    first = warehouse_with(tmp_path / "first.duckdb", rows)
    close = warehouse_with(tmp_path / "close.duckdb", [rows[0], ("RF4", 7, 13702.169999999998), rows[2]])
    # Exactly: one row differs; to 1e-9: none.
    assert len(compare_warehouses(first, close, schemas=("marts",))[1]) == 1
    assert compare_warehouses(first, close, schemas=("marts",), float_tolerance=1e-9) == (["marts.scores"], [])

    far = warehouse_with(tmp_path / "far.duckdb", [rows[0], ("RF4", 7, 13702.18), rows[2]])
    _, differences = compare_warehouses(first, far, schemas=("marts",), float_tolerance=1e-9)
    assert [(d.differing_rows, d.first_row, d.second_row) for d in differences] == [
        (1, ("RF4", 7, 13702.17), ("RF4", 7, 13702.18))
    ]
    # A null against a value, a different integer or text, and another order are differences.
    for changed in (
        [rows[0], rows[1], ("RQX", 9, 1.0)],
        [rows[0], ("RF4", 8, 13702.17), rows[2]],
        [rows[1], rows[0], rows[2]],
    ):
        other = warehouse_with(tmp_path / f"other{len(list(tmp_path.iterdir()))}.duckdb", changed)
        assert compare_warehouses(first, other, schemas=("marts",), float_tolerance=1e-9)[1], changed
    # A missing row.
    short = warehouse_with(tmp_path / "short.duckdb", rows[:2])
    (difference,) = compare_warehouses(first, short, schemas=("marts",), float_tolerance=1e-9)[1]
    assert (difference.first_row, difference.second_row) == (("RQX", 9, None), None)


# --- the sample on both engines ---------------------------------------------------------------


@pytest.fixture(scope="module")
def spark_engine() -> None:
    """Skip (or, in CI, fail) when this machine cannot run the Spark engine."""
    problem = Settings.from_environ({"COLLAB_HEALTH_ENGINE": "spark"}).engine_problem()
    if problem:
        if os.environ.get("COLLAB_HEALTH_REQUIRE_SPARK") == "1":
            pytest.fail(problem)
        pytest.skip(problem)


def build_on_duckdb(data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Pull, ingest, dbt build and publish the bundled sample on DuckDB (no docs or reports)."""
    from dagster import AssetSelection, materialize

    from orchestration.definitions import build_definitions

    monkeypatch.setenv("COLLAB_HEALTH_DATA_DIR", str(data_dir))
    monkeypatch.setenv("COLLAB_HEALTH_WAREHOUSE", str(data_dir / "warehouse" / "build" / "collab_health.duckdb"))
    definitions = build_definitions()
    result = materialize(
        definitions.assets,
        resources=definitions.resources,
        selection=AssetSelection.all() - AssetSelection.key_prefixes(["docs"], ["reports"]),
    )
    assert result.success
    return data_dir / PUBLISHED


@pytest.mark.e2e
@pytest.mark.spark
def test_the_sample_builds_the_same_marts_on_duckdb_and_spark(spark_engine, tmp_path, monkeypatch):
    for name in [n for n in os.environ if n.startswith("COLLAB_HEALTH_")]:
        monkeypatch.delenv(name)  # the bundled sample and default configuration, demo mode
    on_duckdb = build_on_duckdb(tmp_path / "duckdb", monkeypatch)

    # The whole nightly job on Spark, as an operator runs it: every asset (docs and reports
    # too), with the dbt build on the spark target.
    spark_dir = tmp_path / "spark"
    environment = {
        **{k: v for k, v in os.environ.items() if not k.startswith("COLLAB_HEALTH_")},
        "COLLAB_HEALTH_DATA_DIR": str(spark_dir),
        "COLLAB_HEALTH_ENGINE": "spark",
    }
    started = time.monotonic()
    run = subprocess.run(
        [sys.executable, "-m", "orchestration.cli", "run"],
        cwd=PROJECT_ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=1800,
    )
    elapsed = time.monotonic() - started
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    dbt_line = next(line for line in run.stdout.splitlines() if line.startswith("dbt "))
    print(f"\nSpark: the whole nightly job in {elapsed:.0f} s; {dbt_line}")
    built, tests_passed = re.search(r"(\d+)/\d+ models built; tests: (\d+) passed", dbt_line).groups()
    assert int(built) >= 40 and int(tests_passed) >= 150 and "failed" not in dbt_line

    # Spark read the clean stage's Parquet and wrote every mart as Parquet in its warehouse.
    inputs = spark_dir / "spark" / "inputs"
    for table in (
        "clean/diagnostic_answers",
        "clean/metric_values",
        "quarantine/diagnostic_exports",
        "audit/file_loads",
    ):
        assert (inputs / table / "data.parquet").is_file(), table
    spark_marts = {p.name for p in (spark_dir / "spark" / "warehouse" / "marts.db").iterdir() if p.is_dir()}
    assert spark_marts >= MARTS

    compared, differences = compare_warehouses(on_duckdb, spark_dir / PUBLISHED, float_tolerance=1e-9)
    assert not differences, "DuckDB and Spark published different tables:\n" + "\n".join(
        d.describe() for d in differences
    )
    assert {f"marts.{name}" for name in MARTS} <= set(compared)
    with duckdb.connect(str(spark_dir / PUBLISHED), read_only=True) as db:
        # The bootstrap ran (its draws are what must agree) and the tables are not trivially empty.
        intervals = db.execute("select count(*) from marts.health_outcome_association where ci_low is not null")
        assert intervals.fetchone()[0] > 10
        assert db.execute("select count(*) from marts.system_metrics").fetchone()[0] > 50_000
    assert (spark_dir / "reports" / "index.html").is_file()
