"""Reader for NHS publications, driven by a layout (`ingest.layouts`, ``config/layouts/``).

One reader for every publication: the layout says where each column is, how to parse the
period, which rows are totals and what the measures are. The file is read in batches
(`ingest.batches`), so a large extract is never held whole as text; each batch is shaped
into typed columns, then the file's rows are judged together.

Rows that cannot be used are quarantined with a reason (blank; no or malformed code or
period; an empty category; a bad count; a repeat of an earlier row for the same key).
Total rows are set aside, and each total is compared with the sum of the stored rows it
covers (`IngestResult.totals`). Published "not available" markers are missing values.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from ingest.batches import BATCH_ROWS, iter_text_tables
from ingest.files import SHAPE_COLUMNS, InputFileError, TextTable, normalise_label, sha256_file, structural_problems
from ingest.layouts import READER_COLUMNS, Layout, PeriodSpec, period_regex
from ingest.quarantine import (
    CELL,
    ROW,
    IngestResult,
    RowProblems,
    combine_preferring_revised,
    quarantine_rows,
    split_repeats,
)

ODS_CODE = r"^[A-Z0-9]{3,6}$"
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
#: One row per (file, measure) whose total rows were checked.
TOTALS_SCHEMA = {
    "source": pl.String,
    "source_file": pl.String,
    "column_name": pl.String,
    "totals_compared": pl.Int64,
    "published": pl.Float64,
    "summed": pl.Float64,
    "totals_mismatched": pl.Int64,
    "worst_row": pl.Int64,
    "worst_published": pl.Float64,
    "worst_summed": pl.Float64,
}
_BAD = "_bad."  # prefix of the columns holding a measure's unparseable text


def snake_case(header: str) -> str:
    """``SHMI.Index`` -> ``shmi_index``; ``Burned_out_base`` -> ``burned_out_base``."""
    return re.sub(r"[^0-9a-z]+", "_", normalise_label(header)).strip("_")


def parse_period(text: pl.Expr, spec: PeriodSpec) -> pl.Expr:
    """Period text -> the first day of its month (or of its year); null when no format fits."""
    parsed = []
    for format_ in spec.formats:
        regex = period_regex(format_)
        groups = set(re.compile(regex).groupindex)
        parts = text.str.extract_groups(rf"(?i)^\s*{regex}\s*$")
        year = parts.struct.field("year").cast(pl.Int32, strict=False)
        if spec.grain == "year":
            month = pl.lit(1, dtype=pl.Int32)
        elif "month" in groups:
            month = parts.struct.field("month").cast(pl.Int32, strict=False)
        else:
            month = (
                parts.struct.field("month_name")
                .str.to_lowercase()
                .replace_strict(MONTHS, default=None, return_dtype=pl.Int32)
            )
        valid = year.is_not_null() & month.is_between(1, 12)
        parsed.append(pl.when(valid).then(pl.date(year, pl.when(valid).then(month).otherwise(1), 1)))
    return pl.coalesce(parsed)


def period_from_filename(path: Path, spec: PeriodSpec) -> dt.date:
    """The first period (in format order) the file's name holds, or a file-level error."""
    for format_ in spec.formats:
        for found in re.finditer(period_regex(format_), path.name, flags=re.IGNORECASE):
            parts = found.groupdict()
            month = (
                1 if spec.grain == "year" else parts.get("month") or MONTHS.get((parts.get("month_name") or "").lower())
            )
            if month is not None and 1 <= int(month) <= 12:
                return dt.date(int(parts["year"]), int(month), 1)
    raise InputFileError(f"{path.name}: the file name holds no period {spec.description}")


@dataclass
class ColumnPlan:
    """Where a layout's columns sit in one file's header row."""

    named: dict[str, int]  # organisation, period, category, text and declared measure columns found
    absent: list[str]  # optional declared columns the file does not have
    inferred: dict[str, int]  # undeclared columns read as measures (name: header in snake case)
    sums: dict[str, list[int]]  # sum_of measures: the positions they add up
    ignored: list[str] = field(default_factory=list)

    def measures(self, layout: Layout) -> list[str]:
        return [*layout.declared_measures, *self.inferred]


