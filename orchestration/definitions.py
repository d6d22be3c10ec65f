"""The one Dagster entry point: assets, checks, jobs, the nightly schedule and the sensors.

Importing this module does nothing but define: the definitions are built when Dagster (or
`collab-health`) first asks for them, which is when the dbt manifest is prepared.
"""

from __future__ import annotations

from dagster import Definitions, definitions

from ingest.sources import publication_layouts
from orchestration.assets import clean_assets
from orchestration.checks import build_checks
from orchestration.dbt import build_dbt_docs, build_dbt_models, dbt_resource, prepare_manifest
from orchestration.nightly import nightly_job, nightly_schedule, record_healthy_scheduled_run
from orchestration.publish import build_publish_assets
from orchestration.resources import DuckDBWarehouse, ProjectPaths
from orchestration.sensors import diagnostic_exports_sensor, diagnostic_refresh_job
from orchestration.settings import Settings

#: The code location's name (pyproject.toml [tool.dg.project]); runs started by
#: `collab-health run` carry it so that the UI credits them to the job.
CODE_LOCATION = "collab_health"


def build_definitions(settings: Settings | None = None) -> Definitions:
    """Every asset, check, job, schedule and sensor, for the environment's settings."""
    settings = settings or Settings.from_environ()
    dbt_models = build_dbt_models(prepare_manifest(settings))
    # Publications are configuration: one source (and its assets and checks) per layout.
    layouts = publication_layouts(settings.config_dir)
    return Definitions(
        assets=[
            *clean_assets(layouts),
            dbt_models,
            build_dbt_docs(dbt_models),
            *build_publish_assets(dbt_models),
        ],
        asset_checks=build_checks(layouts),
        jobs=[nightly_job, diagnostic_refresh_job],
        schedules=[nightly_schedule],
        sensors=[diagnostic_exports_sensor, record_healthy_scheduled_run],
        resources={
            "paths": ProjectPaths.from_settings(settings),
            "warehouse": DuckDBWarehouse(
                path=str(settings.build_warehouse),
                parquet_dir=str(settings.spark_inputs) if settings.engine == "spark" else "",
                memory_limit=settings.duckdb_memory_limit,
            ),
            "dbt": dbt_resource(),
        },
    )


@definitions
def defs() -> Definitions:
    """What `dg dev` and the Dagster daemon load."""
    return build_definitions()
