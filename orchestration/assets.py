"""Python assets: pull inputs into landing, then clean them with polars into DuckDB.

Each clean asset owns its tables in the `clean` schema, its rows in `quarantine`, and its
rows of `audit.file_loads` (one row per file: checksum, rows read, kept and quarantined),
and replaces them in one transaction. A file that cannot be read at all is rejected:
recorded in `audit.file_loads` with the error, while the other files still load.
"""

import functools
import inspect
import os
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path

import polars as pl
from dagster import (
    AssetCheckResult,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetExecutionContext,
    AssetKey,
    AssetsDefinition,
    AssetSpec,
    Failure,
    FreshnessPolicy,
    MaterializeResult,
    MetadataValue,
    TableColumn,
    TableSchema,
    asset,
    multi_asset,
)

from ingest.codebook import CodebookError, load_codebooks
from ingest.collaborations import (
    CollaborationsError,
    check_instruments,
    check_target_metrics,
    collaboration_tables,
    load_collaborations,
)
from ingest.diagnostic import DIAGNOSTIC_ROW_ORDER, codebook_tables, combine_exports, read_diagnostic_export
from ingest.files import SUPPORTED_SUFFIXES, InputFileError, printable, sha256_file
from ingest.landing import PullError, is_input_file, pull_source, shown_location
from ingest.layouts import Layout, LayoutError
from ingest.metric_catalogue import (
    METRIC_VALUES_SCHEMA,
    MetricCatalogueError,
    catalogue_tables,
    load_metric_catalogue,
    metric_values_by_metric,
    publication_names,
)
from ingest.organisations import (
    OrganisationMatcher,
    checked_snapshots,
    organisation_reference_tables,
    read_organisations,
)
from ingest.partner_ratings import TABLE as PARTNER_RATINGS
from ingest.partner_ratings import partner_items_table
from ingest.pseudonymise import PseudonymisationKeyError, pseudonymisation_key, using_demo_key
from ingest.publication import TOTALS_SCHEMA, combine_publications, empty_table, read_publication
from ingest.quarantine import FILE, QUARANTINE_SCHEMA, ROW, IngestResult, concat_results
from ingest.sources import SourcesError, publication_layouts, source_variable
from ingest.spc_settings import SpcSettingsError, load_spc_settings, spc_tables
from orchestration.memory import release_memory
from orchestration.resources import DuckDBWarehouse, ProjectPaths
from orchestration.settings import settings
from orchestration.spill import Batched, Spill

DUCKDB_POOL = "duckdb"
#: Who answers for the assets in the Dagster UI (dbt models may name their own in `meta`).
OWNERS = ("team:collab-health",)
#: The group of everything that leaves the warehouse for its readers: docs, published file, reports.
PUBLISH_GROUP = "publish"


def table_metadata(frame: pl.DataFrame) -> dict:
    """Dagster's standard table metadata for a frame written to the warehouse: its row count
    (`dagster/row_count`) and column schema (`dagster/column_schema`)."""
    schema = TableSchema(columns=[TableColumn(name, str(dtype)) for name, dtype in frame.schema.items()])
    return {"dagster/row_count": frame.height, "dagster/column_schema": MetadataValue.table_schema(schema)}


#: Errors in the project's own configuration files: retrying cannot fix them.
CONFIGURATION_ERRORS = (
    SourcesError,
    LayoutError,
    CollaborationsError,
    MetricCatalogueError,
    CodebookError,
    SpcSettingsError,
    PseudonymisationKeyError,
)


def fails_fast_on_configuration_errors(function):
    """Turn a configuration error into a Dagster `Failure` that is never retried (should an
    asset get a retry policy), whose description is the whole validation message, so the
    run summary shows it rather than the innermost error (e.g. a pydantic model's name)."""

    def failure(error: Exception) -> Failure:
        return Failure(
            description=f"configuration error: {error}",
            metadata={"configuration_error": str(error)},
            allow_retries=False,
        )

    if inspect.isgeneratorfunction(function):

        @functools.wraps(function)
        def generator(*args, **kwargs):
            try:
                yield from function(*args, **kwargs)
            except CONFIGURATION_ERRORS as error:
                raise failure(error) from None

        return generator

    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        try:
            return function(*args, **kwargs)
        except CONFIGURATION_ERRORS as error:
            raise failure(error) from None

    return wrapper


FILE_LOADS_SCHEMA = {
    "source": pl.String,
    "source_file": pl.String,
    "sha256": pl.String,
    "status": pl.String,
    "rows_read": pl.Int64,
    "rows_clean": pl.Int64,
    "rows_quarantined": pl.Int64,
    "error": pl.String,
}


PULL_CHECK = "pull_succeeded"