def plan_columns(headers: list[str], layout: Layout, path: Path) -> ColumnPlan:
    """Place the layout's columns in a header row. A required column that is missing, a
    header matching two columns or two headers matching one (``period`` and ``Period``)
    rejects the file, naming them."""
    named: dict[str, int] = {}
    absent: list[str] = []
    missing: list[str] = []
    owner: dict[int, str] = {}
    present = [p for p, h in enumerate(headers) if normalise_label(h)]
    for name, column in layout.columns.items():
        if column.sum_of is not None:
            continue
        positions = [p for p in present if column.matches(headers[p])]
        if len(positions) > 1:
            shown = " and ".join(repr(headers[p]) for p in positions)
            raise InputFileError(
                f"{path.name}: ambiguous headers {shown}: each matches the column {name} ({column.describe()}); "
                "the file must have only one"
            )
        if not positions:
            (missing if column.is_required else absent).append(column.describe() if column.is_required else name)
            continue
        position = positions[0]
        if position in owner:
            raise InputFileError(
                f"{path.name}: ambiguous header {headers[position]!r}: it matches both the columns "
                f"{owner[position]} and {name}"
            )
        owner[position], named[name] = name, position
    if missing:
        raise InputFileError(f"{path.name}: not {layout.title}; missing required columns: " + ", ".join(missing))
    sums: dict[str, list[int]] = {}
    summed: set[int] = set()
    for name, column in layout.columns.items():
        if column.sum_of is None:
            continue
        positions = [p for p in present if p not in owner and column.sum_of.picks(headers[p])]
        expected = column.sum_of.columns
        if (expected is not None and len(positions) != expected) or (not positions and column.is_required):
            raise InputFileError(
                f"{path.name}: not {layout.title}; {name} adds up {column.describe()}, "
                f"expected {expected or 'some'}, found {len(positions)}"
            )
        sums[name] = positions
        summed |= set(positions)
        if not positions:
            absent.append(name)
    ignore = {normalise_label(h) for h in layout.ignore}
    inferred: dict[str, int] = {}
    ignored: list[str] = []
    for position in present:
        if position in owner or position in summed:
            continue
        header = headers[position]
        name = snake_case(header)
        if normalise_label(header) in ignore or layout.measures.other_columns == "ignore":
            ignored.append(header)
        elif not name or name in READER_COLUMNS or name in layout.columns:
            # A column named like one the reader makes itself (``Period start``, ``Source
            # row``) or like a declared column: it cannot be a measure of that name.
            ignored.append(header)
        elif name in inferred:
            raise InputFileError(
                f"{path.name}: ambiguous headers {headers[inferred[name]]!r} and {header!r}: both would be "
                f"the measure {name}; the file must have only one"
            )
        else:
            inferred[name] = position
    return ColumnPlan(named=named, absent=absent, inferred=inferred, sums=sums, ignored=ignored)


def _typed_cells(rows: pl.DataFrame, positions: list[int], layout: Layout) -> pl.DataFrame:
    """`rows` with each position's cell (already stripped) read as a measure: `_value{p}`, the
    value, null where missing or bad, and `_bad{p}`, the cell's text where it is not a valid
    value. In stages, each a column at a time: an eager select evaluates a sub-expression
    once for every expression that uses it, and these are used two or three times each (the
    RTT extract's 108 week bands: 3.1 s a month read in one select, 1.0 s in stages)."""
    markers = layout.measures.missing_markers
    cell = {p: pl.col(f"c{p}") for p in positions}
    rows = rows.with_columns(
        *[cell[p].str.replace_all(",", "", literal=True).alias(f"_text{p}") for p in positions],
        *[
            (
                cell[p].is_null() | (cell[p].str.to_lowercase().is_in(markers) if markers != [""] else cell[p] == "")
            ).alias(f"_missing{p}")
            for p in positions
        ],
    )
    if layout.measures.type == "count":
        rows = rows.with_columns(
            pl.col(f"_text{p}").str.contains(r"^\d+$").fill_null(False).alias(f"_valid{p}") for p in positions
        )
        value = {
            p: pl.when(pl.col(f"_valid{p}")).then(pl.col(f"_text{p}").cast(pl.Int64, strict=False)) for p in positions
        }
    else:
        rows = rows.with_columns(
            pl.col(f"_text{p}").cast(pl.Float64, strict=False).alias(f"_number{p}") for p in positions
        )
        rows = rows.with_columns(pl.col(f"_number{p}").is_not_null().alias(f"_valid{p}") for p in positions)
        value = {p: pl.col(f"_number{p}") for p in positions}
    missing, valid = {p: pl.col(f"_missing{p}") for p in positions}, {p: pl.col(f"_valid{p}") for p in positions}
    return rows.with_columns(
        *[pl.when(~missing[p]).then(value[p]).alias(f"_value{p}") for p in positions],
        *[pl.when(~missing[p] & ~valid[p]).then(cell[p]).alias(f"_bad{p}") for p in positions],
    )


