"""Reader for NHS England's Monthly A&E Attendances and Emergency Admissions CSV files.

Reads the original published layout: columns are picked by header name (case and spacing
ignored, column order free), blank and stray columns are ignored, the national total row
is set aside whatever its label, and the period label (``MSitAE-JUNE-2024``) becomes the
first day of its month. Rows that cannot be used are quarantined with a reason.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
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
from ingest.quarantine import IngestResult, RowProblems, combine_preferring_revised, split_repeats

MONTHS = {
    name: number
    for number, names in enumerate(
        [
            ("january", "jan"),
            ("february", "feb"),
            ("march", "mar"),
            ("april", "apr"),
            ("may",),
            ("june", "jun"),
            ("july", "jul"),
            ("august", "aug"),
            ("september", "sep", "sept"),
            ("october", "oct"),
            ("november", "nov"),
            ("december", "dec"),
        ],
        start=1,
    )
    for name in names
}
PERIOD_PATTERN = re.compile(r"^\s*msitae-([a-z]+)-(\d{4})\s*$", re.IGNORECASE)


@dataclass(frozen=True)
class AeColumn:
    name: str
    headers: tuple[str, ...]
    required: bool = False


_TEXT = ("period", "org_code", "parent_org", "org_name")
COLUMNS: tuple[AeColumn, ...] = (
    AeColumn("period", ("Period",), required=True),
    AeColumn("org_code", ("Org Code",), required=True),
    AeColumn("parent_org", ("Parent Org",)),
    AeColumn("org_name", ("Org name",)),
    AeColumn("attendances_type1", ("A&E attendances Type 1",), required=True),
    AeColumn("attendances_type2", ("A&E attendances Type 2",), required=True),
    AeColumn("attendances_other", ("A&E attendances Other A&E Department",), required=True),
    AeColumn("attendances_booked_type1", ("A&E attendances Booked Appointments Type 1",)),
    AeColumn("attendances_booked_type2", ("A&E attendances Booked Appointments Type 2",)),
    AeColumn("attendances_booked_other", ("A&E attendances Booked Appointments Other Department",)),
    AeColumn("over_4h_type1", ("Attendances over 4hrs Type 1",), required=True),
    AeColumn("over_4h_type2", ("Attendances over 4hrs Type 2",), required=True),
    AeColumn("over_4h_other", ("Attendances over 4hrs Other Department",), required=True),
    AeColumn("over_4h_booked_type1", ("Attendances over 4hrs Booked Appointments Type 1",)),
    AeColumn("over_4h_booked_type2", ("Attendances over 4hrs Booked Appointments Type 2",)),
    AeColumn("over_4h_booked_other", ("Attendances over 4hrs Booked Appointments Other Department",)),
    AeColumn(
        "dta_wait_4_to_12h",
        (
            "Patients who have waited 4-12 hs from DTA to admission",
            "Patients who have waited 4-12 hrs from DTA to admission",
        ),
    ),
    AeColumn("dta_wait_over_12h", ("Patients who have waited 12+ hrs from DTA to admission",)),
    AeColumn("emergency_admissions_type1", ("Emergency admissions via A&E - Type 1",)),
    AeColumn("emergency_admissions_type2", ("Emergency admissions via A&E - Type 2",)),
    AeColumn(
        "emergency_admissions_other_ae",
        ("Emergency admissions via A&E - Other A&E department",),
    ),
    AeColumn("emergency_admissions_other", ("Other emergency admissions",)),
)
COUNT_COLUMNS = tuple(c.name for c in COLUMNS if c.name not in _TEXT)
REQUIRED_COUNTS = tuple(c.name for c in COLUMNS if c.required and c.name in COUNT_COLUMNS)
ODS_CODE = r"^[A-Z0-9]{3,6}$"

#: The clean table's columns, in order.
CLEAN_SCHEMA: dict[str, pl.DataType] = {
    "period_start": pl.Date(),
    "period_grain": pl.String(),
    "org_code": pl.String(),
    "org_name": pl.String(),
    "parent_org": pl.String(),
    **{name: pl.Int64() for name in COUNT_COLUMNS},
    "source_file": pl.String(),
    "source_row": pl.Int64(),
}


def map_headers(headers: list[str], path: Path) -> tuple[dict[str, int], list[str]]:
    """Canonical column -> position in the file, and the non-blank headers we ignore."""
    positions: dict[str, int] = {}
    wanted = {normalise_label(h): c.name for c in COLUMNS for h in c.headers}
    ignored: list[str] = []
    for position, header in enumerate(headers):
        name = wanted.get(normalise_label(header))
        if name and name not in positions:
            positions[name] = position
        elif normalise_label(header):
            ignored.append(header)
    missing = [c.headers[0] for c in COLUMNS if c.required and c.name not in positions]
    if missing:
        raise InputFileError(
            f"{path.name}: not a Monthly A&E file; missing required columns: " + ", ".join(repr(m) for m in missing)
        )
    return positions, ignored


def parse_period(label: pl.Expr) -> pl.Expr:
    """``MSitAE-JUNE-2024`` -> 2024-06-01; null when the label is not of that form."""
    parts = label.str.to_lowercase().str.extract_groups(PERIOD_PATTERN.pattern)
    month = parts.struct.field("1").replace_strict(MONTHS, default=None, return_dtype=pl.Int32)
    year = parts.struct.field("2").cast(pl.Int32, strict=False)
    return pl.date(year, month, 1)


def read_monthly_ae(path: Path) -> IngestResult:
    """Read one Monthly A&E CSV into a clean frame and quarantined rows."""
    path = Path(path)
    table = read_text_table(path)
    positions, ignored = map_headers(table.headers, path)
    source = path.name

    rows = named_columns(table, positions, absent=[c.name for c in COLUMNS if c.name not in positions])
    mapped = [c.name for c in COLUMNS]
    rows = rows.with_columns(period_start=parse_period(pl.col("period")))

    is_blank = blank_row_mask(rows, mapped)
    # The national total row, whatever its label: labelled "total", or equal in every
    # required count to the sum of all the other rows (2 x value = column sum, total included).
    labelled_total = pl.any_horizontal(
        [pl.col(c).str.strip_chars().str.to_lowercase() == "total" for c in ("period", "org_code", "org_name")]
    ).fill_null(False)
    counts = [pl.col(c).str.replace_all(",", "").cast(pl.Int64, strict=False) for c in REQUIRED_COUNTS]
    sums_to_total = (
        pl.all_horizontal([2 * count == count.sum() for count in counts])
        & pl.any_horizontal([count.sum() > 0 for count in counts])
        & (pl.len() >= 3)  # with two rows, equal rows would both look like totals
    ).fill_null(False)
    # Evaluated once, as columns: the rules below refer to them many times.
    rows = rows.with_columns(_blank=is_blank, _total=labelled_total | sums_to_total)
    is_blank, is_total = pl.col("_blank"), pl.col("_total")
    usable = ~is_blank & ~is_total
    problems = RowProblems(rows, source, copy_values=True)  # published statistics: safe to copy
    flag = problems.flag
    flag(is_blank, "blank row")
    flag(~is_blank & is_total, "national total row: derived from the organisation rows, not stored")
    for mask, reason in structural_problems(table):
        flag(usable & mask, reason)
    flag(usable & pl.col("period_start").is_null(), "period is not of the form MSitAE-<MONTH>-<YEAR>", "period")
    no_code = pl.col("org_code").is_null() | (pl.col("org_code") == "")
    flag(usable & no_code, "organisation code is empty", "org_code")
    flag(
        usable & ~no_code & ~pl.col("org_code").str.to_uppercase().str.contains(ODS_CODE).fill_null(False),
        "organisation code is not an ODS code",
        "org_code",
    )
    for name in COUNT_COLUMNS:
        text = pl.col(name).str.replace_all(",", "")
        empty = pl.col(name).is_null() | (pl.col(name) == "")
        flag(usable & ~empty & ~text.str.contains(r"^\d+$"), "not a whole non-negative number", name)
        if name in REQUIRED_COUNTS:
            flag(usable & empty, "required count is empty", name)

    flagged = problems.quarantine()
    candidates = problems.passing()

    # A file holds one row per organisation and month: later repeats are quarantined.
    candidates, repeats = split_repeats(
        candidates,
        ["org_code", "period_start"],
        order_by=["source_row"],
        descending=False,
        source_file=source,
        reason="duplicate of row {} for this organisation and month",
        column_name="org_code",
        value=pl.col("org_code"),
    )
    flagged = pl.concat([flagged, repeats])
    clean = (
        candidates.with_columns(
            [pl.col(name).str.replace_all(",", "").replace("", None).cast(pl.Int64) for name in COUNT_COLUMNS]
        )
        .with_columns(
            org_code=pl.col("org_code").str.to_uppercase(),
            period_grain=pl.lit("month"),
            source_file=pl.lit(source),
        )
        .select([pl.col(name).cast(dtype) for name, dtype in CLEAN_SCHEMA.items()])
        .sort("source_row")
    )
    return IngestResult(
        source_file=source,
        sha256=sha256_file(path),
        rows_read=table.rows.height,
        tables={"monthly_ae": clean},
        quarantine=flagged.sort("source_row", "column_name", nulls_last=False),
        ignored_columns=ignored,
    )


def combine_monthly_ae(results: list[IngestResult]) -> tuple[dict[str, pl.DataFrame], pl.DataFrame]:
    """All files together, one row per organisation and month; a revised file wins."""
    return combine_preferring_revised(results, "monthly_ae", ["org_code", "period_start"])