def _pull(
    context: AssetExecutionContext, source: str, paths: ProjectPaths, suffixes: tuple[str, ...] = SUPPORTED_SUFFIXES
) -> MaterializeResult:
    """Pull one source's locations into its landing folder.

    A failed pull leaves landing as it was, so tonight's run goes on with the last good
    files of this source (and every other source loads as usual); the `pull_succeeded`
    check fails with severity ERROR, naming the location and the cause.
    """
    config = paths.source(source)
    landing = paths.landing(source)
    shown = [shown_location(location) for location in config.locations]  # no credentials in metadata
    if not config.locations:
        # Not configured: an empty landing folder, so the source loads empty tables.
        landing.mkdir(parents=True, exist_ok=True)
        for stale in landing.iterdir():
            if stale.is_file():
                stale.unlink()
        context.log.warning(f"{source}: no location configured (config/sources.yaml); nothing pulled")
        return MaterializeResult(
            metadata={"files": 0, "configured": False},
            check_results=[AssetCheckResult(check_name=PULL_CHECK, passed=True, metadata={"configured": False})],
        )
    try:
        pulled = pull_source(
            config.locations,
            suffixes,
            landing,
            timeout=config.timeout_seconds,
            retries=config.retries,
            expected_sha256=config.sha256 or None,
            deadline=config.deadline_seconds,
            max_bytes=config.max_bytes,
        )
    except PullError as error:
        # The pull has already retried with backoff: keep the last good files and say so
        # (none on a first pull: an empty landing folder, so the source loads empty).
        landing.mkdir(parents=True, exist_ok=True)
        kept = sorted(p.name for p in landing.iterdir() if is_input_file(p, suffixes))
        message = (
            f"{source}: pull failed, the last good files are kept in landing ({len(kept)} files): {error} "
            f"(locations from {Path(paths.config_dir) / 'sources.yaml'}, relative to its folder, "
            f"or {source_variable(source)})"
        )
        context.log.error(message)
        return MaterializeResult(
            metadata={"locations": MetadataValue.json(shown), "pull_failed": str(error), "files": len(kept)},
            check_results=[
                AssetCheckResult(
                    check_name=PULL_CHECK,
                    passed=False,
                    severity=AssetCheckSeverity.ERROR,
                    description=message,
                    metadata={"error": str(error), "kept_files": MetadataValue.json(kept)},
                )
            ],
        )
    changed = [p.name for p in pulled if p.changed]
    context.log.info(f"{source}: {len(pulled)} files in landing, {len(changed)} new or changed")
    return MaterializeResult(
        metadata={
            "locations": MetadataValue.json(shown),
            "files": len(pulled),
            "changed_files": MetadataValue.json(changed),
            "checksums": MetadataValue.json({p.name: p.sha256 for p in pulled}),
        },
        check_results=[AssetCheckResult(check_name=PULL_CHECK, passed=True, metadata={"files": len(pulled)})],
    )


# Pull assets have no Dagster retry policy: `pull_source` retries transient failures itself,
# with backoff, within the source's overall deadline (a policy would multiply the deadline),
# and Dagster restarts a step with a policy when SIGTERM or SIGINT interrupts it, where a
# stopped run must stop.
#: A source not pulled for two days shows as stale in the UI (one missed night warns).
PULL_FRESHNESS = FreshnessPolicy.time_window(fail_window=timedelta(hours=48), warn_window=timedelta(hours=26))

#: The sources read by the project's own code, and what they hold (publications: see their layouts).
BUILT_IN_SOURCES = {
    "diagnostic_exports": "Diagnostic exports (CSV or XLSX) from the survey tool.",
    "organisations": "Organisation reference: ODS etr extracts, successors, provider -> ICB, ICB names, regions.",
}


def pull_asset(source: str, description: str, suffixes: tuple[str, ...] = SUPPORTED_SUFFIXES) -> AssetsDefinition:
    @asset(
        key=["landing", source],
        group_name="landing",
        owners=list(OWNERS),
        kinds={"file"},
        freshness_policy=PULL_FRESHNESS,
        description=f"{description} Pulled from config/sources.yaml (folder, glob or URL), by checksum.",
        check_specs=[
            AssetCheckSpec(
                PULL_CHECK,
                asset=AssetKey(["landing", source]),
                description="The pull reached every location. Not blocking: on failure the last good files are used.",
            )
        ],
    )
    @fails_fast_on_configuration_errors
    def _landing(context: AssetExecutionContext, paths: ProjectPaths) -> MaterializeResult:
        return _pull(context, source, paths, suffixes)

    return _landing


def pull_assets(layouts: dict[str, Layout]) -> list[AssetsDefinition]:
    """One pull asset per source: the built-in ones and every publication."""
    return [pull_asset(source, description) for source, description in BUILT_IN_SOURCES.items()] + [
        pull_asset(name, layout.description or layout.title, layout.files.suffixes) for name, layout in layouts.items()
    ]


