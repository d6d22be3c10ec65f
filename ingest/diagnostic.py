"""Reader for collaboration diagnostic exports, driven by an instrument codebook.

Besides the clean tables it returns `raw.diagnostic_rows`: one row per input row saying
what shape it had (fields, blank, which fields parsed, answers given and unrecognised),
with no content at all, so the raw file's quality can be validated without storing ids
or free text.

One export is a CSV with one row per respondent. The reader recognises the instrument
from the header row, maps answers to scale values (labels matched ignoring case, spacing
and curly quotes; "Don't know", "N/A" and blanks are missing), pseudonymises respondent
ids, drops free text, keeps each respondent's latest submission and quarantines every
row it cannot use, with the file, row, column and reason.

Only the columns the codebook names are ever stored: free text and unknown columns are
dropped as the file is read, whatever their size or bytes. No quarantine reason carries a
cell's content (only the column and the rule), and an answer the scale does not know, in
whatever script, is a cell-level quarantine. Dates are day-first unless the file proves
otherwise (a date such as 04/15/2025 and none such as 15/04/2025), and a submission
outside its wave's fieldwork, give or take `FIELDWORK_TOLERANCE_DAYS`, is quarantined.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import polars as pl

from ingest import partner_ratings
from ingest.codebook import Codebook, ColumnLayout, ColumnMatch, Scale, match_layout
from ingest.collaborations import CollaborationsFile, collaboration_tables
from ingest.files import (
    ColumnSelection,
    InputFileError,
    blank_row_mask,
    named_columns,
    normalise_label,
    printable,
    read_text_table,
    sha256_file,
    structural_problems,
)
from ingest.organisations import OrganisationMatcher
from ingest.pseudonymise import normalised_identifier, pseudonymise
from ingest.quarantine import (
    CELL,
    KEPT_FILE,
    KEPT_ROW,
    IngestResult,
    RowProblems,
    concat_results,
    quarantine_rows,
    split_repeats,
)

#: UK date-times as survey tools write them, then ISO (as spreadsheets store dates); the
#: first format that parses wins. Day-first: 03/04/2024 is 3 April.
UK_DATETIME_FORMATS = (
    "%d/%m/%Y %H:%M:%S",
    "%d/%m/%Y %H:%M",
    "%d/%m/%Y",
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%dT%H:%M:%S",
    "%Y-%m-%d %H:%M",
    "%Y-%m-%d",
)
#: dd/mm/yy: read with a two-digit year (never as the year 0024).
TWO_DIGIT_YEAR = r"^[0-9]{1,2}/[0-9]{1,2}/[0-9]{2}(\s|$)"
TWO_DIGIT_YEAR_FORMATS = ("%d/%m/%y %H:%M:%S", "%d/%m/%y %H:%M", "%d/%m/%y")
#: The two leading numbers of a slashed date, to tell day-first from month-first files.
SLASHED_DATE = r"^\s*([0-9]{1,2})/([0-9]{1,2})/[0-9]{2,4}(?:[ T]|$)"
#: Submission times outside these years are typing or export errors.
PLAUSIBLE_YEARS = (2000, 2099)
#: Days a submission may fall before its wave's fieldwork starts or after it ends (a survey
#: left open a little longer, a time zone); beyond that it is quarantined.
FIELDWORK_TOLERANCE_DAYS = 7
#: A wave number has at most this many digits (a longer number is someone's id, not a wave).
WAVE_DIGITS = 4
OTHER_ROLE = "other"

RESPONDENTS_SCHEMA = {
    "instrument_id": pl.String,
    "collaboration_id": pl.String,
    "wave": pl.Int32,
    "respondent_key": pl.String,
    "organisation_code": pl.String,
    "role_group": pl.String,
    "submitted_at": pl.Datetime("us"),
    "source_file": pl.String,
    "source_row": pl.Int64,
}
#: One row per answered item: the biggest table by far (~40 rows a respondent), so its
#: repetitive text columns, the respondent key too, are categorical (4 bytes a row instead
#: of ~30 to ~50). DuckDB stores them as VARCHAR all the same.
ANSWERS_SCHEMA = {
    "instrument_id": pl.Categorical,
    "collaboration_id": pl.Categorical,
    "wave": pl.Int32,
    "respondent_key": pl.Categorical,
    "item_id": pl.Categorical,
    "characteristic_id": pl.Categorical,
    "answer_value": pl.Int32,
    "score_value": pl.Float64,
    "source_file": pl.Categorical,
    "source_row": pl.Int64,
}


def _map_distinct(frame: pl.DataFrame, column: str, function) -> pl.Expr:
    """`function` applied once per distinct value of a text column (not once per row)."""
    mapping = {value: function(value) for value in frame.get_column(column).unique().to_list() if value is not None}
    return pl.col(column).replace_strict(mapping, default=None, return_dtype=pl.String)


def recognise_instrument(
    codebooks: list[Codebook], headers: list[str], path: Path, preview: list[list[str]] = ()
) -> ColumnLayout:
    """The layout of the first codebook whose columns are all present, or a clear error.

    `preview` (the rows after the header) lets the error say where the headers really are
    when row 1 is a title. A codebook column found twice is an error: which copy holds the
    answers cannot be guessed."""
    closest: tuple[Codebook, list[str]] | None = None
    for codebook in codebooks:
        layout, missing = match_layout(codebook, headers)
        if layout is not None:
            _refuse_repeated_columns(layout, headers, path)
            return layout
        if closest is None or len(missing) < len(closest[1]):
            closest = (codebook, missing)
    if closest is None:
        raise InputFileError(f"{path.name}: no instrument codebooks to recognise the export with")
    if sum(1 for h in headers if h.strip()) <= 1:
        for offset, record in enumerate(preview):
            if any(match_layout(codebook, list(record))[0] is not None for codebook in codebooks):
                raise InputFileError(
                    f"{path.name}: row 1 holds a single cell (a title, or a merged title row?), not the column "
                    f"headers, which are on row {offset + 2}: delete the rows above the headers and load it again"
                )
    codebook, missing = closest
    shown = "; ".join(missing[:8]) + (f"; and {len(missing) - 8} more" if len(missing) > 8 else "")
    raise InputFileError(
        f"{path.name}: export does not match any instrument codebook; closest is "
        f"{codebook.instrument_id} {codebook.version}, which needs columns missing here: {shown}"
    )


def _refuse_repeated_columns(layout: ColumnLayout, headers: list[str], path: Path) -> None:
    """A field or item whose column appears twice (a copied column, say) is a file error."""
    codebook = layout.codebook
    wanted: list[tuple[str, ColumnMatch, int]] = [
        *(
            (f"the {name.replace('_', ' ')} column", codebook.fields[name].column(), p)
            for name, p in layout.fields.items()
        ),
        *((f"item {item.id}", item, layout.items[item.id]) for item in codebook.items if item.id in layout.items),
    ]
    taken = {*layout.fields.values(), *layout.items.values(), *layout.free_text}
    for what, match, used in wanted:
        again = [p for p, header in enumerate(headers) if p not in taken and match.matches(header)]
        if again:
            shown = f"{printable(headers[used].strip())[:60]!r}"
            raise InputFileError(
                f"{path.name}: {what} ({shown}) appears more than once, in columns {used + 1} and {again[0] + 1}; "
                "which copy holds the answers cannot be guessed: remove the other"
            )


def _answer_lookup(scale: Scale, raw_values: list[str | None]) -> tuple[dict[str, int], set[str]]:
    """Raw answer text -> value on `scale`, and the raw values that are not recognised."""
    labels = scale.label_values()
    missing = scale.missing_labels()
    values: dict[str, int] = {}
    unrecognised: set[str] = set()
    for raw in raw_values:
        if raw is None:
            continue
        label = normalise_label(raw)
        if label in missing:
            continue
        if label in labels:
            values[raw] = labels[label]
        elif label.isascii() and label.isdigit() and scale.min <= int(label) <= scale.max:
            # ASCII digits only: "፩" or "⓵" pass str.isdigit() but are not numbers to int().
            values[raw] = int(label)
        else:
            unrecognised.add(raw)
    return values, unrecognised


def codebook_tables(codebooks: list[Codebook]) -> dict[str, pl.DataFrame]:
    """The instruments' characteristics and items, for the warehouse."""
    return {
        "instrument_characteristics": pl.DataFrame(
            [
                {
                    "instrument_id": cb.instrument_id,
                    "instrument_version": cb.version,
                    "characteristic_id": cid,
                    "characteristic_name": c.name,
                    "description": c.description,
                    "category": c.category,
                    "scale_min": cb.scale.min,
                    "scale_max": cb.scale.max,
                }
                for cb in codebooks
                for cid, c in cb.characteristics.items()
            ]
        ),
        "instrument_items": pl.DataFrame(
            [
                {
                    "instrument_id": cb.instrument_id,
                    "item_id": item.id,
                    "characteristic_id": item.characteristic,
                    "is_reverse_keyed": item.reverse,
                    "scale_min": cb.item_scale(item).min,
                    "scale_max": cb.item_scale(item).max,
                }
                for cb in codebooks
                for item in cb.items
            ]
        ),
    }


