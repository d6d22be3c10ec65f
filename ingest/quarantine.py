"""What every reader returns: clean tables, quarantined rows with reasons, and the row count.

The rule "nothing lost" is checked against these: for each file, the rows read equal the
rows that reached a clean table plus the rows quarantined with scope ``row``. Problems with
a single cell that leave the row usable (an unrecognised answer, say) are recorded with
scope ``cell`` and do not remove the row; a file rejected whole has one entry of scope
``file``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import polars as pl

ROW = "row"
CELL = "cell"
FILE = "file"  # a whole file rejected (unreadable, or not a known layout); source_row is null

QUARANTINE_SCHEMA = {
    "source_file": pl.String,
    "source_row": pl.Int64,
    "column_name": pl.String,
    "value": pl.String,
    "reason": pl.String,
    "scope": pl.String,
}


def empty_quarantine() -> pl.DataFrame:
    return pl.DataFrame(schema=QUARANTINE_SCHEMA)


def quarantine_rows(
    frame: pl.DataFrame,
    *,
    source_file: str | pl.Expr,
    reason: str | pl.Expr,
    column_name: str | None = None,
    value: pl.Expr | None = None,
    scope: str = ROW,
) -> pl.DataFrame:
    """Quarantine entries for every row of `frame` (which must carry `source_row`)."""
    reason_expr = reason if isinstance(reason, pl.Expr) else pl.lit(reason)
    file_expr = source_file if isinstance(source_file, pl.Expr) else pl.lit(source_file)
    return frame.select(
        file_expr.cast(pl.String).alias("source_file"),
        pl.col("source_row").cast(pl.Int64),
        pl.lit(column_name, dtype=pl.String).alias("column_name"),
        (value if value is not None else pl.lit(None)).cast(pl.String).alias("value"),
        reason_expr.cast(pl.String).alias("reason"),
        pl.lit(scope).alias("scope"),
    )


class RowProblems:
    """A reader's row rules: each `flag` quarantines the rows its mask picks, with a reason;
    `passing` is then what no rule picked. `copy_values` keeps the offending cell's text
    (safe for published statistics, never for survey exports)."""

    def __init__(self, rows: pl.DataFrame, source_file: str, copy_values: bool):
        self.rows, self.source_file, self.copy_values = rows, source_file, copy_values
        self._entries: list[pl.DataFrame] = []
        self._flagged: list[tuple[pl.Expr, str | pl.Expr, str | None, pl.Expr | None]] = []

    def flag(
        self, mask: pl.Expr, reason: str | pl.Expr, column: str | None = None, value: pl.Expr | None = None
    ) -> None:
        """`value` (default: the column itself) is what is copied when `copy_values`. The
        rules are applied together when the quarantine is asked for."""
        self._flagged.append((mask, reason, column, value))

    def _apply(self) -> None:
        """The flagged rules' rows, in the order flagged: one pass finds which rules pick any
        row (most pick none), and only those filter the rows."""
        if not self._flagged:
            return
        flagged, self._flagged = self._flagged, []
        hits = self.rows.select([mask.any().alias(f"_{i}") for i, (mask, *_) in enumerate(flagged)]).row(0)
        for hit, (mask, reason, column, value) in zip(hits, flagged, strict=True):
            if not hit:
                continue
            value = (value if value is not None else pl.col(column)) if (column and self.copy_values) else None
            self._entries.append(
                quarantine_rows(
                    self.rows.filter(mask), source_file=self.source_file, reason=reason, column_name=column, value=value
                )
            )

    def quarantine(self) -> pl.DataFrame:
        self._apply()
        return pl.concat(self._entries) if self._entries else empty_quarantine()

    def passing(self) -> pl.DataFrame:
        return self.rows.join(self.quarantine().select("source_row").unique(), on="source_row", how="anti")


#: Columns `split_repeats` offers to its reason template: the row (and file) that was kept.
KEPT_ROW = "_kept_row"
KEPT_FILE = "_kept_file"


def split_repeats(
    frame: pl.DataFrame,
    keys: list[str],
    *,
    order_by: list[str],
    descending: bool,
    source_file: str | pl.Expr,
    reason: str,
    reason_columns: tuple[str, ...] = (KEPT_ROW,),
    column_name: str,
    value: pl.Expr | None = None,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Keep the first row of each `keys` group in `order_by` order; quarantine the others.

    `reason` is a polars format string whose ``{}`` are filled from `reason_columns`
    (`KEPT_ROW`, `KEPT_FILE`: where the kept row is).
    """
    ordered = frame.sort(order_by, descending=descending).with_columns(
        _rank=pl.int_range(pl.len()).over(keys),
        _kept_row=pl.col("source_row").first().over(keys),
        _kept_file=(pl.col("source_file") if "source_file" in frame.columns else pl.lit("")).first().over(keys),
    )
    repeats = quarantine_rows(
        ordered.filter(pl.col("_rank") > 0),
        source_file=source_file,
        reason=pl.format(reason, *reason_columns),
        column_name=column_name,
        value=value,
    )
    kept = (
        ordered.filter(pl.col("_rank") == 0)
        .drop("_rank", KEPT_ROW, KEPT_FILE)
        .sort([c for c in ("source_file", "source_row") if c in frame.columns])
    )
    return kept, repeats


def concat_results(results: list[IngestResult]) -> tuple[dict[str, pl.DataFrame], pl.DataFrame]:
    """Each clean table across files, and every file's quarantined rows. Files of one source
    may differ in columns (a publication that added a measure): a column one file lacks is
    empty for its rows."""
    names = list(results[0].tables)
    tables = {name: pl.concat([r.tables[name] for r in results], how="diagonal_relaxed") for name in names}
    quarantine = pl.concat([r.quarantine.cast(QUARANTINE_SCHEMA) for r in results])
    return tables, quarantine


def combine_preferring_revised(
    results: list[IngestResult], table: str, keys: list[str], prefer: str = "revised", last_file_wins: bool = True
) -> tuple[dict[str, pl.DataFrame], pl.DataFrame]:
    """All files together, one row per `keys`.

    When two files hold the same key (a revised file published beside the original), the
    row from a file whose name matches `prefer` (a regular expression, case ignored) wins,
    then the file whose name sorts last (or, without `last_file_wins`, first); the other is
    quarantined naming the file and row kept.
    """
    tables, quarantine = concat_results(results)
    kept, superseded = split_repeats(
        tables[table].with_columns(
            _revised=pl.col("source_file").str.contains(f"(?i){prefer}"),
            _file_rank=pl.col("source_file").rank("dense", descending=not last_file_wins),
        ),
        keys,
        order_by=["_revised", "_file_rank", "source_row"],
        descending=True,
        source_file=pl.col("source_file"),
        reason="superseded by {} row {} for this organisation and period",
        reason_columns=(KEPT_FILE, KEPT_ROW),
        column_name="org_code",
        value=pl.col("org_code"),
    )
    tables[table] = kept.drop("_revised", "_file_rank")
    return tables, pl.concat([quarantine, superseded])


@dataclass
class IngestResult:
    """The outcome of reading one input file."""

    source_file: str
    sha256: str
    rows_read: int
    tables: dict[str, pl.DataFrame]
    quarantine: pl.DataFrame = field(default_factory=empty_quarantine)
    ignored_columns: list[str] = field(default_factory=list)
    #: A publication's own totals compared with the sum of its stored rows (`ingest.publication`).
    totals: pl.DataFrame | None = None

    @property
    def rows_quarantined(self) -> int:
        rows = self.quarantine.filter(pl.col("scope") == ROW)
        return rows.select(pl.col("source_row").n_unique()).item()
