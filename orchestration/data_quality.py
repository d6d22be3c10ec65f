"""What the run set aside and why, read back from the warehouse for checks and the run summary.

Every function takes an open DuckDB connection (the working warehouse during a run, or the
published file afterwards: both hold the `audit` and `quarantine` schemas) and returns plain
values, so the command line, a check or an analyst's script can print them as it likes.

- `REASON_KIND`: a quarantine reason with its particulars taken out, so reasons of one kind
  count together (the run summary's quarantine lines use it too);
- `files_without_clean_rows`: files that were read but gave no clean row at all, each with
  its most frequent kind of reason (the `files_accepted` check fails on them);
- `data_warnings`: the warnings a system lead must see (`marts.data_warnings`);
- `attention_lines`: both as lines for the end of a run;
- `step_failure_message`: what a failed step has to say (a configuration error's message).

Reasons never hold cell content (see ingest/quarantine.py), so they are safe to print.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # only connections are passed in: importing duckdb is the caller's business
    import duckdb

#: A quarantine reason with its particulars (row numbers, file names in parentheses) taken
#: out, so that reasons of one kind count together.
REASON_KIND = r"regexp_replace(regexp_replace(reason, '\s*\([^)]*\)', '', 'g'), '[0-9]+', 'N', 'g')"


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
        select {REASON_KIND} as reason_pattern, count(distinct source_file || '/' || source_row) as n
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


def attention_lines(connection: duckdb.DuckDBPyConnection) -> list[str]:
    """Lines for the end of a run: each file that was read but loaded nothing, with its top
    reason, and each data warning."""
    sources = []
    if "file_loads" in _tables(connection, "audit"):
        sources = [
            s for (s,) in connection.execute("select distinct source from audit.file_loads order by 1").fetchall()
        ]
    lines = [
        f"NOTHING LOADED from {source} file {empty.message}"
        for source in sources
        for empty in files_without_clean_rows(connection, source)
    ]
    return lines + [f"Warning: {message}" for message in data_warnings(connection)]


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
