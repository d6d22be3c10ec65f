"""What the run set aside and why, read back from the warehouse for checks and the run summary.

Every function takes an open DuckDB connection (the working warehouse during a run, or the
published file afterwards: both hold the `audit` and `quarantine` schemas) and returns plain
values, so the command line, a check or an analyst's script can print them as it likes.

- `files_without_clean_rows`: files that were read but gave no clean row at all, each with
  its most frequent quarantine reason (the `files_accepted` check fails on them);
- `quarantine_summary`: rows quarantined per source with the top reasons;
- `data_warnings`: the warnings a system lead must see (`marts.data_warnings`);
- `summary_lines`: all of it as short lines for the end of a run.

Reasons never hold cell content (see ingest/quarantine.py), so they are safe to print.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import duckdb

#: A reason with its row numbers blanked, so "superseded by ... (x.csv row 8)" and "(x.csv
#: row 9)" count as one reason.
REASON_PATTERN = r"regexp_replace(reason, 'row [0-9]+', 'row …', 'g')"


@dataclass(frozen=True)
class ReasonCount:
    reason: str
    rows: int


@dataclass(frozen=True)
class EmptyFile:
    """A file that was read but gave no clean row."""

    source: str
    source_file: str
    rows_read: int
    top_reason: ReasonCount | None

    @property
    def message(self) -> str:
        if self.rows_read == 0:
            return f"{self.source_file}: no data rows (a header only?), so nothing from it was loaded"
        reason = f"; top reason: {self.top_reason.reason} ({self.top_reason.rows:,} rows)" if self.top_reason else ""
        return f"{self.source_file}: all {self.rows_read:,} rows quarantined, none loaded{reason}"


@dataclass(frozen=True)
class SourceQuarantine:
    source: str
    rows_read: int
    rows_quarantined: int
    cells_quarantined: int
    files_rejected: int
    top_reasons: list[ReasonCount] = field(default_factory=list)

    @property
    def message(self) -> str:
        parts = [f"{self.rows_quarantined:,} of {self.rows_read:,} rows quarantined"]
        if self.cells_quarantined:
            cells = self.cells_quarantined
            parts.append(f"{cells:,} answer{'s' if cells != 1 else ''} set aside in kept rows")
        if self.files_rejected:
            parts.append(f"{self.files_rejected} file{'s' if self.files_rejected > 1 else ''} rejected")
        reasons = "; ".join(f"{r.reason} ({r.rows:,})" for r in self.top_reasons)
        return f"{self.source}: {', '.join(parts)}" + (f". Top reasons: {reasons}" if reasons else "")


def _tables(connection: duckdb.DuckDBPyConnection, schema: str) -> set[str]:
    return {
        name
        for (name,) in connection.execute(
            "select table_name from information_schema.tables where table_schema = ?", [schema]
        ).fetchall()
    }


def _top_reasons(
    connection: duckdb.DuckDBPyConnection, source: str, top: int, source_file: str | None = None
) -> list[ReasonCount]:
    if source not in _tables(connection, "quarantine"):
        return []
    where = "scope = 'row'" + (" and source_file = ?" if source_file else "")
    rows = connection.execute(
        f"""
        select {REASON_PATTERN} as reason_pattern, count(distinct source_file || '/' || source_row) as n
        from quarantine."{source}"
        where {where}
        group by 1
        order by n desc, reason_pattern
        limit {int(top)}
        """,
        [source_file] if source_file else [],
    ).fetchall()
    return [ReasonCount(reason, n) for reason, n in rows]


def files_without_clean_rows(connection: duckdb.DuckDBPyConnection, source: str) -> list[EmptyFile]:
    """Files of `source` that were read but gave no clean row, each with its top reason."""
    if "file_loads" not in _tables(connection, "audit"):
        return []
    loads = connection.execute(
        "select source_file, rows_read from audit.file_loads "
        "where source = ? and status = 'loaded' and rows_clean = 0 order by source_file",
        [source],
    ).fetchall()
    return [
        EmptyFile(source, name, rows_read, next(iter(_top_reasons(connection, source, 1, name)), None))
        for name, rows_read in loads
    ]


def quarantine_summary(connection: duckdb.DuckDBPyConnection, top: int = 3) -> list[SourceQuarantine]:
    """Per source (in `audit.file_loads`): rows read and quarantined, answers set aside,
    files rejected, and the `top` most frequent reasons for quarantined rows."""
    if "file_loads" not in _tables(connection, "audit"):
        return []
    quarantined = _tables(connection, "quarantine")
    summaries = []
    for source, rows_read, files_rejected in connection.execute(
        "select source, coalesce(sum(rows_read), 0), count(*) filter (where status = 'rejected') "
        "from audit.file_loads group by source order by source"
    ).fetchall():
        rows = cells = 0
        if source in quarantined:
            rows, cells = connection.execute(
                f"""
                select
                    count(distinct case when scope = 'row' then source_file || '/' || source_row end),
                    count(*) filter (where scope = 'cell')
                from quarantine."{source}"
                """
            ).fetchone()
        summaries.append(
            SourceQuarantine(
                source, int(rows_read), rows, cells, int(files_rejected), _top_reasons(connection, source, top)
            )
        )
    return summaries


def data_warnings(connection: duckdb.DuckDBPyConnection) -> list[str]:
    """The messages of `marts.data_warnings` (e.g. a member that stopped reporting)."""
    if "data_warnings" not in _tables(connection, "marts"):
        return []
    return [
        message
        for (message,) in connection.execute(
            "select message from marts.data_warnings order by collaboration_id, org_code, metric_id"
        ).fetchall()
    ]


def summary_lines(connection: duckdb.DuckDBPyConnection, top: int = 3) -> list[str]:
    """Short lines for the end of a run: files that loaded nothing, what each source set
    aside and why, and the data warnings."""
    lines = []
    sources = quarantine_summary(connection, top)
    for summary in sources:
        for empty in files_without_clean_rows(connection, summary.source):
            lines.append(f"NOTHING LOADED from {summary.source} file {empty.message}")
    lines += [
        f"Quarantine: {s.message}" for s in sources if s.rows_quarantined or s.files_rejected or s.cells_quarantined
    ]
    lines += [f"Warning: {message}" for message in data_warnings(connection)]
    return lines


def step_failure_message(event) -> str:
    """What a failed step has to say (a Dagster step-failure event): the description of a
    `Failure` raised on purpose (e.g. a configuration error, with its whole validation
    message), else the first line of the user code's own error."""
    data = event.event_specific_data
    described = getattr(getattr(data, "user_failure_data", None), "description", None)
    if described:
        return described
    error = data.error
    while error is not None and error.cause is not None:  # the user code's own error
        error = error.cause
    return error.message.strip().splitlines()[0] if error else "failed"
