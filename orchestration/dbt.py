"""The dbt project as Dagster assets: models are assets grouped by layer, dbt tests are asset checks.

Nothing happens at import: the manifest the assets are built from is prepared explicitly
(`prepare_manifest`, which parses the project only when a file dbt reads has changed) by
whoever builds the definitions.
"""

import hashlib
import importlib.metadata
import os
import shutil
import sys
from collections.abc import Mapping, Sequence
from functools import cache, cached_property
from pathlib import Path
from typing import Any

from dagster import (
    AssetCheckSpec,
    AssetExecutionContext,
    AssetMaterialization,
    AssetsDefinition,
    AssetSpec,
    MaterializeResult,
    MetadataValue,
    Output,
    TableColumn,
    TableSchema,
    asset,
)
from dagster_dbt import DagsterDbtTranslator, DbtCliResource, DbtProject, dbt_assets
from packaging import version

from orchestration.assets import DUCKDB_POOL, OWNERS, PUBLISH_GROUP
from orchestration.memory import release_memory
from orchestration.resources import DuckDBWarehouse, ProjectPaths
from orchestration.run_state import code_digest
from orchestration.settings import DBT_PROJECT_DIR, Settings, settings
from orchestration.spark import import_tables, mart_tables

#: The dbt beside this interpreter, so the venv works without being activated.
DBT_EXECUTABLE = str(Path(sys.executable).parent / "dbt")
#: One target folder for every run (runs are serialised by the duckdb pool): dbt then reuses
#: its partial parse, and the folder does not grow by a copy per run.
RUN_TARGET_PATH = DBT_PROJECT_DIR / "target" / "run"
#: dbt unit tests check model logic on fixed inputs: they belong to CI (tests/), not to
#: every nightly build, where they would cost ~15 s and test nothing about the data.
NIGHTLY_BUILD = ["build", "--exclude-resource-type", "unit_test"]
#: The layers of the dbt project (its model folders), each a group in the Dagster UI.
LAYERS = ("staging", "intermediate", "marts")


def target_arguments(run_settings: Settings) -> list[str]:
    """The dbt target of the configured engine (COLLAB_HEALTH_ENGINE), when not the profile's default."""
    return [] if run_settings.engine == "duckdb" else ["--target", run_settings.dbt_target]


@cache
def dbt_project() -> DbtProject:
    return DbtProject(project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROJECT_DIR)


class ProjectDbtCliResource(DbtCliResource):
    """`DbtCliResource` for this project's own dbt-core (the one beside this interpreter), without
    two start-up costs that serve nothing here: asking the executable its version (a whole
    `dbt --version` process, seconds per dbt command) when the installed dbt-core says it, and
    loading the dbt adapter into this process, which dagster-dbt needs only to fetch row counts
    through dbt (the models' row counts are read from DuckDB after the build instead)."""

    @cached_property
    def _cli_version(self) -> version.Version:
        return version.parse(importlib.metadata.version("dbt-core"))

    def _initialize_dbt_core_adapter(self, args: Sequence[str]) -> None:
        return None


def dbt_resource() -> DbtCliResource:
    return ProjectDbtCliResource(project_dir=dbt_project(), dbt_executable=DBT_EXECUTABLE)


def manifest_is_stale(project: DbtProject) -> bool:
    """True when the manifest is missing or older than any file dbt parses."""
    manifest = project.manifest_path
    if not manifest.exists():
        return True
    built = manifest.stat().st_mtime
    sources = [DBT_PROJECT_DIR / "dbt_project.yml", DBT_PROJECT_DIR / "profiles.yml"]
    for folder in ("models", "macros", "tests"):
        sources += [p for p in (DBT_PROJECT_DIR / folder).rglob("*") if p.is_file()]
    return any(p.stat().st_mtime > built for p in sources)


def prepare_manifest(project_settings: Settings | None = None) -> Path:
    """The manifest the dbt assets are built from, parsed first when it is missing or out of
    date (a few seconds). The parse sees the same profile as the runs will (the same
    warehouse path), or dbt would parse everything again at the first run."""
    project = dbt_project()
    if manifest_is_stale(project):
        os.environ.update((project_settings or settings()).dbt_environment())
        dbt_resource().cli(["parse", "--quiet"], target_path=project.target_path).wait()
    return project.manifest_path