def read_diagnostic_export(
    path: Path,
    codebooks: list[Codebook],
    key: bytes,
    organisations: OrganisationMatcher | None = None,
    collaborations: CollaborationsFile | None = None,
) -> IngestResult:
    """Read one diagnostic export into respondents, long answers and quarantined rows.

    Organisations may be given as ODS codes or names; names are matched through
    `organisations` (the ODS reference) and an unmatched name quarantines the row. With
    `collaborations`, a submission outside its declared wave's fieldwork (give or take
    `FIELDWORK_TOLERANCE_DAYS`) is quarantined before duplicates are resolved, so a
    mistyped date cannot win "latest submission".
    """
    path = Path(path)
    organisations = organisations or OrganisationMatcher()
    source = path.name
    found: list[ColumnLayout | partner_ratings.LongLayout] = []
    partner_columns: list[partner_ratings.PartnerColumn] = []

    def keep(headers: list[str], preview: list[list[str]]) -> ColumnSelection:
        long = partner_ratings.match_long_layout(codebooks, headers)
        if long is not None:  # a file of partner ratings, one row per respondent and partner
            found.append(long)
            return long.selection()
        found.append(recognise_instrument(codebooks, headers, path, preview))
        layout = found[0]
        taken = {*layout.fields.values(), *layout.items.values(), *layout.free_text}
        partner_columns.extend(
            partner_ratings.find_partner_columns(layout.codebook, headers, taken, organisations, path)
        )
        partners = [column.position for column in partner_columns]
        return ColumnSelection(
            keep=[*layout.fields.values(), *layout.items.values(), *partners],
            free_text=layout.free_text,
            categorical=[*layout.items.values(), *partners],
        )

    table = read_text_table(path, keep)
    if isinstance(found[0], partner_ratings.LongLayout):
        return partner_ratings.read_long_ratings(path, table, found[0], key, organisations, collaborations)
    layout = found[0]
    codebook = layout.codebook
    item_columns = {item_id: f"item_{item_id}" for item_id in layout.items}

    rows = named_columns(
        table, layout.fields, absent=["role_group"] if "role_group" not in layout.fields else []
    ).with_columns(
        [table.rows[f"c{pos}"].alias(item_columns[item_id]) for item_id, pos in layout.items.items()]
        + [table.rows[f"c{column.position}"].alias(column.name) for column in partner_columns]
    )
    rows = with_file_fields(rows, codebook, path)
    roles = {normalise_label(r): r for r in codebook.role_groups}
    rows, month_first = parse_respondent_fields(rows, organisations, collaborations)
    rows = rows.with_columns(
        role=_map_distinct(rows, "role_group", lambda r: roles.get(normalise_label(r), OTHER_ROLE)),
    )

    # The quarantine never holds a cell's content: in a shifted or hand-edited export any
    # cell may hold an id, a name or free text. File, row, column and reason locate it.
    # Computed once: every rule below starts from it.
    # Answer columns are categorical (see ColumnSelection): blank is empty or only spaces.
    # Each answer column's distinct values, in one pass over the rows.
    answer_columns = list(item_columns.values())
    distinct = (
        dict(zip(answer_columns, rows.select(pl.col(answer_columns).unique().implode()).row(0), strict=True))
        if answer_columns
        else {}
    )
    raw_answers = {value for values in distinct.values() for value in values}
    spaces_only = [value for value in raw_answers if value is not None and not value.strip()]
    rows = rows.with_columns(
        _usable=~(
            blank_row_mask(rows, list(layout.fields))
            & pl.all_horizontal(
                [
                    pl.col(c).is_null() | pl.col(c).is_in(spaces_only) if spaces_only else pl.col(c).is_null()
                    for c in answer_columns
                ]
            )
        )
    )
    usable = pl.col("_usable")
    problems = RowProblems(rows, source, copy_values=False)
    flag = problems.flag

    def empty(column: str) -> pl.Expr:
        return pl.col(column).is_null() | (pl.col(column) == "")

    flag(~usable, "blank row")
    for mask, reason in structural_problems(table):
        flag(usable & mask, reason)
    flag_respondent_fields(problems, month_first)

    quarantine = problems.quarantine()
    # Repeated submissions are resolved in combine_exports, after the rows that are not
    # valid for the collaborations file are set aside (a late invalid resubmission must
    # not displace a valid one).
    kept = problems.passing()

    # Answers: labels and numbers to values on each item's scale; unrecognised text is a cell problem.
    item_scales = {item.id: codebook.item_scale(item) for item in codebook.items if item.id in item_columns}
    lookups: dict[str, tuple[dict[str, int], set[str]]] = {}  # item column -> (values, unrecognised)
    for scale in {id(s): s for s in item_scales.values()}.values():
        columns = [item_columns[i] for i, s in item_scales.items() if s is scale]
        raw_values = {value for column in columns for value in distinct[column]}
        lookup = _answer_lookup(scale, list(raw_values))
        lookups |= {column: lookup for column in columns}
    unrecognised = set().union(*(bad for _, bad in lookups.values())) if lookups else set()
    raw_profile = raw_row_profile(
        rows,
        source,
        codebook.instrument_id,
        len(table.headers),
        empty,
        [~empty(c) for c in item_columns.values()],
        [pl.col(c).is_in(list(lookups[c][1])) for c in item_columns.values()],
    )
    for item_id, column in item_columns.items() if unrecognised else ():
        bad = kept.filter(pl.col(column).is_in(list(lookups[column][1])))
        if bad.height:
            quarantine = pl.concat(
                [
                    quarantine,
                    quarantine_rows(
                        bad,
                        source_file=source,
                        reason=f"answer not on the {codebook.instrument_id} scale; treated as missing",
                        column_name=table.headers[layout.items[item_id]].strip(),
                        scope=CELL,
                    ),
                ]
            )

    kept = kept.with_columns(
        respondent_key=_map_distinct(kept, "respondent_id", lambda raw: pseudonymise(raw, key)),
        instrument_id=pl.lit(codebook.instrument_id),
        source_file=pl.lit(source),
    )
    respondents = kept.select(
        "instrument_id",
        pl.col("collab").alias("collaboration_id"),
        pl.col("wave_number").alias("wave"),
        "respondent_key",
        pl.col("org").alias("organisation_code"),
        pl.col("role").alias("role_group"),
        pl.col("submitted").alias("submitted_at"),
        "source_file",
        "source_row",
    ).cast(RESPONDENTS_SCHEMA)

    answers = _answers(kept, codebook, item_columns, item_scales, lookups, source)
    ratings, unusable_ratings = partner_ratings.wide_ratings(codebook, partner_columns, kept, source)
    quarantine = pl.concat([quarantine, unusable_ratings])
    rated = {table.headers[column.position] for column in partner_columns}
    ignored = [table.headers[p] for p in layout.free_text] + [h for h in layout.unknown_headers if h not in rated]
    return IngestResult(
        source_file=source,
        sha256=sha256_file(path),
        rows_read=table.rows.height,
        tables={
            "diagnostic_respondents": respondents,
            "diagnostic_answers": answers,
            "raw.diagnostic_rows": raw_profile,
            partner_ratings.TABLE: ratings,
        },
        quarantine=quarantine.sort("source_row", "column_name", nulls_last=False),
        ignored_columns=[h.strip() for h in ignored],
    )


