"""The one Dagster entry point: assets, checks, the nightly job and its schedule."""

from __future__ import annotations

from dagster import (
    AssetSelection,
    DefaultScheduleStatus,
    Definitions,
    ScheduleDefinition,
    define_asset_job,
    in_process_executor,
)

from ingest.sources import publication_layouts
from orchestration.assets import clean_assets
from orchestration.checks import build_checks
from orchestration.dbt import dbt_docs, dbt_models, dbt_resource
from orchestration.publish import collaboration_reports, published_warehouse
from orchestration.resources import DuckDBWarehouse, ProjectPaths
from orchestration.sensors import diagnostic_exports_sensor, diagnostic_refresh_job

# One process for the whole run: DuckDB has one writer at a time anyway, and Great
# Expectations (about 10 s to import) is then imported once, not once per check.
nightly_job = define_asset_job(
    "nightly",
    selection=AssetSelection.all(),
    executor_def=in_process_executor,
    description="Pull, clean, validate and model everything: the run that refreshes the warehouse.",
)

nightly_schedule = ScheduleDefinition(
    name="nightly_at_two",
    job=nightly_job,
    cron_schedule="0 2 * * *",
    execution_timezone="Europe/London",
    default_status=DefaultScheduleStatus.RUNNING,
)


def build_definitions() -> Definitions:
    paths = ProjectPaths.from_env()
    # Publications are configuration: one source (and its assets and checks) per layout.
    layouts = publication_layouts(paths.config_dir)
    return Definitions(
        assets=[
            *clean_assets(layouts),
            dbt_models,
            dbt_docs,
            published_warehouse,
            collaboration_reports,
        ],
        asset_checks=build_checks(layouts),
        jobs=[nightly_job, diagnostic_refresh_job],
        schedules=[nightly_schedule],
        sensors=[diagnostic_exports_sensor],
        resources={
            "paths": paths,
            "warehouse": DuckDBWarehouse(path=str(paths.build_path)),
            "dbt": dbt_resource(),
        },
    )


defs = build_definitions()