ORGANISATION_TABLES = {
    "organisations": "NHS trusts from the ODS reference: code, name, region, ICB, open and close dates.",
    "organisation_successors": "For each code with an ODS successor: the code its history reports under (splits keep their own).",
    "organisation_icb_snapshots": "Trust -> ICB as at each reference extract date.",
    "icbs": "ICB codes and names.",
    "regions": "NHS England region codes and names.",
}


@multi_asset(
    name="clean_organisations",
    specs=[
        AssetSpec(
            key=["clean", name],
            deps=[AssetKey(["landing", "organisations"])],
            group_name="clean",
            owners=list(OWNERS),
            kinds={"polars", "duckdb"},
            description=description,
        )
        for name, description in ORGANISATION_TABLES.items()
    ],
    pool=DUCKDB_POOL,
)
def clean_organisations(context: AssetExecutionContext, paths: ProjectPaths, warehouse: DuckDBWarehouse):
    """Trusts, successors, ICB membership snapshots, ICB and region names.

    Each organisation -> ICB snapshot file is checked first: one whose ICB codes are not
    ICBs valid at its date is rejected whole (logged, recorded in `audit.file_loads` and
    `quarantine.organisations`, and failing the `files_accepted` check), and the mapping
    of the other snapshots stands."""
    folder = paths.landing("organisations")
    tables = organisation_reference_tables(folder)
    accepted, rejected = checked_snapshots(folder)
    for _, error in rejected:
        context.log.error(error)
    rows = {}
    for snapshot in accepted:
        rows[snapshot.source_file] = rows.get(snapshot.source_file, 0) + snapshot.frame.height
    file_loads = pl.DataFrame(
        [
            {
                "source": "organisations",
                "source_file": name,
                "sha256": sha256_file(folder / name),
                "status": "loaded",
                "rows_read": n,
                "rows_clean": n,
                "rows_quarantined": 0,
            }
            for name, n in sorted(rows.items())
        ]
        + [
            {
                "source": "organisations",
                "source_file": name,
                "sha256": sha256_file(folder / name),
                "status": "rejected",
                "error": error,
            }
            for name, error in rejected
        ],
        schema=FILE_LOADS_SCHEMA,
    )
    quarantine = pl.DataFrame(
        [{"source_file": name, "reason": error, "scope": FILE} for name, error in rejected],
        schema={"source_file": pl.String, "reason": pl.String, "scope": pl.String},
    ).with_columns(
        source_row=pl.lit(None, pl.Int64), column_name=pl.lit(None, pl.String), value=pl.lit(None, pl.String)
    )
    warehouse.replace_tables("clean", tables)
    warehouse.replace_tables(
        "quarantine", {"organisations": quarantine.select(list(QUARANTINE_SCHEMA)).cast(QUARANTINE_SCHEMA)}
    )
    write_file_loads(warehouse, "organisations", file_loads)
    for name, frame in tables.items():
        metadata = table_metadata(frame)
        if name == "organisation_icb_snapshots":
            metadata["snapshots"] = MetadataValue.json(
                [f"{s.source_file} as at {s.as_at} ({s.dated})" for s in accepted]
            )
            metadata["files_rejected"] = MetadataValue.json([name for name, _ in rejected])
        yield MaterializeResult(asset_key=AssetKey(["clean", name]), metadata=metadata)


def write_file_loads(
    warehouse: DuckDBWarehouse, source: str, file_loads: pl.DataFrame, totals: list[pl.DataFrame] | None = None
) -> None:
    """Replace `source`'s rows of `audit.file_loads` (one row per file) and of
    `audit.published_totals` (a publication's own totals) in one transaction."""
    with warehouse.connect() as connection:
        connection.execute("create schema if not exists audit")
        connection.execute(
            "create table if not exists audit.file_loads ("
            + ", ".join(
                f"{name} {'bigint' if dtype == pl.Int64 else 'varchar'}" for name, dtype in FILE_LOADS_SCHEMA.items()
            )
            + ")"
        )
        connection.execute(
            "create table if not exists audit.published_totals ("
            + ", ".join(
                f"{name} {'bigint' if dtype == pl.Int64 else 'double' if dtype == pl.Float64 else 'varchar'}"
                for name, dtype in TOTALS_SCHEMA.items()
            )
            + ")"
        )
        connection.register("incoming", file_loads.to_arrow())
        connection.register(
            "incoming_totals", pl.concat([pl.DataFrame(schema=TOTALS_SCHEMA), *(totals or [])]).to_arrow()
        )
        connection.execute("begin transaction")
        connection.execute("delete from audit.file_loads where source = ?", [source])
        connection.execute("insert into audit.file_loads select * from incoming")
        connection.execute("delete from audit.published_totals where source = ?", [source])
        connection.execute("insert into audit.published_totals select * from incoming_totals")
        connection.execute("commit")
    warehouse.write_parquet("audit", "file_loads")


