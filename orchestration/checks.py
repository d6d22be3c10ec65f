"""Asset checks on the clean tables: Great Expectations suites, and "nothing lost".

Every suite in `expectations/suites/` becomes a blocking check on the asset that writes its
table, so a failing suite stops the dbt models downstream. The reconciliation checks
prove that, file by file, rows read = rows clean + rows quarantined.
"""

from contextlib import closing
from pathlib import Path

from dagster import (
    AssetCheckExecutionContext,
    AssetCheckResult,
    AssetChecksDefinition,
    AssetCheckSeverity,
    AssetKey,
    MetadataValue,
    asset_check,
)

from expectations.suites import (
    ROWS_ALIKE,
    SuiteSpec,
    codebook_parameters,
    load_suite_specs,
    validate,
    validate_batches,
    validates_in_batches,
)
from ingest.codebook import load_codebooks
from ingest.layouts import RESERVED_NAMES, Layout
from orchestration.assets import ALSO_ROW_TABLES, DUCKDB_POOL, row_tables
from orchestration.data_quality import files_without_clean_rows
from orchestration.memory import release_memory
from orchestration.resources import DuckDBWarehouse, ProjectPaths

#: A table is validated about this many bytes (in Arrow) at a time: GE holds several times a
#: batch while it validates. At scale 3, 1,000,000 respondents at a time (67 MB) took
#: +0.89 GB and 250,000 +0.32 GB, in the same time; the answers (40 bytes a row) go
#: ~420,000 rows at a time.
GE_BATCH_BYTES = 16 * 2**20


def great_expectations_check(spec: SuiteSpec) -> AssetChecksDefinition:
    """Blocking with severity ERROR, unless the suite's meta says ``"blocking": false`` (a warning)."""
    blocking = bool(spec.document["meta"].get("blocking", True))

    @asset_check(
        asset=AssetKey(list(spec.asset_key)),
        name=f"ge_{spec.name}",
        description=f"Great Expectations suite {spec.name} on {spec.schema}.{spec.table}: {spec.description}",
        blocking=blocking,
        pool=DUCKDB_POOL,
    )
    def _check(
        context: AssetCheckExecutionContext, warehouse: DuckDBWarehouse, paths: ProjectPaths
    ) -> AssetCheckResult:
        with warehouse.one_connection():  # its three reads open the warehouse once
            result = _validate(context, spec, blocking, warehouse, paths)
        release_memory()  # the batches and the connection are gone: what they held goes back
        return result

    return _check


def _validate(
    context: AssetCheckExecutionContext,
    spec: SuiteSpec,
    blocking: bool,
    warehouse: DuckDBWarehouse,
    paths: ProjectPaths,
) -> AssetCheckResult:
    """A suite's validation of its table, as `great_expectations_check` reports it."""
    existing = {
        name
        for (name,) in warehouse.query(
            "select column_name from information_schema.columns where table_schema = ? and table_name = ?",
            [spec.schema, spec.table],
        )
    }
    # Only what the suite names (all columns if it names none); a named column the table
    # lacks is left for GE to fail on.
    columns = tuple(c for c in spec.columns if c in existing)
    rows = warehouse.count_rows(spec.schema, spec.table)
    demands_rows = any(e["type"] == "expect_table_row_count_to_be_between" for e in spec.document["expectations"])
    if rows == 0 and not demands_rows:
        # An optional source left unconfigured: nothing to validate.
        return AssetCheckResult(
            passed=True, metadata={"table": f"{spec.schema}.{spec.table}", "rows": 0, "skipped": "empty table"}
        )
    # Bounds the suite takes from the configuration (the codebooks' scales).
    parameters = codebook_parameters(load_codebooks(Path(paths.config_dir) / "instruments")) if spec.parameters else {}
    if validates_in_batches(spec):  # bounded memory, whatever the table's size
        # Closed however validation ends: an open stream would keep the warehouse open.
        counted = ROWS_ALIKE if spec.by_distinct_values else ""
        read = warehouse.read_batches(spec.schema, spec.table, columns, max_bytes=GE_BATCH_BYTES, counted=counted)
        with closing(read) as batches:
            outcome = validate_batches(spec, batches, parameters)
    else:
        outcome = validate(spec, warehouse.read_table(spec.schema, spec.table, columns), parameters)
    log = context.log.error if blocking else context.log.warning
    for failure in outcome.failures:
        log(f"{spec.schema}.{spec.table}: {describe_failure(failure)}")
    return AssetCheckResult(
        passed=outcome.success,
        severity=AssetCheckSeverity.ERROR if blocking else AssetCheckSeverity.WARN,
        metadata={
            "table": f"{spec.schema}.{spec.table}",
            "rows": rows,
            "parameters": MetadataValue.json(parameters),
            "expectations_evaluated": outcome.evaluated,
            "expectations_failed": len(outcome.failures),
            "failures": MetadataValue.json(outcome.failures),
        },
    )


