"""An analyst's own series for `collab-health spc`: a CSV (or XLSX) with one row per point.

Columns: ``series_id``, ``period`` (an ISO date, YYYY-MM-DD, or an integer position; one
kind in a file), ``value`` (a number; empty = no point, as a month without a value in the
nightly build), and optionally ``polarity`` (higher_is_better, lower_is_better or neutral,
the default), ``target``, ``new_segment`` (true on the first point of a new segment: the
limits are recalculated from it) and ``baseline_points`` (limits from the first N points of
each segment). polarity, target and baseline_points belong to the series: a row may leave
them empty, but the rows that give one must agree.

Every problem is reported, naming the file, row (the header is row 1) and column, never a
cell's content.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from ingest.files import blank_row_mask, named_columns, normalise_label, read_text_table, structural_problems

REQUIRED_COLUMNS = ("series_id", "period", "value")
OPTIONAL_COLUMNS = ("polarity", "target", "new_segment", "baseline_points")
POLARITIES = ("higher_is_better", "lower_is_better", "neutral")
TRUE_WORDS = ("true", "yes", "y", "1")
FALSE_WORDS = ("false", "no", "n", "0")
#: At most this many problems are listed (the count of the rest is given).
MAX_PROBLEMS = 20
#: Integer positions become dates from here, one day apart in their order (the SPC model
#: orders points by date).
POSITION_EPOCH = dt.date(1970, 1, 1)


class SpcInputError(ValueError):
    """A file `collab-health spc` cannot chart; the message lists every problem found."""


@dataclass(frozen=True)
class SpcInput:
    """`points`: one row per input row (source_row, series_id, period as given, period_date,
    value); `series`: one row per series (series_id, polarity, target, baseline_points);
    `segment_starts`: the (series_id, period_date) rows marked new_segment."""

    points: pl.DataFrame
    series: pl.DataFrame
    segment_starts: pl.DataFrame


def _located(name: str, frame: pl.DataFrame, mask: pl.Expr, column: str, message: str) -> list[tuple[int, str]]:
    rows = frame.filter(mask).get_column("source_row").to_list()
    return [(row, f"{name} row {row}, column {column}: {message}") for row in rows]


def _per_series(name: str, frame: pl.DataFrame, column: str, what: str) -> tuple[pl.DataFrame, list[tuple[int, str]]]:
    """The one non-empty value of `column` per series, and a problem for each row that gives
    a different value from the series' first row that gives one."""
    given = frame.filter(pl.col(column).is_not_null()).sort("source_row")
    first = given.group_by("series_id", maintain_order=True).agg(
        pl.col(column).first(), pl.col("source_row").first().alias("first_row")
    )
    clashes = given.join(first, on="series_id", suffix="_first").filter(pl.col(column) != pl.col(f"{column}_first"))
    problems = [
        (row, f"{name} row {row}, column {column}: differs from row {first_row} of the same series ({what})")
        for row, first_row in clashes.select("source_row", "first_row").iter_rows()
    ]
    return first.select("series_id", column), problems


