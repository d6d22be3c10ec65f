"""Reader for published statistics tables: one row per organisation and period, plus measures.

The tidy A&E series, the NHS Staff Survey organisation results and the SHMI file are all
this shape, in different layouts. A `PublishedLayout` says which headers hold the
organisation code, the period and any other key or text columns; every other column is a
numeric measure, named by its header in snake case (``SHMI.Index`` -> ``shmi_index``).
Columns are found by header name, so order changes and extra columns do not matter.

Rows that cannot be used are quarantined with a reason (blank; no or malformed code or
period; a repeat of an earlier row for the same key). A measure cell that is not a
number is blanked and recorded with scope ``cell``; the row is kept. Published
"not available" markers (``NA``, ``-``, empty, ...) are simply missing values.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from ingest.files import (
    InputFileError,
    blank_row_mask,
    named_columns,
    normalise_label,
    read_text_table,
    sha256_file,
    structural_problems,
)
from ingest.quarantine import CELL, IngestResult, RowProblems, quarantine_rows, split_repeats

ODS_CODE = r"^[A-Z0-9]{3,6}$"
#: Cell texts that publications use for "no value".
MISSING_MARKERS = ("", "na", "n/a", "<na>", "nan", "-", "*", "..", ":", "null")


def snake_case(header: str) -> str:
    """``SHMI.Index`` -> ``shmi_index``; ``Burned_out_base`` -> ``burned_out_base``."""
    return re.sub(r"[^0-9a-z]+", "_", normalise_label(header)).strip("_")


def month_period(text: pl.Expr) -> pl.Expr:
    """An ISO date (or ``YYYY-MM``) -> the first day of its month; null if not a date."""
    return text.str.slice(0, 7).str.to_date("%Y-%m", strict=False)


def year_period(text: pl.Expr) -> pl.Expr:
    """A four-digit year -> 1 January of that year; null otherwise."""
    year = text.str.extract(r"^((?:19|20)\d\d)(?:\.0+)?$").cast(pl.Int32, strict=False)
    return pl.date(year, 1, 1)


@dataclass(frozen=True)
class PublishedLayout:
    """How to read one publication: the headers (any of the aliases) of its key columns."""

    source: str
    title: str
    org_code: tuple[str, ...]
    period: tuple[str, ...]
    period_grain: str  # "month" or "year"
    parse_period: Callable[[pl.Expr], pl.Expr]
    period_hint: str
    #: Other key columns (kept as text, part of the row's identity), e.g. the A&E department type.
    keys: dict[str, tuple[str, ...]] = field(default_factory=dict)
    #: Descriptive text columns kept as they are (names, regions).
    text: dict[str, tuple[str, ...]] = field(default_factory=dict)
    #: Headers known to be placeholders or not measures: ignored and reported.
    ignore: tuple[str, ...] = ()


def _positions(
    headers: list[str], layout: PublishedLayout, path: Path
) -> tuple[dict[str, int], dict[str, int], list[str]]:
    """(key and text column -> position, measure column -> position, ignored headers)."""
    wanted = {"org_code": layout.org_code, "period": layout.period, **layout.keys, **layout.text}
    by_label = {normalise_label(alias): name for name, aliases in wanted.items() for alias in aliases}
    ignored_labels = {normalise_label(h) for h in layout.ignore}
    named: dict[str, int] = {}
    measures: dict[str, int] = {}
    ignored: list[str] = []
    for position, header in enumerate(headers):
        label = normalise_label(header)
        if label in by_label and by_label[label] not in named:
            named[by_label[label]] = position
        elif label in ignored_labels or not label:
            if label:
                ignored.append(header)
        elif snake_case(header) in measures or snake_case(header) in wanted:
            ignored.append(header)  # a repeated header: the first one is used
        else:
            measures[snake_case(header)] = position
    missing = [
        aliases[0]
        for name, aliases in {"org_code": layout.org_code, "period": layout.period, **layout.keys}.items()
        if name not in named
    ]
    if missing:
        raise InputFileError(
            f"{path.name}: not {layout.title}; missing required columns: " + ", ".join(repr(m) for m in missing)
        )
    if not measures:
        raise InputFileError(f"{path.name}: {layout.title} with no measure columns")
    return named, measures, ignored


def read_published(path: Path, layout: PublishedLayout) -> IngestResult:
    """Read one publication file into `clean.<layout.source>` rows and quarantined rows."""
    path = Path(path)
    table = read_text_table(path)
    named, measures, ignored = _positions(table.headers, layout, path)
    source = path.name
    rows = named_columns(
        table, named | measures, absent=[name for name in layout.text if name not in named]
    ).with_columns(
        [pl.col(name).str.replace_all(",", "") for name in measures],
        period_start=layout.parse_period(pl.col("period")),
        org_code=pl.col("org_code").str.to_uppercase(),
    )

    problems = RowProblems(rows, source, copy_values=True)  # published statistics: safe to copy
    is_blank = blank_row_mask(rows, [*named, *measures])
    problems.flag(is_blank, "blank row")
    for mask, reason in structural_problems(table):
        problems.flag(~is_blank & mask, reason)
    no_code = pl.col("org_code").is_null() | (pl.col("org_code") == "")
    problems.flag(~is_blank & no_code, "organisation code is empty", "org_code")
    problems.flag(
        ~is_blank & ~no_code & ~pl.col("org_code").str.contains(ODS_CODE).fill_null(False),
        "organisation code is not an ODS code",
        "org_code",
    )
    problems.flag(~is_blank & pl.col("period_start").is_null(), f"period is not {layout.period_hint}", "period")
    for key in layout.keys:
        problems.flag(~is_blank & (pl.col(key).is_null() | (pl.col(key) == "")), f"{key} is empty", key)
    flagged = problems.quarantine()
    candidates, repeats = split_repeats(
        problems.passing(),
        ["org_code", "period_start", *layout.keys],
        order_by=["source_row"],
        descending=False,
        source_file=source,
        reason="duplicate of row {} for this organisation and period",
        column_name="org_code",
        value=pl.col("org_code"),
    )

    # Measures: missing markers are nulls; any other non-number is a cell problem. A column
    # with text but no number at all is not a measure (a notes column): it is ignored.
    missing = {
        name: pl.col(name).is_null() | pl.col(name).str.to_lowercase().is_in(MISSING_MARKERS) for name in measures
    }
    numbers = {name: pl.col(name).cast(pl.Float64, strict=False) for name in measures}
    counts = candidates.select(
        *[numbers[name].is_not_null().sum().alias(f"{name}.numbers") for name in measures],
        *[(~missing[name]).sum().alias(f"{name}.present") for name in measures],
    ).row(0, named=True)
    text_only = [name for name in measures if counts[f"{name}.present"] and not counts[f"{name}.numbers"]]
    ignored += [table.headers[measures[name]] for name in text_only]
    measures = {name: position for name, position in measures.items() if name not in text_only}
    cell_problems = [
        quarantine_rows(
            candidates.filter(~missing[name] & numbers[name].is_null()),
            source_file=source,
            reason="not a number",
            column_name=name,
            value=pl.col(name),
            scope=CELL,
        )
        for name in measures
    ]
    clean = candidates.select(
        "org_code",
        "period_start",
        pl.lit(layout.period_grain).alias("period_grain"),
        *layout.keys,
        *layout.text,
        *[pl.when(missing[name]).then(None).otherwise(numbers[name]).alias(name) for name in measures],
        pl.lit(source).alias("source_file"),
        "source_row",
    ).sort("source_row")
    return IngestResult(
        source_file=source,
        sha256=sha256_file(path),
        rows_read=table.rows.height,
        tables={layout.source: clean},
        quarantine=pl.concat([flagged, repeats, *cell_problems]).sort("source_row", "column_name", nulls_last=False),
        ignored_columns=ignored,
    )


AE_TIDY = PublishedLayout(
    source="ae_tidy",
    title="a tidy A&E attendances file (period, org_code, type, attendances, breaches, admissions)",
    org_code=("org_code",),
    period=("period",),
    period_grain="month",
    parse_period=month_period,
    period_hint="a date (YYYY-MM-DD)",
    keys={"department_type": ("type",)},
)

STAFF_SURVEY = PublishedLayout(
    source="staff_survey",
    title="NHS Staff Survey organisation results",
    org_code=("ODS code", "Org code", "Organisation code"),
    period=("Year", "Survey year"),
    period_grain="year",
    parse_period=year_period,
    period_hint="a four-digit year",
    text={"org_name": ("Organisation name",), "benchmarking_group": ("Benchmarking group",)},
    # Region and ICS columns are shifted between years in the published file; ICB membership
    # comes from ODS instead. "Weighting" is a label, not a measure.
    ignore=("Region", "ICS/STP", "ICS", "Weighting"),
)

SHMI = PublishedLayout(
    source="shmi",
    title="a SHMI and staff survey trust-year file",
    org_code=("Code",),
    period=("Year.Index", "Year"),
    period_grain="year",
    parse_period=year_period,
    period_hint="a four-digit year",
    text={"org_name": ("Name",)},
    # All-zero or empty placeholders, and region labels that are not measures.
    ignore=(
        "FreedomSpeak.Index",
        "Openness.Index",
        "X",
        "HEE.region.code",
        "HEE.region.name",
        "North",
        "North.v.South",
    ),
)
