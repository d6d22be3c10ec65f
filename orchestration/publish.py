"""Publishing the warehouse: build aside, then swap the analysts' file atomically.

The run builds into a working DuckDB file. Publishing copies the schemas analysts may read
(the marts, and the audit and quarantine tables operators need; never the respondent-level
clean or intermediate tables) into a new file beside the published one, makes it durable,
and renames it over the published file. A reader holding the old file open keeps reading
the old file until it reconnects; a run that fails or is killed before the rename leaves
the published file exactly as it was.
"""

import os
from pathlib import Path

import duckdb
from dagster import AssetExecutionContext, AssetsDefinition, MaterializeResult, MetadataValue, asset

from orchestration.assets import DUCKDB_POOL, OWNERS, PUBLISH_GROUP
from orchestration.dbt import RUN_TARGET_PATH
from orchestration.resources import DuckDBWarehouse, ProjectPaths
from orchestration.run_state import forget_healthy_run

PUBLISHED_SCHEMAS = ("marts", "audit", "quarantine")
#: The DuckDB storage format the published file is written in: an older format than this
#: DuckDB's own, so that analysts' tools on earlier DuckDB releases (the DuckDB command line,
#: R, BI drivers) can open it. DuckDB reads it whatever its version.
PUBLISHED_STORAGE_VERSION = "v1.2.0"


def _fsync(path: Path) -> None:
    handle = os.open(path, os.O_RDONLY)
    try:
        os.fsync(handle)
    finally:
        os.close(handle)


def _quoted(path: Path) -> str:
    return str(path).replace("'", "''")


def publish_warehouse(build: Path, target: Path, schemas: tuple[str, ...] = PUBLISHED_SCHEMAS) -> dict[str, int]:
    """Copy `schemas` from the working file `build` into `target`, atomically. Returns
    the rows published per table (``schema.table``)."""
    build, target = Path(build), Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = target.with_name(f".{target.name}.publishing")
    for leftover in (staging, staging.with_name(staging.name + ".wal")):
        leftover.unlink(missing_ok=True)  # from a run killed while publishing
    published: dict[str, int] = {}
    try:
        _copy_schemas(build, staging, schemas, published)
        _fsync(staging)
        os.replace(staging, target)
    except BaseException:
        # A failed publish (a full disk, say) leaves no staging file behind; the published
        # file is untouched.
        for leftover in (staging, staging.with_name(staging.name + ".wal")):
            leftover.unlink(missing_ok=True)
        raise
    _fsync(target.parent)
    return published


def _copy_schemas(build: Path, staging: Path, schemas: tuple[str, ...], published: dict[str, int]) -> None:
    with duckdb.connect() as connection:
        connection.execute(f"attach '{_quoted(staging)}' as staging (storage_version '{PUBLISHED_STORAGE_VERSION}')")
        connection.execute(f"attach '{_quoted(build)}' as build (read_only)")
        tables = connection.execute(
            "select schema_name, table_name from duckdb_tables() "
            "where database_name = 'build' and schema_name in (select unnest(?)) order by 1, 2",
            [list(schemas)],
        ).fetchall()
        for schema, table in tables:
            connection.execute(f'create schema if not exists staging."{schema}"')
            connection.execute(f'create table staging."{schema}"."{table}" as select * from build."{schema}"."{table}"')
            published[f"{schema}.{table}"] = connection.execute(
                f'select count(*) from staging."{schema}"."{table}"'
            ).fetchone()[0]
        connection.execute("detach build")
        connection.execute("checkpoint staging")
        connection.execute("detach staging")


def build_publish_assets(dbt_models: AssetsDefinition) -> list[AssetsDefinition]:
    """The published warehouse (after every dbt model) and the reports made from it."""

    @asset(
        key=["published", "warehouse"],
        deps=list(dbt_models.keys),
        group_name=PUBLISH_GROUP,
        owners=list(OWNERS),
        kinds={"duckdb"},
        pool=DUCKDB_POOL,
    )
    def published_warehouse(
        context: AssetExecutionContext, paths: ProjectPaths, warehouse: DuckDBWarehouse
    ) -> MaterializeResult:
        """The warehouse analysts open (read-only): the marts, audit and quarantine schemas,
        swapped in whole once every model is built and every blocking check has passed."""
        # Whatever runs this (CLI, schedule, sensor, UI), the last healthy run's record no longer
        # describes what analysts see: the next `collab-health run` or tick must not skip.
        forget_healthy_run(Path(paths.data_dir), publishing_run=context.run.run_id)
        published = publish_warehouse(Path(warehouse.path), paths.warehouse_path)
        context.log.info(f"published {len(published)} tables to {paths.warehouse_path}")
        return MaterializeResult(
            metadata={"path": MetadataValue.path(str(paths.warehouse_path)), "tables": MetadataValue.json(published)}
        )

    @asset(
        key=["reports", "collaboration_reports"],
        deps=[published_warehouse],
        group_name=PUBLISH_GROUP,
        owners=list(OWNERS),
        kinds={"html"},
        description="One self-contained HTML report per collaboration, and an index, for system leads.",
    )
    def collaboration_reports(context: AssetExecutionContext, paths: ProjectPaths) -> MaterializeResult:
        """Render the reports from the published warehouse into the reports folder."""
        from reports.build import build_reports

        reports = build_reports(
            paths.warehouse_path,
            paths.reports_dir,
            run_results=RUN_TARGET_PATH / "run_results.json",
            chart_cache=paths.folders.chart_cache_dir,
        )
        context.log.info(f"{len(reports.pages)} collaboration reports; index: {reports.index}")
        return MaterializeResult(
            metadata={"index": MetadataValue.path(str(reports.index)), "reports": len(reports.pages)}
        )

    return [published_warehouse, collaboration_reports]