def read_spc_input(path: Path) -> SpcInput:
    path = Path(path)
    name = path.name
    if not path.exists():
        raise SpcInputError(f"{path}: no such file")
    table = read_text_table(path)  # InputFileError (a ValueError) names the file
    headers = [normalise_label(h).replace(" ", "_") for h in table.headers]
    known = REQUIRED_COLUMNS + OPTIONAL_COLUMNS
    header_problems = [
        f"{name}: unknown column {h!r} (expected {', '.join(known)})" for h in headers if h and h not in known
    ]
    header_problems += [
        f"{name}: column {h!r} appears more than once" for h in sorted(set(headers)) if headers.count(h) > 1
    ]
    header_problems += [f"{name}: missing column {c!r}" for c in REQUIRED_COLUMNS if c not in headers]
    if header_problems:
        raise SpcInputError("\n".join(header_problems))
    positions = {h: i for i, h in enumerate(headers) if h in known}
    frame = named_columns(table, positions, absent=[c for c in OPTIONAL_COLUMNS if c not in positions])
    frame = frame.filter(~blank_row_mask(frame, list(known)))

    problems: list[tuple[int, str]] = []
    for mask, reason in structural_problems(table):
        problems += _located(name, frame, mask, "(row)", reason)
    problems += _located(name, frame, pl.col("series_id").is_null(), "series_id", "empty")

    # period: an ISO date or an integer position, one kind in the file (the first row's).
    frame = frame.with_columns(
        period_as_date=pl.col("period").str.strptime(pl.Date, "%Y-%m-%d", strict=False),
        period_as_position=pl.col("period").str.strip_chars_start("+").cast(pl.Int64, strict=False),
    )
    problems += _located(name, frame, pl.col("period").is_null(), "period", "empty")
    problems += _located(
        name,
        frame,
        pl.col("period").is_not_null() & pl.col("period_as_date").is_null() & pl.col("period_as_position").is_null(),
        "period",
        "not an ISO date (YYYY-MM-DD) or an integer position",
    )
    kinds = frame.filter(pl.col("period_as_date").is_not_null() | pl.col("period_as_position").is_not_null())
    by_position = kinds.height > 0 and kinds.row(0, named=True)["period_as_position"] is not None
    if kinds.height:
        first_row = kinds.row(0, named=True)["source_row"]
        other = "period_as_date" if by_position else "period_as_position"
        kind = "an integer position" if by_position else "an ISO date"
        problems += _located(
            name,
            frame,
            pl.col(other).is_not_null(),
            "period",
            f"every period must be of one kind: row {first_row} gives {kind}",
        )
    if by_position:
        ranks = pl.col("period_as_position").rank("dense").cast(pl.Int32)
        period_date = pl.lit(POSITION_EPOCH) + pl.duration(days=ranks)
    else:
        period_date = pl.col("period_as_date")
    frame = frame.with_columns(period_date=period_date)

    # value: a finite number, or empty (no point).
    frame = frame.with_columns(number=pl.col("value").cast(pl.Float64, strict=False))
    problems += _located(
        name,
        frame,
        pl.col("value").is_not_null() & (pl.col("number").is_null() | ~pl.col("number").is_finite()),
        "value",
        "not a number",
    )

    # One row per series and period.
    keyed = frame.filter(pl.col("series_id").is_not_null() & pl.col("period_date").is_not_null()).sort("source_row")
    repeated = keyed.with_columns(first_row=pl.col("source_row").first().over("series_id", "period_date")).filter(
        pl.col("source_row") != pl.col("first_row")
    )
    problems += [
        (row, f"{name} row {row}, column period: duplicate period: the same series and period as row {first_row}")
        for row, first_row in repeated.select("source_row", "first_row").iter_rows()
    ]

    # Per-series settings.
    frame = frame.with_columns(
        pl.col("polarity").str.to_lowercase(),
        target_number=pl.col("target").cast(pl.Float64, strict=False),
        baseline_number=pl.col("baseline_points").cast(pl.Int64, strict=False),
        new_segment_flag=pl.when(pl.col("new_segment").str.to_lowercase().is_in(TRUE_WORDS))
        .then(True)
        .when(pl.col("new_segment").is_null() | pl.col("new_segment").str.to_lowercase().is_in(FALSE_WORDS))
        .then(False),
    )
    problems += _located(
        name,
        frame,
        pl.col("polarity").is_not_null() & ~pl.col("polarity").is_in(POLARITIES),
        "polarity",
        f"unknown polarity (expected {', '.join(POLARITIES)})",
    )
    problems += _located(
        name,
        frame,
        pl.col("target").is_not_null() & (pl.col("target_number").is_null() | ~pl.col("target_number").is_finite()),
        "target",
        "not a number",
    )
    problems += _located(
        name,
        frame,
        pl.col("baseline_points").is_not_null()
        & (pl.col("baseline_number").is_null() | (pl.col("baseline_number") < 2)),
        "baseline_points",
        "not a whole number of 2 or more",
    )
    problems += _located(
        name, frame, pl.col("new_segment_flag").is_null(), "new_segment", "not true or false (or empty: false)"
    )
    per_series = frame.filter(pl.col("series_id").is_not_null())
    polarity, clashes = _per_series(name, per_series, "polarity", "polarity is per series")
    problems += clashes
    target, clashes = _per_series(
        name, per_series.with_columns(target=pl.col("target_number")), "target", "the target is per series"
    )
    problems += clashes
    baseline, clashes = _per_series(
        name,
        per_series.with_columns(baseline_points=pl.col("baseline_number")),
        "baseline_points",
        "baseline_points is per series",
    )
    problems += clashes

    if problems:
        problems.sort()
        shown = [message for _, message in problems[:MAX_PROBLEMS]]
        if len(problems) > MAX_PROBLEMS:
            shown.append(f"... and {len(problems) - MAX_PROBLEMS} more problems")
        raise SpcInputError("\n".join(shown))

    points = frame.select("source_row", "series_id", "period", "period_date", pl.col("number").alias("value"))
    series = (
        points.select("series_id")
        .unique(maintain_order=True)
        .join(polarity, on="series_id", how="left")
        .join(target, on="series_id", how="left")
        .join(baseline, on="series_id", how="left")
        .with_columns(pl.col("polarity").fill_null("neutral"))
    )
    segment_starts = frame.filter(pl.col("new_segment_flag")).select("series_id", "period_date")
    return SpcInput(points=points, series=series, segment_starts=segment_starts)