def shape_batch(table: TextTable, plan: ColumnPlan, layout: Layout, file_period) -> pl.DataFrame:
    """One batch of rows with the layout's columns: key and text columns as text, measures
    typed (with the text of any bad value beside them), the period parsed, and whether each
    row is blank or labelled a total. The columns a measure sums are not kept."""
    text_names = [n for n in layout.columns if n in plan.named and layout.columns[n].role != "measure"]
    absent_text = [n for n in plan.absent if layout.columns[n].role == "text"]
    # Every column read as a number, parsed once (a summed week band is used three times).
    sources = {
        **{n: plan.named[n] for n in layout.declared_measures if n in plan.named},
        **plan.inferred,
        **{f"_part{p}": p for ps in plan.sums.values() for p in ps},
    }
    read = sorted({*plan.named.values(), *sources.values()})
    rows = table.rows.with_columns(pl.col(f"c{p}").str.strip_chars() for p in read)
    rows = _typed_cells(rows, sorted(set(sources.values())), layout)
    cell = {n: pl.col(f"c{p}") for n, p in plan.named.items()}
    dtype = pl.Int64 if layout.measures.type == "count" else pl.Float64
    # A row is blank when every cell the layout reads is empty.
    blank = pl.all_horizontal([pl.col(f"c{p}").is_null() | (pl.col(f"c{p}") == "") for p in read])
    labelled = []
    for rule in layout.totals.rows if layout.totals else []:
        if rule.label is not None:
            label = normalise_label(rule.label)
            labelled += [
                cell[c].str.to_lowercase().str.replace_all(r"\s+", " ") == label for c in rule.columns if c in cell
            ]
        elif rule.column in cell:
            labelled.append(cell[rule.column].str.to_uppercase().is_in([v.upper() for v in rule.values]))
    frame = rows.select(
        *SHAPE_COLUMNS,
        *[cell[n].alias(n) for n in text_names],
        *[pl.lit(None, dtype=pl.String).alias(n) for n in absent_text],
        *[pl.col(f"_value{p}").cast(dtype).alias(name) for name, p in sources.items()],
        *[pl.col(f"_bad{p}").cast(pl.String).alias(_BAD + name) for name, p in sources.items()],
        blank.alias("_blank"),
        (pl.any_horizontal(labelled).fill_null(False) if labelled else pl.lit(False)).alias("_labelled_total"),
    )
    derived = []
    for name in layout.declared_measures:
        if plan.sums.get(name):
            parts = [f"_part{p}" for p in plan.sums[name]]
            total = pl.sum_horizontal(parts)
            if not layout.columns[name].sum_of.empty_is_zero:
                total = pl.when(pl.any_horizontal(pl.col(parts).is_not_null())).then(total)
            derived += [
                total.alias(name),
                pl.coalesce([_BAD + part for part in parts]).alias(_BAD + name),
            ]
        elif name not in plan.named:
            derived += [pl.lit(None, dtype=dtype).alias(name), pl.lit(None, dtype=pl.String).alias(_BAD + name)]
    period = (
        parse_period(pl.col("period"), layout.period)
        if not layout.period.from_filename
        else pl.lit(file_period, dtype=pl.Date)
    )
    parts = [c for c in frame.columns if c.startswith(("_part", _BAD + "_part"))]
    return frame.with_columns(*derived, period.alias("period_start"), pl.col("org_code").str.to_uppercase()).drop(parts)


