"""The Spark engine (COLLAB_HEALTH_ENGINE=spark): what differs from DuckDB around the dbt build.

The clean stage writes its tables as Parquet too (`DuckDBWarehouse.parquet_dir`); dbt builds
with the profile's `spark` target, reading them as external tables and writing each model as
Parquet in Spark's warehouse folder. Afterwards the marts are read back from there into the
working DuckDB file, so that publishing, the reports and the analysts' warehouse are the same
whichever engine built them (tests/test_spark_parity.py compares the two).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from orchestration.resources import DuckDBWarehouse

MARTS_SCHEMA = "marts"


def mart_tables(manifest: Mapping[str, Any], schema: str = MARTS_SCHEMA) -> list[str]:
    """The tables dbt builds in `schema` (by the manifest), sorted."""
    return sorted(
        node["alias"]
        for node in manifest.get("nodes", {}).values()
        if node.get("resource_type") == "model"
        and node.get("schema") == schema
        and node.get("config", {}).get("materialized") in ("table", "incremental")
    )


def table_files(spark_warehouse: Path, schema: str, table: str) -> list[Path]:
    """The Parquet files of one table in Spark's warehouse folder, in the order Spark wrote them
    (a table written with `order by` is sorted across its files in name order)."""
    folder = Path(spark_warehouse) / f"{schema}.db" / table
    files = sorted(folder.glob("part-*.parquet"))
    if not files:
        raise FileNotFoundError(f"Spark built no Parquet files for {schema}.{table} in {folder}")
    return files


def import_tables(spark_warehouse: Path, warehouse: DuckDBWarehouse, tables: list[str], schema: str = MARTS_SCHEMA):
    """Replace `schema`'s `tables` in the DuckDB warehouse with the ones Spark built, in one
    transaction, keeping their row order."""
    with warehouse.connect() as connection:
        connection.execute("begin transaction")
        connection.execute(f'create schema if not exists "{schema}"')
        for table in tables:
            files = ", ".join(
                "'" + str(path).replace("'", "''") + "'" for path in table_files(spark_warehouse, schema, table)
            )
            connection.execute(f'create or replace table "{schema}"."{table}" as select * from read_parquet([{files}])')
        connection.execute("commit")