def describe_failure(failure: dict) -> str:
    """One readable line for a failed expectation: what it expects, of which columns, and how
    many rows broke it (the values are in the check's metadata, not in the log)."""
    kwargs = failure.get("kwargs", {})
    columns = [kwargs[k] for k in ("column", "column_A", "column_B") if k in kwargs] + kwargs.get("column_list", [])
    what = failure["expectation"].removeprefix("expect_").replace("_", " ")
    where = f" ({', '.join(columns)})" if columns else ""
    mostly = f" (at most {1 - kwargs['mostly']:.0%} may)" if "mostly" in kwargs else ""
    if failure.get("error"):
        return f"expect {what}{where}: could not be evaluated: {failure['error']}"
    count = failure.get("unexpected_count") or 0
    return f"expect {what}{where}: {count} {'row fails' if count == 1 else 'rows fail'}{mostly}"


def reconciliation_check(source: str, row_table: str, also: tuple[str, ...] = ()) -> AssetChecksDefinition:
    @asset_check(
        asset=AssetKey(["clean", row_table]),
        name="rows_reconcile",
        description=(
            f"Nothing lost: for every loaded {source} file, rows read = rows in clean.{row_table} "
            + "".join(f"or clean.{t} " for t in also)
            + f"+ rows in quarantine.{source}."
        ),
        blocking=True,
        pool=DUCKDB_POOL,
    )
    def _check(warehouse: DuckDBWarehouse) -> AssetCheckResult:
        with warehouse.one_connection():
            return _reconcile(warehouse, source, row_table, also)

    return _check


def _reconcile(warehouse: DuckDBWarehouse, source: str, row_table: str, also: tuple[str, ...]) -> AssetCheckResult:
    """Each loaded file's rows read against its clean and quarantined rows."""
    mismatches = warehouse.query(
        f"""
        with clean_rows as (
            select source_file, count(distinct source_row) as n
            from ({" union all ".join(f"select source_file, source_row from clean.{t}" for t in (row_table, *also))})
            group by 1
        ),
        quarantined as (
            select source_file, count(distinct source_row) as n
            from quarantine.{source} where scope = 'row' group by 1
        )
        select loads.source_file, loads.rows_read, coalesce(c.n, 0), coalesce(q.n, 0)
        from audit.file_loads as loads
        left join clean_rows as c using (source_file)
        left join quarantined as q using (source_file)
        where loads.source = ? and loads.status = 'loaded'
          and loads.rows_read <> coalesce(c.n, 0) + coalesce(q.n, 0)
        order by 1
        """,
        [source],
    )
    totals = warehouse.query(
        "select count(*), coalesce(sum(rows_read), 0) from audit.file_loads where source = ? and status = 'loaded'",
        [source],
    )[0]
    return AssetCheckResult(
        passed=not mismatches,
        metadata={
            "files": totals[0],
            "rows_read": totals[1],
            "mismatched_files": MetadataValue.json(
                [{"file": f, "read": r, "clean": c, "quarantined": q} for f, r, c, q in mismatches]
            ),
        },
    )


def files_accepted_check(source: str, row_table: str) -> AssetChecksDefinition:
    @asset_check(
        asset=AssetKey(["clean", row_table]),
        name="files_accepted",
        description=(
            f"Every {source} file in landing could be read, passed its checks and gave at least one clean row. Not "
            "blocking: the other files still load, but the check fails (severity ERROR) naming each "
            "rejected file and its error, and each file whose every row was quarantined with the top reason."
        ),
        pool=DUCKDB_POOL,
    )
    def _check(warehouse: DuckDBWarehouse) -> AssetCheckResult:
        with warehouse.connect(read_only=True) as connection:
            rejected = connection.execute(
                "select source_file, error from audit.file_loads where source = ? and status = 'rejected' order by 1",
                [source],
            ).fetchall()
            empty = files_without_clean_rows(connection, source)
        # A reader's error names its file first; a bare one gets the name.
        problems = [error if error.startswith(name) else f"{name}: rejected: {error}" for name, error in rejected]
        problems += [e.message for e in empty]
        return AssetCheckResult(
            passed=not problems,
            severity=AssetCheckSeverity.ERROR,
            description="; ".join(problems) if problems else None,
            metadata={
                "rejected_files": MetadataValue.json([{"file": f, "error": e} for f, e in rejected]),
                "files_without_clean_rows": MetadataValue.json(
                    [
                        {
                            "file": e.source_file,
                            "rows_read": e.rows_read,
                            "top_reason": e.top_reason.reason if e.top_reason else None,
                            "top_reason_rows": e.top_reason.rows if e.top_reason else 0,
                        }
                        for e in empty
                    ]
                ),
            },
        )

    return _check