def row_tables(layouts: dict[str, Layout]) -> dict[str, str]:
    """For each clean source, the table with one row per clean input row ("nothing lost")."""
    return {"diagnostic_exports": "diagnostic_respondents", **{name: name for name in layouts}}


#: Further clean tables whose rows count as clean input rows: a long partner-ratings file
#: (one row per respondent and partner) has no respondents table rows of its own.
ALSO_ROW_TABLES = {"diagnostic_exports": (PARTNER_RATINGS,)}


def qualified(table: str) -> tuple[str, str]:
    """A reader's table name as (schema, table): ``raw.x`` stays in `raw`, others go to `clean`."""
    schema, _, name = table.rpartition(".")
    return (schema or "clean", name)


Combine = Callable[[list[IngestResult]], tuple[dict[str, pl.DataFrame], pl.DataFrame]]


def load_folder(
    context: AssetExecutionContext,
    source: str,
    folder: Path,
    read: Callable[[Path], IngestResult],
    warehouse: DuckDBWarehouse,
    combine: Combine = concat_results,
    extra_tables: dict[str, pl.DataFrame] | None = None,
    empty_tables: dict[str, pl.DataFrame] | None = None,
    *,
    row_table: str,
    suffixes: tuple[str, ...] = SUPPORTED_SUFFIXES,
    missing_hint: str = "",
    spill: dict[str, str | None] | None = None,
    batched: Batched | None = None,
) -> list[MaterializeResult]:
    """Read every file of a landing folder and replace the source's tables in one go.

    A file that cannot be read is rejected (logged, and recorded in `audit.file_loads`
    with its error) and the other files still load. A publication's totals compared with
    its rows go to `audit.published_totals`. Returns one result per table written to the
    `clean` schema (each its own asset).

    The big tables are not held in memory (`orchestration.spill`): each file's rows go to
    Parquet as the file is read. A table named in `spill` is written by DuckDB from those
    files, keeping the rows whose (source_file, source_row) the table it names kept (all
    rows when it names none); `combine` sees it empty. With `batched`, `combine` runs on a
    batch of partitions at a time, and every table of the source must be spilled or batched.
    """
    Path(warehouse.path).parent.mkdir(parents=True, exist_ok=True)  # spilled beside the warehouse: same disk
    with tempfile.TemporaryDirectory(prefix=f".spill-{source}-", dir=Path(warehouse.path).parent) as spill_root:
        materialized = _load_folder(
            context,
            source,
            folder,
            read,
            warehouse,
            combine,
            extra_tables,
            empty_tables,
            row_table=row_table,
            suffixes=suffixes,
            missing_hint=missing_hint,
            spill=Spill(Path(spill_root), spill, batched),
        )
    # The source's frames are gone with _load_folder: what they held goes back to the system.
    before, after = release_memory()
    context.log.debug(f"{source}: memory released: {before:.0f} -> {after:.0f} MiB resident")
    return materialized


class FileProgress:
    """Which files get lines of their own in the run log. Each line is a stored Dagster
    event (~2.5 ms: 1,000 files made a thousand lines and cost seconds), and every file has
    its row in `audit.file_loads` whatever is logged.

    - Reading: every file of a folder of up to EVERY_FILE_UP_TO files; in a larger one, a
      line a second and the last file's. A file with something new to say always gets its
      line: a rejection, or columns ignored that the file before it did not ignore (a
      national export's comment column, dropped by design, is said once, not per file).
    - Accounting (read = clean + quarantined): every file of a small folder; in a larger
      one, each file with rows quarantined (or whose counts do not add up), and one line for
      the files whose every row is clean (`accounts`)."""

    EVERY_FILE_UP_TO = 50
    SECONDS = 1.0

    def __init__(self) -> None:
        self.last = -self.SECONDS
        self.ignored: list[str] = []

    def due(self, index: int, files: int, ignored: list[str] | None = None) -> bool:
        now = time.monotonic()
        news = bool(ignored) and ignored != self.ignored
        self.ignored = list(ignored or [])
        if files <= self.EVERY_FILE_UP_TO or index == files or news or now - self.last >= self.SECONDS:
            self.last = now
            return True
        return False

    @classmethod
    def accounts(cls, loads: list[dict]) -> tuple[list[dict], list[dict]]:
        """The loaded files whose accounting gets a line each, and the rest (summed in one)."""
        if len(loads) <= cls.EVERY_FILE_UP_TO:
            return loads, []
        each, clean = [], []
        for load in loads:
            all_clean = not load["rows_quarantined"] and load["rows_read"] == load["rows_clean"]
            (clean if all_clean else each).append(load)
        return each, clean