def with_file_fields(rows: pl.DataFrame, codebook: Codebook, path: Path) -> pl.DataFrame:
    """`rows` with the fields that are one value for the whole file: a constant, or taken
    from the file's name (a file name that does not give one is a file error)."""
    for name, field_source in codebook.fields.items():
        if not field_source.is_column:
            value = field_source.file_value(path.name)
            if value is None:
                raise InputFileError(
                    f"{path.name}: the file name does not give the {name} "
                    f"(codebook {codebook.instrument_id}: from_filename /{field_source.from_filename}/)"
                )
            rows = rows.with_columns(pl.lit(value, dtype=pl.String).alias(name))
    return rows


def parse_respondent_fields(
    rows: pl.DataFrame, organisations: OrganisationMatcher, collaborations: CollaborationsFile | None = None
) -> tuple[pl.DataFrame, bool]:
    """The respondent fields parsed: `respondent_id` normalised, `submitted`, `wave_number`,
    `org` (ODS code), `collab`, and with `collaborations` the `fieldwork_reason`; and
    whether the file's dates proved month-first."""
    # One spelling per person (NFC, case, spacing; NHS numbers without spaces): an email
    # typed twice in different ways is one respondent.
    rows = rows.with_columns(respondent_id=normalised_identifier(pl.col("respondent_id")))
    month_first = _proves_month_first(rows)
    formats = _month_first(UK_DATETIME_FORMATS) if month_first else UK_DATETIME_FORMATS
    short_formats = _month_first(TWO_DIGIT_YEAR_FORMATS) if month_first else TWO_DIGIT_YEAR_FORMATS
    rows = rows.with_columns(
        submitted=pl.when(pl.col("submitted_at").str.contains(TWO_DIGIT_YEAR))
        .then(
            pl.coalesce(
                [pl.col("submitted_at").str.to_datetime(f, strict=False, time_unit="us") for f in short_formats]
            )
        )
        .otherwise(
            pl.coalesce([pl.col("submitted_at").str.to_datetime(f, strict=False, time_unit="us") for f in formats])
        ),
        wave_number=pl.col("wave")
        .str.extract(rf"(?i)^(?:wave\s*)?([0-9]{{1,{WAVE_DIGITS}}})$")
        .cast(pl.Int32, strict=False),
        org=_map_distinct(rows, "organisation", organisations.code_for),
        collab=pl.col("collaboration").str.to_lowercase(),
    )
    if collaborations is not None:
        rows = _with_fieldwork(rows, collaborations)
    return rows, month_first