def members_still_reporting_check() -> AssetChecksDefinition:
    """A member that stopped reporting a target metric while still a member: a warning
    naming the organisation, the metric and the last period reported (marts.data_warnings)."""

    @asset_check(
        asset=AssetKey(["marts", "data_warnings"]),
        name="members_still_reporting",
        description=(
            "Every collaboration member still reports each target metric (and under its own code). "
            "Not blocking (severity WARN): each warning names the organisation, the metric and the last period reported."
        ),
        pool=DUCKDB_POOL,
    )
    def _check(warehouse: DuckDBWarehouse) -> AssetCheckResult:
        warnings = warehouse.query(
            "select collaboration_id, org_code, metric_id, warning, last_period_reported, message "
            "from marts.data_warnings order by collaboration_id, org_code, metric_id, warning"
        )
        return AssetCheckResult(
            passed=not warnings,
            severity=AssetCheckSeverity.WARN,
            description=" ".join(message for *_, message in warnings) or None,
            metadata={
                "warnings": MetadataValue.json(
                    [
                        {
                            "collaboration": c,
                            "organisation": o,
                            "metric": m,
                            "warning": w,
                            "last_period_reported": str(last) if last else None,
                            "message": message,
                        }
                        for c, o, m, w, last, message in warnings
                    ]
                )
            },
        )

    return _check


def totals_check(source: str) -> AssetChecksDefinition:
    @asset_check(
        asset=AssetKey(["clean", source]),
        name="totals_reconcile",
        description=(
            f"Each total row of every {source} file equals the sum of the rows stored for it, in every "
            "measure (within the layout's tolerance for rounding). Not blocking; severity ERROR: the check "
            "names the file, column, published and summed values."
        ),
        pool=DUCKDB_POOL,
    )
    def _check(warehouse: DuckDBWarehouse) -> AssetCheckResult:
        rows = warehouse.query(
            "select source_file, column_name, totals_compared, published, summed, totals_mismatched, "
            "worst_row, worst_published, worst_summed from audit.published_totals where source = ? order by 1, 2",
            [source],
        )
        mismatches = [
            {
                "file": file,
                "column": column,
                "published": published,
                "summed": summed,
                "totals_mismatched": mismatched,
                "worst_row": row,
                "worst_published": worst_published,
                "worst_summed": worst_summed,
            }
            for file, column, _, published, summed, mismatched, row, worst_published, worst_summed in rows
            if mismatched
        ]
        description = "; ".join(
            f"{m['file']}, column {m['column']}: published total {m['worst_published']:,.0f} (row {m['worst_row']}) "
            f"but its rows sum to {m['worst_summed']:,.0f}"
            + (f" ({m['totals_mismatched']} totals differ)" if m["totals_mismatched"] > 1 else "")
            for m in mismatches
        )
        return AssetCheckResult(
            passed=not mismatches,
            severity=AssetCheckSeverity.ERROR,
            description=description or None,
            metadata={
                "columns_compared": len(rows),
                "totals_compared": sum(r[2] for r in rows),
                "mismatches": MetadataValue.json(mismatches),
            },
        )

    return _check


def build_checks(layouts: dict[str, Layout]) -> list[AssetChecksDefinition]:
    """The checks for these publication layouts: GE suites on the tables that exist, and
    "nothing lost", files accepted and (where a layout has totals) totals reconciled."""
    tables = row_tables(layouts)
    checks = [
        great_expectations_check(spec)
        for spec in load_suite_specs()
        # A suite on a publication this configuration does not declare has nothing to check.
        if spec.asset_key[0] != "clean" or spec.asset_key[1] in RESERVED_NAMES or spec.asset_key[1] in layouts
    ]
    for source, row_table in tables.items():
        checks.append(reconciliation_check(source, row_table, ALSO_ROW_TABLES.get(source, ())))
        checks.append(files_accepted_check(source, row_table))
        if source in layouts and layouts[source].totals is not None:
            checks.append(totals_check(source))
    # Organisation -> ICB snapshots are accepted or rejected whole (reference sanity).
    checks.append(files_accepted_check("organisations", "organisation_icb_snapshots"))
    checks.append(members_still_reporting_check())
    return checks