def _load_folder(
    context: AssetExecutionContext,
    source: str,
    folder: Path,
    read: Callable[[Path], IngestResult],
    warehouse: DuckDBWarehouse,
    combine: Combine,
    extra_tables: dict[str, pl.DataFrame] | None,
    empty_tables: dict[str, pl.DataFrame] | None,
    *,
    row_table: str,
    suffixes: tuple[str, ...],
    missing_hint: str,
    spill: Spill,
) -> list[MaterializeResult]:
    results: list[IngestResult] = []
    rejected: list[dict] = []
    if not folder.is_dir():
        context.log.warning(f"{source}: nothing has been pulled into {folder} (see landing/{source} pull_succeeded)")
    files = sorted(p for p in folder.iterdir() if is_input_file(p, suffixes)) if folder.is_dir() else []

    def attempt(path: Path) -> IngestResult | InputFileError:
        try:
            return read(path)
        except InputFileError as error:
            return error

    progress = FileProgress()
    # Files are read on every core: polars releases the GIL for most of a file's work.
    # Results come back in file order, so logs and tables do not depend on timing.
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        outcomes = pool.map(attempt, files)
        for index, (path, result) in enumerate(zip(files, outcomes, strict=True), start=1):
            if isinstance(result, InputFileError):
                context.log.error(f"[{index}/{len(files)}] rejected {result}")
                rejected.append(
                    {"source": source, "source_file": printable(path.name), "status": "rejected", "error": str(result)}
                )
                continue
            spill.take(index, result)
            results.append(result)
            note = f"; columns ignored: {result.ignored_columns}" if result.ignored_columns else ""
            if progress.due(index, len(files), result.ignored_columns):
                context.log.info(f"[{index}/{len(files)}] {path.name}: {result.rows_read} rows read{note}")
    if not files and empty_tables is not None:
        context.log.warning(f"{source}: no files in landing; its tables are loaded empty")
        tables, quarantine = dict(empty_tables), pl.DataFrame(schema=QUARANTINE_SCHEMA)
    elif not files:
        raise InputFileError(
            f"{source}: no files in landing ({folder}): the source is required (see landing/{source} "
            f"pull_succeeded){'; ' + missing_hint if missing_hint else ''}"
        )
    elif not results:
        raise InputFileError(f"{source}: no file in {folder} could be read")
    elif spill.batched:
        clean_rows, tables = [], {}
        for combined in spill.combine_in_batches(combine):
            clean_rows.append(_clean_rows(combined, source, row_table))
            tables = {name: frame.clear() for name, frame in combined.items()}
        quarantine = pl.concat([r.quarantine.cast(QUARANTINE_SCHEMA) for r in results] + spill.quarantine()).sort(
            "source_file", "source_row", "column_name", "reason", nulls_last=False, maintain_order=True
        )
        clean_rows = pl.concat(clean_rows).group_by("source_file").agg(pl.col("rows_clean").sum())
    else:
        tables, quarantine = combine(results)
    # Only each file's name, checksum and row count are needed from here on: the per-file
    # frames (as big as the tables) are let go before the tables are written.
    loads = [(r.source_file, r.sha256, r.rows_read) for r in results]
    totals = [r.totals for r in results if r.totals is not None]
    del results
    # A rejected file is quarantined whole, with its error: nothing is lost silently.
    quarantine = pl.concat(
        [
            quarantine,
            pl.DataFrame(
                [{"source_file": r["source_file"], "reason": r["error"], "scope": FILE} for r in rejected],
                schema={"source_file": pl.String, "reason": pl.String, "scope": pl.String},
            ),
        ],
        how="diagonal_relaxed",
    ).cast(QUARANTINE_SCHEMA)

    if not spill.batched:
        clean_rows = _clean_rows(tables, source, row_table)
    quarantined_rows = (
        quarantine.filter(pl.col("scope") == ROW)
        .group_by("source_file")
        .agg(rows_quarantined=pl.col("source_row").n_unique())
    )
    loaded = pl.DataFrame(
        [
            {"source": source, "source_file": f, "sha256": sha, "status": "loaded", "rows_read": n}
            for f, sha, n in loads
        ],
        schema={k: FILE_LOADS_SCHEMA[k] for k in ("source", "source_file", "sha256", "status", "rows_read")},
    )
    file_loads = pl.concat(
        [
            loaded.join(clean_rows, on="source_file", how="left")
            .join(quarantined_rows, on="source_file", how="left")
            .with_columns(pl.col("rows_clean", "rows_quarantined").fill_null(0)),
            pl.DataFrame(
                rejected, schema={k: FILE_LOADS_SCHEMA[k] for k in ("source", "source_file", "status", "error")}
            ),
        ],
        how="diagonal_relaxed",
    ).select([pl.col(name).cast(dtype) for name, dtype in FILE_LOADS_SCHEMA.items()])
    each, clean = FileProgress.accounts(list(file_loads.filter(pl.col("status") == "loaded").iter_rows(named=True)))
    for load in each:
        context.log.info(
            f"{load['source_file']}: {load['rows_read']} read = {load['rows_clean']} clean "
            f"+ {load['rows_quarantined']} quarantined"
        )
    if clean:
        rows = sum(load["rows_read"] for load in clean)
        context.log.info(
            f"{source}: {len(clean)} files with every row clean: {rows} read = {rows} clean + 0 quarantined "
            "(each file's counts are in audit.file_loads)"
        )

    tables.update(extra_tables or {})
    spilled_rows = {}
    batched_order = spill.batched.order if spill.batched else {}
    for name in (*batched_order, *spill.plain):  # batched first: a plain table may keep what they kept
        if not spill.folder(name).is_dir():  # no file was read: the table is written empty below
            continue
        kept_by = spill.plain.get(name)
        # Each on a connection of its own: closing it gives back what DuckDB held for a big table.
        spilled_rows[name] = warehouse.replace_table_from_parquet(
            *qualified(name),
            spill.folder(name),
            keep=spill.folder(kept_by) if kept_by in batched_order else tables[kept_by] if kept_by else None,
            on=["source_file", "source_row"],
            order_by=batched_order.get(name, ()),
        )
    with warehouse.one_connection():  # the other tables, quarantine and file loads: the warehouse opened once
        for schema in sorted({qualified(name)[0] for name in tables}):
            warehouse.replace_tables(
                schema,
                {
                    qualified(n)[1]: frame
                    for n, frame in tables.items()
                    if qualified(n)[0] == schema and n not in spilled_rows
                },
            )
        warehouse.replace_tables("quarantine", {source: quarantine})
        write_file_loads(warehouse, source, file_loads, totals)

    run_metadata = {
        "source": source,
        "files_loaded": len(loads),
        "files_rejected": MetadataValue.json([r["source_file"] for r in rejected]),
        "rows_read": sum(n for _, _, n in loads),
        "rows_quarantined": int(quarantined_rows["rows_quarantined"].sum()),
    }
    return [
        MaterializeResult(
            asset_key=AssetKey(list(qualified(name))),
            metadata={
                **table_metadata(frame),
                **({"dagster/row_count": spilled_rows[name]} if name in spilled_rows else {}),
                **run_metadata,
            },
        )
        for name, frame in tables.items()
    ]