class CollabHealthDbtTranslator(DagsterDbtTranslator):
    """dbt models grouped by layer (their folder), owned by the project's team, and every dbt
    test check described by what it tests."""

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        fqn = dbt_resource_props.get("fqn", [])
        if dbt_resource_props.get("resource_type") == "model" and len(fqn) > 2 and fqn[1] in LAYERS:
            return fqn[1]
        return super().get_group_name(dbt_resource_props)

    def get_owners(self, dbt_resource_props: Mapping[str, Any]) -> list[str]:
        return super().get_owners(dbt_resource_props) or list(OWNERS)

    def get_asset_check_spec(
        self, asset_spec: AssetSpec, manifest: Mapping[str, Any], unique_id: str, project: DbtProject | None
    ) -> AssetCheckSpec | None:
        spec = super().get_asset_check_spec(asset_spec, manifest, unique_id, project)
        if spec is None or spec.description:
            return spec
        return spec._replace(description=describe_test(manifest["nodes"].get(unique_id, {})))


def describe_test(node: Mapping[str, Any]) -> str:
    """A one-line description of a dbt test: its own description, or what and where it tests."""
    if node.get("description"):
        return node["description"]
    metadata = node.get("test_metadata") or {}
    name = metadata.get("name") or node.get("name", "test")
    kwargs = {k: v for k, v in (metadata.get("kwargs") or {}).items() if k != "model"}
    column = kwargs.pop("column_name", None) or node.get("column_name")
    arguments = ", ".join(f"{k}={v}" for k, v in sorted(kwargs.items()) if v not in (None, "", [], {}))
    where = f" on column {column}" if column else ""
    return f"dbt test {name}{where}" + (f": {arguments}" if arguments else "")


TRANSLATOR = CollabHealthDbtTranslator()


def build_dbt_models(manifest: Path) -> AssetsDefinition:
    """Every dbt model as an asset, built and tested by one `dbt build`."""

    @dbt_assets(
        manifest=manifest,
        project=dbt_project(),
        pool=DUCKDB_POOL,
        dagster_dbt_translator=TRANSLATOR,
        name="dbt_models",
    )
    def dbt_models(context: AssetExecutionContext, dbt: DbtCliResource, warehouse: DuckDBWarehouse):
        """Staging, intermediate and mart models, built and tested with `dbt build`; row
        counts and column schemas are read after the build (DuckDB has one writer)."""
        run_settings = settings()
        os.environ.update(run_settings.dbt_environment(warehouse.path))
        # dbt runs beside this process: what the earlier steps freed goes back first.
        before, after = release_memory(collect_garbage=True)
        context.log.debug(f"memory released before dbt: {before:.0f} -> {after:.0f} MiB resident")
        invocation = dbt.cli(
            [*NIGHTLY_BUILD, *target_arguments(run_settings)], context=context, target_path=RUN_TARGET_PATH
        )
        # DuckDB has one writer: the tables are measured once dbt has finished and let go.
        events = list(invocation.stream())
        if run_settings.engine == "spark":
            # The marts Spark built, read back so that publishing works as with DuckDB.
            import_tables(run_settings.spark_warehouse, warehouse, mart_tables(invocation.manifest))
        yield from with_table_metadata(events, invocation.manifest, warehouse)

    return dbt_models


def with_table_metadata(events: list, manifest: Mapping[str, Any], warehouse: DuckDBWarehouse) -> list:
    """The dbt build's events, each model's with Dagster's standard table metadata: its column
    schema (`dagster/column_schema`) and, for tables, its row count (`dagster/row_count`)."""
    nodes = manifest.get("nodes", {})
    with warehouse.connect(read_only=True) as connection:
        columns: dict[tuple[str, str], list[TableColumn]] = {}
        for schema, table, column, data_type in connection.execute(
            "select table_schema, table_name, column_name, data_type from information_schema.columns "
            "order by table_schema, table_name, ordinal_position"
        ).fetchall():
            columns.setdefault((schema, table), []).append(TableColumn(column, data_type.lower()))
        measured = []
        for event in events:
            unique_id = event.metadata.get("unique_id") if isinstance(event, (Output, AssetMaterialization)) else None
            node = nodes.get(getattr(unique_id, "value", unique_id))
            if node is None:
                measured.append(event)
                continue
            relation = (node["schema"], node["alias"])
            metadata = {"dagster/column_schema": MetadataValue.table_schema(TableSchema(columns.get(relation, [])))}
            if node["config"].get("materialized") != "view" and relation in columns:
                count = connection.execute(f'select count(*) from "{relation[0]}"."{relation[1]}"').fetchone()[0]
                metadata["dagster/row_count"] = count
            measured.append(event.with_metadata({**event.metadata, **metadata}))
    return measured