def raw_row_profile(
    rows: pl.DataFrame,
    source: str,
    instrument_id: str,
    header_fields: int,
    empty: Callable[[str], pl.Expr],
    answered: list[pl.Expr],
    unrecognised: list[pl.Expr],
) -> pl.DataFrame:
    """One row per input row for `raw.diagnostic_rows` (what Great Expectations profiles):
    its shape and which respondent fields parsed, with counts of the answers given and of
    the answers not on their scale. No cell content."""
    return rows.select(
        pl.lit(source).alias("source_file"),
        "source_row",
        pl.lit(instrument_id).alias("instrument_id"),
        "n_fields",
        pl.lit(header_fields, dtype=pl.Int64).alias("header_fields"),
        (~pl.col("_usable")).alias("is_blank"),
        (~empty("respondent_id")).alias("has_respondent_id"),
        pl.col("submitted").is_not_null().alias("submitted_parsed"),
        pl.col("org").is_not_null().alias("organisation_matched"),
        pl.col("wave_number").is_not_null().alias("wave_parsed"),
        pl.sum_horizontal(answered).cast(pl.Int64).alias("n_answers_given"),
        pl.sum_horizontal(unrecognised).cast(pl.Int64).alias("n_answers_unrecognised"),
    )


def flag_respondent_fields(problems: RowProblems, month_first: bool) -> None:
    """The row rules on the respondent fields (see `parse_respondent_fields`), for usable
    rows (`_usable`): each quarantines the row with its reason, never the cell."""
    flag, usable = problems.flag, pl.col("_usable")

    def empty(column: str) -> pl.Expr:
        return pl.col(column).is_null() | (pl.col(column) == "")

    flag(usable & empty("respondent_id"), "respondent id is empty", "respondent_id")
    flag(
        usable & pl.col("submitted").is_null(),
        "submission time is not a US date (mm/dd/yyyy hh:mm), the format this file's other dates prove"
        if month_first
        else "submission time is not a UK date (dd/mm/yyyy hh:mm)",
        "submitted_at",
    )
    year = pl.col("submitted").dt.year()
    flag(
        usable & pl.col("submitted").is_not_null() & ((year < PLAUSIBLE_YEARS[0]) | (year > PLAUSIBLE_YEARS[1])),
        f"submission time is outside the years {PLAUSIBLE_YEARS[0]}-{PLAUSIBLE_YEARS[1]}",
        "submitted_at",
    )
    flag(usable & empty("organisation"), "organisation is empty", "organisation")
    flag(
        usable & ~empty("organisation") & pl.col("org").is_null(),
        "organisation is neither an ODS code nor the name of exactly one organisation in the reference",
        "organisation",
    )
    flag(usable & empty("collaboration"), "collaboration is empty", "collaboration")
    flag(usable & pl.col("wave_number").is_null(), f"wave is not a whole number (1 to {WAVE_DIGITS} digits)", "wave")
    if "fieldwork_reason" in problems.rows.columns:
        flag(
            usable & pl.col("submitted").is_not_null() & pl.col("fieldwork_reason").is_not_null(),
            pl.col("fieldwork_reason"),
            "submitted_at",
        )