def _clean_rows(tables: dict[str, pl.DataFrame], source: str, row_table: str) -> pl.DataFrame:
    """Clean rows per file: rows of `row_table`, and of the tables that also hold input rows."""
    if not ALSO_ROW_TABLES.get(source):
        return tables[row_table].group_by("source_file").agg(rows_clean=pl.len())
    return (
        pl.concat(
            tables[name].select(pl.col("source_file").cast(pl.String), "source_row")
            for name in (row_table, *ALSO_ROW_TABLES[source])
        )
        .unique()
        .group_by("source_file")
        .agg(rows_clean=pl.len())
    )


def _clean_specs(names: list[str], upstream: list[str], descriptions: dict[str, str]) -> list[AssetSpec]:
    return [
        AssetSpec(
            key=list(qualified(name)),
            deps=[AssetKey(["landing", source]) for source in upstream],
            group_name="clean",
            owners=list(OWNERS),
            kinds={"polars", "duckdb"},
            description=descriptions[name],
        )
        for name in names
    ]


DIAGNOSTIC_TABLES = {
    "raw.diagnostic_rows": "The shape of every input row (fields, blank, what parsed); no content, no ids.",
    "diagnostic_respondents": "Kept diagnostic submissions, pseudonymised: one per respondent, collaboration and wave.",
    "diagnostic_answers": "Answered items of the kept submissions, on the instrument's scale.",
    PARTNER_RATINGS: "Each respondent's ratings of each partner organisation (closeness, trust, value), wide or long exports.",
    "instrument_partner_items": "Partner items of every instrument codebook: dimension and scale.",
    "instrument_characteristics": "Characteristics of every instrument codebook.",
    "instrument_items": "Items of every instrument codebook.",
}


