"""The dbt project as Dagster assets: models are assets, dbt tests are asset checks."""

import hashlib
import os
import shutil
import sys
from pathlib import Path

from dagster import AssetExecutionContext, MaterializeResult, MetadataValue, asset
from dagster_dbt import DbtCliResource, DbtProject, dbt_assets

from orchestration.assets import DUCKDB_POOL
from orchestration.resources import PROJECT_ROOT, DuckDBWarehouse, ProjectPaths
from orchestration.run_state import code_digest

DBT_PROJECT_DIR = PROJECT_ROOT / "dbt_project"
#: The dbt beside this interpreter, so the venv works without being activated.
DBT_EXECUTABLE = str(Path(sys.executable).parent / "dbt")

os.environ.setdefault("DO_NOT_TRACK", "1")
# dbt reads the warehouse path from the environment (dbt_project/profiles.yml). Set it before
# parsing too: a profile that differs between parse and run forces a full re-parse.
os.environ.setdefault("COLLAB_HEALTH_WAREHOUSE", str(ProjectPaths.from_env().build_path))
dbt_project = DbtProject(project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROJECT_DIR)


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


def prepare_manifest() -> None:
    """Parse the dbt project when its manifest is missing or out of date (a few seconds)."""
    if manifest_is_stale(dbt_project):
        DbtCliResource(project_dir=dbt_project, dbt_executable=DBT_EXECUTABLE).cli(
            ["parse", "--quiet"], target_path=dbt_project.target_path
        ).wait()


prepare_manifest()


def dbt_resource() -> DbtCliResource:
    return DbtCliResource(project_dir=dbt_project, dbt_executable=DBT_EXECUTABLE)


#: One target folder for every run (runs are serialised by the duckdb pool): dbt then reuses
#: its partial parse, and the folder does not grow by a copy per run.
RUN_TARGET_PATH = DBT_PROJECT_DIR / "target" / "run"
#: dbt unit tests check model logic on fixed inputs: they belong to CI (tests/), not to
#: every nightly build, where they would cost ~15 s and test nothing about the data.
NIGHTLY_BUILD = ["build", "--exclude-resource-type", "unit_test"]


@dbt_assets(manifest=dbt_project.manifest_path, project=dbt_project, pool=DUCKDB_POOL)
def dbt_models(context: AssetExecutionContext, dbt: DbtCliResource, warehouse: DuckDBWarehouse):
    """Staging, intermediate and mart models, built and tested with `dbt build`."""
    os.environ["COLLAB_HEALTH_WAREHOUSE"] = warehouse.path
    yield from dbt.cli(NIGHTLY_BUILD, context=context, target_path=RUN_TARGET_PATH).stream()


#: The analysts' documentation: dbt's static docs, one self-contained HTML file.
DOCS_FILE_NAME = "collab_health_dbt_docs.html"


def docs_path(paths: ProjectPaths) -> Path:
    return Path(paths.data_dir) / "docs" / DOCS_FILE_NAME


@asset(
    key=["docs", "dbt_docs"],
    deps=list(dbt_models.keys),
    group_name="published",
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
    source = hashlib.sha256(f"{code_digest()}\n{columns}".encode()).hexdigest()
    if destination.exists() and stamp.exists() and stamp.read_text() == source:
        context.log.info(f"dbt docs unchanged (the dbt project has not changed): {destination}")
        return MaterializeResult(
            metadata={
                "path": MetadataValue.path(str(destination)),
                "bytes": destination.stat().st_size,
                "regenerated": False,
            }
        )
    os.environ["COLLAB_HEALTH_WAREHOUSE"] = warehouse.path
    # The night's build already compiled every node into the run target: reuse it and only
    # read the catalogue (about 8 s less than compiling again).
    target = RUN_TARGET_PATH
    reuse = ["--no-compile"] if (target / "manifest.json").exists() else []
    dbt.cli(["docs", "generate", "--static", *reuse], target_path=target, raise_on_error=True).wait()
    destination.parent.mkdir(parents=True, exist_ok=True)
    staging = destination.with_name(f".{destination.name}.writing")
    shutil.copyfile(target / "static_index.html", staging)
    os.replace(staging, destination)
    stamp.write_text(source)
    context.log.info(f"dbt docs for analysts: {destination}")
    return MaterializeResult(
        metadata={
            "path": MetadataValue.path(str(destination)),
            "bytes": destination.stat().st_size,
            "regenerated": True,
        }
    )