def docs_path(paths: ProjectPaths) -> Path:
    return paths.folders.docs_file


#: Docs already generated, by what they show (code and columns): another data folder of the
#: same project (a test's, a benchmark's) reuses them instead of running dbt again.
DOCS_CACHE = DBT_PROJECT_DIR / "target" / "docs_cache"
DOCS_CACHE_KEEP = 4


def _replace(source: Path, destination: Path) -> None:
    """Copy `source` over `destination` atomically (written aside, then renamed)."""
    destination.parent.mkdir(parents=True, exist_ok=True)
    staging = destination.with_name(f".{destination.name}.writing")
    shutil.copyfile(source, staging)
    os.replace(staging, destination)


def _docs_result(destination: Path, regenerated: bool) -> MaterializeResult:
    return MaterializeResult(
        metadata={
            "path": MetadataValue.path(str(destination)),
            "bytes": destination.stat().st_size,
            "regenerated": regenerated,
        }
    )


def build_dbt_docs(dbt_models: AssetsDefinition) -> AssetsDefinition:
    @asset(
        key=["docs", "dbt_docs"],
        deps=list(dbt_models.keys),
        group_name=PUBLISH_GROUP,
        owners=list(OWNERS),
        kinds={"dbt", "html"},
        pool=DUCKDB_POOL,
        description="dbt docs (models, columns, tests, lineage) as one static HTML file for analysts.",
    )
    def dbt_docs(
        context: AssetExecutionContext, dbt: DbtCliResource, warehouse: DuckDBWarehouse, paths: ProjectPaths
    ) -> MaterializeResult:
        """`dbt docs generate --static`, copied to the data folder (written aside, then renamed).

        The docs describe the dbt project and the tables' columns, not the night's data: when
        the project's code and the warehouse's columns are what the existing docs were
        generated from, they are kept (saving ~10 s a night)."""
        destination = docs_path(paths)
        stamp = destination.with_name(f".{destination.name}.source")
        # What the docs show: the project's code, and every table and column the catalogue reads.
        columns = warehouse.query(
            "select table_schema, table_name, column_name, data_type from information_schema.columns order by all"
        )
        engine = settings().engine
        # Docs generated on Spark show its types: an engine other than DuckDB is part of the key.
        shown = f"{code_digest()}\n{columns}" + (f"\n{engine}" if engine != "duckdb" else "")
        source = hashlib.sha256(shown.encode()).hexdigest()
        if destination.exists() and stamp.exists() and stamp.read_text() == source:
            context.log.info(f"dbt docs unchanged (the dbt project has not changed): {destination}")
            return _docs_result(destination, regenerated=False)
        cached = DOCS_CACHE / f"{source}.html"
        if not cached.exists():
            os.environ.update(settings().dbt_environment(warehouse.path))
            # The night's build already compiled every node into the run target: reuse it and
            # only read the catalogue (about 8 s less than compiling again).
            target = RUN_TARGET_PATH
            reuse = ["--no-compile"] if (target / "manifest.json").exists() else []
            dbt.cli(
                ["docs", "generate", "--static", *reuse, *target_arguments(settings())],
                target_path=target,
                raise_on_error=True,
            ).wait()
            _replace(target / "static_index.html", cached)
            for stale in sorted(DOCS_CACHE.glob("*.html"), key=lambda p: p.stat().st_mtime)[:-DOCS_CACHE_KEEP]:
                stale.unlink(missing_ok=True)
        else:
            context.log.info("dbt docs for this code and these tables were generated before: reused")
        _replace(cached, destination)
        stamp.write_text(source)
        context.log.info(f"dbt docs for analysts: {destination}")
        return _docs_result(destination, regenerated=True)

    return dbt_docs
