"""Compare two warehouses table by table: the determinism check (same inputs, same tables).

Two tables are identical when they hold the same rows, value for value (doubles compared
exactly, NULLs equal), stored in the same order. With a `float_tolerance` (the Spark parity
test: tests/test_spark_parity.py), rows are compared position by position, doubles to within
the tolerance and every other column exactly. Columns of a timestamp type are left out in the schemas named
in `ignore_timestamps_in` (audit records say when they were written). Used by
tests/test_determinism.py and the national-scale benchmark.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import duckdb


@dataclass(frozen=True)
class TableDifference:
    """How one table of the second warehouse differs from the same table of the first."""

    table: str  # schema.table
    rows: int = 0  # rows of the first warehouse's table
    only_in_first: int = 0  # rows (as a multiset) the second does not have
    only_in_second: int = 0
    first_row: tuple | None = None  # the first (sorted by every column) row only in the first
    second_row: tuple | None = None  # and the first only in the second: usually its counterpart
    order_position: int | None = None  # same rows: the first (0-based) position where order differs
    problem: str = ""  # a missing table or different columns

    @property
    def differing_rows(self) -> int:
        """Rows changed, added or removed (a changed row counts once)."""
        return max(self.only_in_first, self.only_in_second)

    def describe(self) -> str:
        if self.problem:
            return f"{self.table}: {self.problem}"
        if self.differing_rows == 0:
            return f"{self.table}: the same {self.rows} rows in a different order, from row {self.order_position}"
        return (
            f"{self.table}: {self.differing_rows} of {self.rows} rows differ "
            f"({self.only_in_first} only in the first, {self.only_in_second} only in the second); "
            f"first row only in the first: {self.first_row!r}; first only in the second: {self.second_row!r}"
        )


def _columns(db: duckdb.DuckDBPyConnection, database: str, schema: str, table: str) -> list[tuple[str, str]]:
    return db.execute(
        "select column_name, data_type from duckdb_columns() "
        "where database_name = ? and schema_name = ? and table_name = ? order by column_index",
        [database, schema, table],
    ).fetchall()


def _tables(db: duckdb.DuckDBPyConnection, database: str, schemas: tuple[str, ...]) -> set[tuple[str, str]]:
    rows = db.execute(
        "select schema_name, table_name from duckdb_tables() where database_name = ? and schema_name in (select unnest(?))",
        [database, list(schemas)],
    ).fetchall()
    return set(rows)


def compare_table(
    db: duckdb.DuckDBPyConnection,
    schema: str,
    table: str,
    ignore_timestamps: bool = False,
    float_tolerance: float = 0.0,
) -> TableDifference | None:
    """None when `first.schema.table` and `second.schema.table` are identical (both attached)."""
    name = f"{schema}.{table}"
    first_columns, second_columns = (_columns(db, side, schema, table) for side in ("first", "second"))
    if first_columns != second_columns:
        return TableDifference(name, problem=f"different columns: {first_columns} and {second_columns}")
    kept = [c for c, kind in first_columns if not (ignore_timestamps and kind.upper().startswith("TIMESTAMP"))]
    columns = ", ".join(f'"{c}"' for c in kept)
    first, second = f'first."{schema}"."{table}"', f'second."{schema}"."{table}"'
    rows = db.execute(f"select count(*) from {first}").fetchone()[0]
    if float_tolerance:
        floats = {c for c, kind in first_columns if kind.upper() in ("DOUBLE", "FLOAT", "REAL")}
        return _compare_by_position(db, name, (first, second), kept, floats, float_tolerance, rows)

    def only_in(a: str, b: str) -> tuple[int, tuple | None]:
        missing = f"select {columns} from {a} except all select {columns} from {b}"
        count = db.execute(f"select count(*) from ({missing})").fetchone()[0]
        return count, db.execute(f"{missing} order by all limit 1").fetchone() if count else None

    (only_in_first, first_row), (only_in_second, second_row) = only_in(first, second), only_in(second, first)
    if only_in_first or only_in_second:
        return TableDifference(name, rows, only_in_first, only_in_second, first_row, second_row)
    # The same rows: in the same order? (rowid is a row's place in the table.)
    positioned = "select rowid as position, {columns} from {table}"
    order_position = db.execute(
        f"select min(position) from ({positioned.format(columns=columns, table=first)} "
        f"except {positioned.format(columns=columns, table=second)})"
    ).fetchone()[0]
    if order_position is None:
        return None
    return TableDifference(name, rows, order_position=order_position)


def _compare_by_position(
    db: duckdb.DuckDBPyConnection,
    name: str,
    tables: tuple[str, str],
    columns: list[str],
    floats: set[str],
    tolerance: float,
    rows: int,
) -> TableDifference | None:
    """Row n of one table against row n of the other: doubles within `tolerance`, the rest exactly."""
    same = " and ".join(
        f'(a."{c}" is not distinct from b."{c}"'
        + (f' or coalesce(abs(a."{c}" - b."{c}") <= {float(tolerance)!r}, false))' if c in floats else ")")
        for c in columns
    )
    selected = ", ".join(f'"{c}"' for c in columns)
    sides = ", ".join(f'{side}."{c}"' for side in ("a", "b") for c in columns)
    differing = (
        f"with a as (select rowid as position, {selected} from {tables[0]}), "
        f"b as (select rowid as position, {selected} from {tables[1]}) "
        f"select a.position, b.position, {sides} "
        f"from a full join b on a.position = b.position "
        f"where a.position is null or b.position is null or not ({same})"
    )
    count = db.execute(f"select count(*) from ({differing})").fetchone()[0]
    if not count:
        return None
    row = db.execute(f"{differing} order by coalesce(a.position, b.position) limit 1").fetchone()
    width = len(columns)
    first_row = row[2 : 2 + width] if row[0] is not None else None
    second_row = row[2 + width :] if row[1] is not None else None
    return TableDifference(name, rows, count, count, first_row, second_row)


def compare_warehouses(
    first: Path,
    second: Path,
    schemas: tuple[str, ...] = ("marts", "audit", "quarantine"),
    ignore_timestamps_in: tuple[str, ...] = ("audit",),
    float_tolerance: float = 0.0,
) -> tuple[list[str], list[TableDifference]]:
    """The tables compared (``schema.table``, sorted) and how each that differs does; with a
    `float_tolerance`, doubles may differ by that much (rows still compared in order)."""
    db = duckdb.connect()
    try:
        for alias, path in (("first", first), ("second", second)):
            escaped = str(path).replace("'", "''")
            db.execute(f"attach '{escaped}' as {alias} (read_only)")
        in_first, in_second = _tables(db, "first", schemas), _tables(db, "second", schemas)
        compared, differences = [], []
        for schema, table in sorted(in_first | in_second):
            compared.append(f"{schema}.{table}")
            if (schema, table) not in in_second or (schema, table) not in in_first:
                where = "second" if (schema, table) not in in_second else "first"
                differences.append(TableDifference(f"{schema}.{table}", problem=f"missing from the {where}"))
                continue
            difference = compare_table(
                db, schema, table, ignore_timestamps=schema in ignore_timestamps_in, float_tolerance=float_tolerance
            )
            if difference is not None:
                differences.append(difference)
        return compared, differences
    finally:
        db.close()