def _sum_rule_totals(rows: pl.DataFrame, layout: Layout) -> pl.Expr:
    """Rows equal, in every column a `sum_of_other_rows` rule names, to the sum of all the
    file's other rows (2 x value = column sum, the total included)."""
    rules = [rule for rule in (layout.totals.rows if layout.totals else []) if rule.sum_of_other_rows]
    masks = [pl.lit(False)]
    for rule in rules:
        counts = [pl.col(c) for c in rule.sum_of_other_rows]
        masks.append(
            pl.all_horizontal([2 * count == count.sum() for count in counts])
            & pl.any_horizontal([count.sum() > 0 for count in counts])
            & (pl.len() >= 3)  # with two rows, equal rows would both look like totals
        )
    return pl.any_horizontal(masks).fill_null(False)


def read_publication(path: Path, layout: Layout, batch_rows: int = BATCH_ROWS) -> IngestResult:
    """Read one publication file into `clean.<layout.name>` rows, quarantined rows and its
    totals' comparison with its rows."""
    path = Path(path)
    source = path.name
    file_period = period_from_filename(path, layout.period) if layout.period.from_filename else None
    plan: ColumnPlan | None = None
    batches = []
    for table in iter_text_tables(path, tuple(layout.files.types), layout.files.sheet, layout.files.member, batch_rows):
        if plan is None:
            plan = plan_columns(table.headers, layout, path)
        batches.append(shape_batch(table, plan, layout, file_period))
        structural = table  # any batch: the rules only need the header's width
    assert plan is not None  # iter_text_tables yields at least one batch or raises
    rows = pl.concat(batches)
    del batches
    measures = plan.measures(layout)
    rows = rows.with_columns(_total=pl.col("_labelled_total") | _sum_rule_totals(rows, layout))
    is_blank, is_total = pl.col("_blank"), pl.col("_total") & ~pl.col("_blank")
    usable = ~is_blank & ~is_total

    # An undeclared column with text but no number at all is not a measure (a notes column).
    counts = (
        rows.filter(usable)
        .select(
            *[pl.col(n).is_not_null().sum().alias(f"{n}.numbers") for n in plan.inferred],
            *[pl.col(_BAD + n).is_not_null().sum().alias(f"{n}.bad") for n in plan.inferred],
        )
        .row(0, named=True)
        if plan.inferred
        else {}
    )
    text_only = [n for n in plan.inferred if counts[f"{n}.bad"] and not counts[f"{n}.numbers"]]
    ignored = plan.ignored + [structural.headers[plan.inferred[n]] for n in text_only]
    measures = [n for n in measures if n not in text_only]

    problems = RowProblems(rows, source, copy_values=True)  # published statistics: safe to copy
    flag = problems.flag
    flag(is_blank, "blank row")
    if layout.totals:
        flag(is_total, layout.totals.reason)
    for mask, reason in structural_problems(structural):
        flag(usable & mask, reason)
    no_code = pl.col("org_code").is_null() | (pl.col("org_code") == "")
    flag(usable & no_code, "organisation code is empty", "org_code")
    flag(
        usable & ~no_code & ~pl.col("org_code").str.contains(ODS_CODE).fill_null(False),
        "organisation code is not an ODS code",
        "org_code",
    )
    if not layout.period.from_filename:
        flag(usable & pl.col("period_start").is_null(), f"period is not {layout.period.description}", "period")
    for category in layout.categories:
        flag(usable & (pl.col(category).is_null() | (pl.col(category) == "")), f"{category} is empty", category)
    kind = "a whole non-negative number" if layout.measures.type == "count" else "a number"
    row_cost = layout.measures.bad_value_costs == ROW
    for name in measures:
        bad = pl.col(_BAD + name).is_not_null()
        if row_cost:
            flag(usable & bad, f"not {kind}", name, value=pl.col(_BAD + name))
        column = layout.columns.get(name)
        if column is not None and column.is_required and not column.empty_allowed:
            noun = "count" if layout.measures.type == "count" else "value"
            flag(usable & pl.col(name).is_null() & ~bad, f"required {noun} is empty", name)
    flagged = problems.quarantine()
    candidates, repeats = split_repeats(
        problems.passing(),
        layout.keys,
        order_by=["source_row"],
        descending=False,
        source_file=source,
        reason="duplicate of row {} for this organisation and period",
        column_name="org_code",
        value=pl.col("org_code"),
    )

    cell_problems = (
        []
        if row_cost
        else [
            quarantine_rows(
                candidates.filter(pl.col(_BAD + name).is_not_null()),
                source_file=source,
                reason=f"not {kind}",
                column_name=name,
                value=pl.col(_BAD + name),
                scope=CELL,
            )
            for name in measures
        ]
    )
    clean = candidates.select(
        "org_code",
        "period_start",
        pl.lit(layout.period.grain).alias("period_grain"),
        *layout.categories,
        *layout.text_columns,
        *measures,
        pl.lit(source).alias("source_file"),
        "source_row",
    ).sort("source_row")
    totals = (
        compare_totals(rows.filter(is_total), clean, measures, layout, source) if layout.totals is not None else None
    )
    return IngestResult(
        source_file=source,
        sha256=sha256_file(path),
        rows_read=rows.height,
        tables={layout.name: clean},
        quarantine=pl.concat([flagged, repeats, *cell_problems]).sort("source_row", "column_name", nulls_last=False),
        ignored_columns=ignored,
        totals=totals,
    )