@multi_asset(
    name="clean_diagnostic_exports",
    specs=_clean_specs(list(DIAGNOSTIC_TABLES), ["diagnostic_exports", "organisations"], DIAGNOSTIC_TABLES),
    pool=DUCKDB_POOL,
)
@fails_fast_on_configuration_errors
def clean_diagnostic_exports(context: AssetExecutionContext, paths: ProjectPaths, warehouse: DuckDBWarehouse):
    """Read the diagnostic exports in landing with the instrument codebooks."""
    codebooks = load_codebooks(Path(paths.config_dir) / "instruments")
    organisations = OrganisationMatcher(read_organisations(paths.landing("organisations")))
    collaborations = load_collaborations(Path(paths.config_dir) / "collaborations.yaml")
    check_instruments(
        collaborations, {c.instrument_id for c in codebooks}, Path(paths.config_dir) / "collaborations.yaml"
    )
    run = settings()
    key = pseudonymisation_key(
        run.pseudonym_key, production=run.production, sample_data=paths.uses_sample_diagnostic_exports()
    )
    if using_demo_key(run.pseudonym_key):
        context.log.warning(
            "COLLAB_HEALTH_PSEUDONYM_KEY is not set: respondent ids are hashed with the public demo "
            "key, which is fit only for the synthetic sample data."
        )
    yield from load_folder(
        context,
        "diagnostic_exports",
        paths.landing("diagnostic_exports"),
        lambda path: read_diagnostic_export(path, codebooks, key, organisations, collaborations),
        warehouse,
        combine=lambda results: combine_exports(results, collaborations),
        extra_tables={**codebook_tables(codebooks), "instrument_partner_items": partner_items_table(codebooks)},
        row_table="diagnostic_respondents",
        spill={"diagnostic_answers": "diagnostic_respondents", "raw.diagnostic_rows": None},
        batched=Batched("collaboration_id", DIAGNOSTIC_ROW_ORDER),
    )


COLLABORATION_TABLES = {
    "collaborations": "Collaborations declared in config/collaborations.yaml.",
    "collaboration_members": "Member organisations of each collaboration, with join and leave dates.",
    "collaboration_waves": "Diagnostic waves of each collaboration with their fieldwork windows.",
    "collaboration_targets": "Target metrics of each collaboration: desired direction, optional target value and date.",
}


@multi_asset(
    name="clean_collaborations",
    specs=_clean_specs(list(COLLABORATION_TABLES), [], COLLABORATION_TABLES),
    pool=DUCKDB_POOL,
)
@fails_fast_on_configuration_errors
def clean_collaborations(paths: ProjectPaths, warehouse: DuckDBWarehouse):
    """Load `config/collaborations.yaml` into the warehouse."""
    path = Path(paths.config_dir) / "collaborations.yaml"
    collaborations = load_collaborations(path)
    check_instruments(
        collaborations, {c.instrument_id for c in load_codebooks(Path(paths.config_dir) / "instruments")}, path
    )
    layouts = publication_layouts(paths.config_dir)
    catalogue = load_metric_catalogue(Path(paths.config_dir) / "metrics.yaml", layouts)
    check_target_metrics(collaborations, catalogue, path)
    tables = collaboration_tables(collaborations)
    warehouse.replace_tables("clean", tables)
    for name, frame in tables.items():
        yield MaterializeResult(asset_key=AssetKey(["clean", name]), metadata=table_metadata(frame))


def _locations_hint(paths: ProjectPaths, source: str) -> str:
    locations = paths.source(source).locations
    where = f"{Path(paths.config_dir) / 'sources.yaml'} or {source_variable(source)}"
    return f"its locations {locations} (from {where})" if locations else f"no location is configured ({where})"


def publication_asset(layout: Layout) -> AssetsDefinition:
    """A clean asset for one publication source, read with its layout (`ingest.publication`)."""
    name = layout.name

    @multi_asset(
        name=f"clean_{name}",
        specs=_clean_specs(
            [name], [name], {name: f"{layout.description or layout.title}: one row per organisation and period."}
        ),
        pool=DUCKDB_POOL,
    )
    def _clean(context: AssetExecutionContext, paths: ProjectPaths, warehouse: DuckDBWarehouse):
        # The layout as configured now (a layout edited since the definitions loaded applies).
        current = publication_layouts(paths.config_dir).get(name)
        if current is None:
            raise InputFileError(f"{name}: no layout {name}.yaml in {Path(paths.config_dir) / 'layouts'}")
        yield from load_folder(
            context,
            name,
            paths.landing(name),
            lambda path: read_publication(path, current),
            warehouse,
            combine=combine_publications(current),
            empty_tables=None if current.required else {name: empty_table(current)},
            row_table=name,
            suffixes=current.files.suffixes,
            missing_hint=_locations_hint(paths, name),
        )

    return _clean