def _answers(
    kept: pl.DataFrame,
    codebook: Codebook,
    item_columns: dict[str, str],
    item_scales: dict[str, Scale],
    lookups: dict[str, tuple[dict[str, int], set[str]]],
    source: str,
) -> pl.DataFrame:
    """One row per answered item, ordered by row and item id. Each item's answers are mapped
    to numbers column by column, the columns are laid end to end (item by item) and gathered
    back into row order, and each row's fields are gathered once per item: no unpivot of
    text and no sort, which were the ingest's memory peak on a large export, and no list
    column exploded (slower: 10 against 4 ms for a file of 1,000 rows and 40 items).

    Scores are on the codebook's scale: a reverse-keyed answer is reversed on its item's
    scale (min + max - answer), then an item on a scale of its own is rescaled linearly onto
    the codebook's (its min to min, its max to max); on the same scale this is exact."""
    ordered = sorted(item_columns)
    items = {item.id: item for item in codebook.items}
    mapped = kept.select(
        pl.col(item_columns[item_id]).replace_strict(
            lookups[item_columns[item_id]][0], default=None, return_dtype=pl.Int32
        )
        for item_id in ordered
    )
    rows, width = kept.height, len(ordered)
    cell = pl.int_range(rows * width, dtype=pl.UInt32)  # row-major: cell = row * width + item
    fields = kept.select(
        "source_row",
        pl.col("collab").cast(pl.Categorical).alias("collaboration_id"),
        pl.col("wave_number").alias("wave"),
        pl.col("respondent_key").cast(pl.Categorical),  # before the gather repeats it
    )
    long = fields.select(
        pl.all().gather(cell // width),
        pl.lit(pl.concat(mapped.get_columns(), rechunk=False))
        .gather(cell % width * rows + cell // width)
        .alias("answer_value"),
        _item=cell % width,
    ).filter(pl.col("answer_value").is_not_null())
    position = long.get_column("_item")

    def per_item(values: list, dtype) -> pl.Expr:
        return pl.lit(pl.Series(values, dtype=dtype).gather(position))

    item_min = per_item([item_scales[i].min for i in ordered], pl.Float64)
    item_max = per_item([item_scales[i].max for i in ordered], pl.Float64)
    answer = pl.col("answer_value")
    keyed = pl.when(per_item([items[i].reverse for i in ordered], pl.Boolean)).then(item_min + item_max - answer)
    keyed = keyed.otherwise(answer)
    low, high = codebook.scale.min, codebook.scale.max
    return long.select(
        pl.lit(codebook.instrument_id).cast(pl.Categorical).alias("instrument_id"),
        "collaboration_id",
        "wave",
        "respondent_key",
        per_item(ordered, pl.Categorical).alias("item_id"),
        per_item([items[i].characteristic for i in ordered], pl.Categorical).alias("characteristic_id"),
        answer,
        (low + (keyed - item_min) * (high - low) / (item_max - item_min)).alias("score_value"),
        pl.lit(source).cast(pl.Categorical).alias("source_file"),
        "source_row",
    ).cast(ANSWERS_SCHEMA)


def _proves_month_first(rows: pl.DataFrame) -> bool:
    """True when the file's slashed dates can only be month-first: some second number is
    over 12 (04/15/2025) and no first number is (no 15/04/2025). Otherwise day-first."""
    parts = rows.select(pl.col("submitted_at").str.extract_groups(SLASHED_DATE)).unnest("submitted_at")
    first, second = (parts.get_column(c).cast(pl.Int32, strict=False) for c in ("1", "2"))
    return bool(((second > 12) & (first <= 12)).any()) and not bool(((first > 12) & (second <= 12)).any())


def _month_first(formats: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(f.replace("%d/%m/", "%m/%d/") for f in formats)


def _with_fieldwork(rows: pl.DataFrame, collaborations: CollaborationsFile) -> pl.DataFrame:
    """Adds `fieldwork_reason`: why the submission falls outside its declared wave's
    fieldwork (null when inside, or when the wave is not declared: that is judged later)."""
    waves = collaboration_tables(collaborations)["collaboration_waves"]
    tolerance = pl.duration(days=FIELDWORK_TOLERANCE_DAYS)
    day = pl.col("submitted").dt.date()
    outside = (day < pl.col("fieldwork_start") - tolerance) | (day > pl.col("fieldwork_end") + tolerance)
    return (
        rows.join(
            waves.rename({"collaboration_id": "collab", "wave": "wave_number"}),
            on=["collab", "wave_number"],
            how="left",
        )
        .with_columns(
            fieldwork_reason=pl.when(outside).then(
                pl.format(
                    "submission time is outside the fieldwork of wave {} ({} to {}, "
                    f"give or take {FIELDWORK_TOLERANCE_DAYS} days)",
                    "wave_number",
                    "fieldwork_start",
                    "fieldwork_end",
                )
            )
        )
        .drop("fieldwork_start", "fieldwork_end")
        .sort("source_row")
    )


#: The row order of the tables `combine_exports` combines across files (`_keep_latest_submission`
#: sorts the respondents by file and row).
DIAGNOSTIC_ROW_ORDER = {
    "diagnostic_respondents": ("source_file", "source_row"),
    partner_ratings.TABLE: partner_ratings.ROW_ORDER,
}


def combine_exports(
    results: list[IngestResult], collaborations: CollaborationsFile | None = None
) -> tuple[dict[str, pl.DataFrame], pl.DataFrame]:
    """All files' tables together, checked against each other and against the configuration.

    In this order: first, with `collaborations`, a row whose collaboration and wave are not
    declared, or whose organisation was not a member during that wave's fieldwork, is
    quarantined (it must not reach the scores); then, of the valid rows, each respondent
    (collaboration, wave and pseudonymised id) keeps only their latest submission, within a
    file or across files (a re-export, or a combined file beside per-wave files). On equal
    submission times the row of the file whose name sorts last wins, then the later row of
    that file. The others are quarantined naming the file and row that was kept.
    """
    tables, quarantine = concat_results(results)
    respondents = tables["diagnostic_respondents"]
    problems = [quarantine]
    if collaborations is not None:
        respondents, undeclared = _quarantine_undeclared(respondents, collaborations)
        problems.append(undeclared)
    respondents, superseded = _keep_latest_submission(respondents)
    problems.append(superseded)
    answers = tables["diagnostic_answers"].join(
        respondents.select(pl.col("source_file").cast(pl.Categorical), "source_row"),
        on=["source_file", "source_row"],
        how="semi",
    )
    tables.update(diagnostic_respondents=respondents, diagnostic_answers=answers)
    if partner_ratings.TABLE in tables:
        tables[partner_ratings.TABLE], unusable_ratings = partner_ratings.combine_partner_ratings(
            tables[partner_ratings.TABLE], respondents, collaborations
        )
        problems.append(unusable_ratings)
    return tables, pl.concat(problems)


def _keep_latest_submission(respondents: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Each respondent's latest valid submission; ties go to the file name sorting last,
    then the later row."""
    return split_repeats(
        respondents,
        ["collaboration_id", "wave", "respondent_key"],
        order_by=["submitted_at", "source_file", "source_row"],
        descending=True,
        source_file=pl.col("source_file"),
        reason="superseded by a later submission from the same respondent ({} row {})",
        reason_columns=(KEPT_FILE, KEPT_ROW),
        column_name="respondent_id",
    )


def _quarantine_undeclared(
    respondents: pl.DataFrame, collaborations: CollaborationsFile
) -> tuple[pl.DataFrame, pl.DataFrame]:
    config = collaboration_tables(collaborations)
    waves = config["collaboration_waves"]
    members = (
        config["collaboration_members"]
        .join(waves, on="collaboration_id")
        .filter(
            (pl.col("joined_on") <= pl.col("fieldwork_end"))
            & (pl.col("left_on").is_null() | (pl.col("left_on") >= pl.col("fieldwork_start")))
        )
    )
    # Each row is flagged in one pass against the (small) configuration tables, then split:
    # one copy of the respondents, not one per test (a million respondents are ~100 MB).
    # An export of another instrument than the collaboration declares would be scored under
    # one instrument and described under another (`_declared`: the declared instrument).
    flagged = (
        respondents.lazy()
        .join(
            waves.lazy().select("collaboration_id", "wave", _wave_declared=pl.lit(True)).unique(),
            on=["collaboration_id", "wave"],
            how="left",
            maintain_order="left",
        )
        .join(
            members.lazy()
            .select("collaboration_id", "wave", pl.col("org_code").alias("organisation_code"), _member=pl.lit(True))
            .unique(),
            on=["collaboration_id", "wave", "organisation_code"],
            how="left",
            maintain_order="left",
        )
        .join(
            config["collaborations"].lazy().select("collaboration_id", pl.col("instrument_id").alias("_declared")),
            on="collaboration_id",
            how="left",
            maintain_order="left",
        )
        .collect()
    )
    declared = pl.col("_wave_declared").is_not_null()
    is_member = declared & pl.col("_member").is_not_null()
    undeclared = flagged.filter(~declared)
    outsiders = flagged.filter(declared & ~is_member)
    other_instrument = flagged.filter(is_member & (pl.col("instrument_id") != pl.col("_declared")))
    member = flagged.filter(is_member & (pl.col("instrument_id") == pl.col("_declared")))
    del flagged
    member = member.drop("_wave_declared", "_member", "_declared")
    entries = [
        quarantine_rows(
            undeclared,
            source_file=pl.col("source_file"),
            # Never the cell itself: an undeclared "collaboration" may be anything a respondent typed.
            reason=pl.when(pl.col("collaboration_id").is_in(waves["collaboration_id"].unique().to_list()))
            .then(
                pl.format("wave is not declared for collaboration '{}' in the collaborations file", "collaboration_id")
            )
            .otherwise(pl.lit("collaboration is not declared in the collaborations file")),
            column_name="collaboration",
        ),
        quarantine_rows(
            outsiders,
            source_file=pl.col("source_file"),
            reason=pl.format(
                "organisation is not a member of '{}' during wave {} fieldwork", "collaboration_id", "wave"
            ),
            column_name="organisation",
        ),
        quarantine_rows(
            other_instrument,
            source_file=pl.col("source_file"),
            reason=pl.format(
                "the export is instrument {} but collaboration '{}' uses {} (config/collaborations.yaml)",
                "instrument_id",
                "collaboration_id",
                "_declared",
            ),
            column_name="collaboration",
        ),
    ]
    return member, pl.concat(entries)