def compare_totals(
    total_rows: pl.DataFrame, clean: pl.DataFrame, measures: list[str], layout: Layout, source: str
) -> pl.DataFrame:
    """Each measure of the file's total rows against the sum of the stored rows sharing the
    total's `within` values: one row per measure with the totals compared, their sums, and
    the worst mismatch beyond the layout's tolerance (if any)."""
    within = ["period_start" if c == "period" else c for c in layout.totals.within]
    if total_rows.is_empty() or not measures:
        return pl.DataFrame(schema=TOTALS_SCHEMA)
    published = total_rows.select("source_row", *within, *measures)
    summed = (
        clean.group_by(within).agg([pl.col(m).sum() for m in measures])
        if within
        else clean.select([pl.col(m).sum() for m in measures])
    ).rename({m: f"{m}.summed" for m in measures})
    joined = (
        published.join(summed, on=within, how="left", nulls_equal=True)
        if within
        else published.join(summed, how="cross")
    )
    rows = []
    for name in measures:
        pairs = joined.select(
            "source_row",
            pl.col(name).cast(pl.Float64).alias("p"),
            pl.col(f"{name}.summed").cast(pl.Float64).fill_null(0).alias("s"),
        ).filter(pl.col("p").is_not_null())
        if pairs.is_empty():
            continue
        pairs = pairs.with_columns(gap=(pl.col("p") - pl.col("s")).abs())
        bad = pairs.filter(
            pl.col("gap") > layout.totals.tolerance + 1e-9 * pl.max_horizontal(pl.col("p").abs(), pl.col("s").abs())
        )
        worst = bad.sort("gap", "source_row", descending=[True, False]).head(1).to_dicts()
        rows.append(
            {
                "source": layout.name,
                "source_file": source,
                "column_name": name,
                "totals_compared": pairs.height,
                "published": pairs["p"].sum(),
                "summed": pairs["s"].sum(),
                "totals_mismatched": bad.height,
                "worst_row": worst[0]["source_row"] if worst else None,
                "worst_published": worst[0]["p"] if worst else None,
                "worst_summed": worst[0]["s"] if worst else None,
            }
        )
    return pl.DataFrame(rows, schema=TOTALS_SCHEMA)


def combine_publications(layout: Layout):
    """How a layout's files are put together: one row per key, a revised file winning."""

    def combine(results: list[IngestResult]) -> tuple[dict[str, pl.DataFrame], pl.DataFrame]:
        return combine_preferring_revised(
            results,
            layout.name,
            layout.keys,
            prefer=layout.revisions.prefer,
            last_file_wins=layout.revisions.then == "last_file_name",
        )

    return combine


def empty_table(layout: Layout) -> pl.DataFrame:
    """The clean table of a source with no files: its key, text and declared measure columns."""
    dtype = pl.Int64 if layout.measures.type == "count" else pl.Float64
    return pl.DataFrame(
        schema={
            "org_code": pl.String,
            "period_start": pl.Date,
            "period_grain": pl.String,
            **{c: pl.String for c in (*layout.categories, *layout.text_columns)},
            **{m: dtype for m in layout.declared_measures},
            "source_file": pl.String,
            "source_row": pl.Int64,
        }
    )