METRIC_TABLES = {
    "metric_values": "Every system metric in one long table: organisation x period x metric, numerator, denominator, value.",
    "metric_catalogue": "The metric catalogue (config/metrics.yaml): one row per metric.",
    "metric_definitions": "How each source provides each metric: numerator, denominator and filter expressions.",
    "publication_names": "The name each publication gives each organisation code (for codes not in the ODS trust file).",
}


def metric_values_asset(layouts: dict[str, Layout]) -> AssetsDefinition:
    """The metric catalogue applied to every publication's clean table."""

    @multi_asset(
        name="clean_metric_values",
        specs=[
            AssetSpec(
                key=["clean", name],
                deps=[AssetKey(["clean", source]) for source in layouts],
                group_name="clean",
                owners=list(OWNERS),
                kinds={"polars", "duckdb"},
                description=description,
            )
            for name, description in METRIC_TABLES.items()
        ],
        pool=DUCKDB_POOL,
    )
    @fails_fast_on_configuration_errors
    def clean_metric_values(context: AssetExecutionContext, paths: ProjectPaths, warehouse: DuckDBWarehouse):
        """Apply the metric catalogue to every metric source's clean table."""
        sources = publication_layouts(paths.config_dir)
        catalogue = load_metric_catalogue(Path(paths.config_dir) / "metrics.yaml", sources)
        frames = {}
        with warehouse.one_connection():  # closed before the metrics are computed: its memory goes back
            for source in sorted({s for m in catalogue.metrics for s in m.sources}):
                frame = warehouse.read_table("clean", source)
                if frame.height:
                    frames[source] = frame
                else:
                    context.log.warning(f"{source}: no rows, so no metric values from it")
        # Written metric by metric to Parquet, then by DuckDB: the long table (three million
        # rows at national scale) is never held whole.
        rows_by_metric, set_aside = {}, 0
        with tempfile.TemporaryDirectory(prefix=".spill-metric_values-", dir=Path(warehouse.path).parent) as spill:
            pl.DataFrame(schema=METRIC_VALUES_SCHEMA).write_parquet(Path(spill) / "000000.parquet")
            for number, (metric_id, kept, overlapping) in enumerate(
                metric_values_by_metric(frames, catalogue), start=1
            ):
                kept.write_parquet(Path(spill) / f"{number:06d}.parquet")
                if kept.height:
                    rows_by_metric[metric_id] = kept.height
                set_aside += overlapping.height
            rows = warehouse.replace_table_from_parquet("clean", "metric_values", Path(spill))
        if set_aside:
            context.log.info(
                f"{set_aside} values set aside: an earlier-listed source already gave that metric, "
                "organisation and period"
            )
        tables = {
            **catalogue_tables(catalogue, {name: layout.period.grain for name, layout in sources.items()}),
            "publication_names": publication_names(frames),
        }
        del frames
        warehouse.replace_tables("clean", tables)
        yield MaterializeResult(
            asset_key=AssetKey(["clean", "metric_values"]),
            metadata={
                **table_metadata(pl.DataFrame(schema=METRIC_VALUES_SCHEMA)),
                "dagster/row_count": rows,
                "rows_by_metric": MetadataValue.json(rows_by_metric),
                "values_set_aside_for_overlap": set_aside,
            },
        )
        for name, frame in tables.items():
            yield MaterializeResult(asset_key=AssetKey(["clean", name]), metadata=table_metadata(frame))
        del tables, frame
        release_memory()  # the frames are gone: what they held goes back to the system

    return clean_metric_values


def clean_assets(layouts: dict[str, Layout]) -> list[AssetsDefinition]:
    """Every Python asset of the project for these publication layouts (source name -> layout)."""
    return [
        *pull_assets(layouts),
        clean_organisations,
        clean_diagnostic_exports,
        *[publication_asset(layout) for layout in layouts.values()],
        metric_values_asset(layouts),
        clean_collaborations,
        clean_spc_settings,
    ]


SPC_TABLES = {
    "spc_settings": "SPC rule parameters (config/spc.yaml): one row.",
    "spc_change_points": "Months from which a series' SPC limits are recalculated (config/spc.yaml).",
}


@multi_asset(name="clean_spc_settings", specs=_clean_specs(list(SPC_TABLES), [], SPC_TABLES), pool=DUCKDB_POOL)
@fails_fast_on_configuration_errors
def clean_spc_settings(paths: ProjectPaths, warehouse: DuckDBWarehouse):
    """Load `config/spc.yaml` (or the Making Data Count defaults) into the warehouse."""
    tables = spc_tables(load_spc_settings(Path(paths.config_dir) / "spc.yaml"))
    warehouse.replace_tables("clean", tables)
    for name, frame in tables.items():
        yield MaterializeResult(asset_key=AssetKey(["clean", name]), metadata=table_metadata(frame))
