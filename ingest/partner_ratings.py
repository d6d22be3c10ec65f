"""Partner ratings: each respondent's ratings of their organisation's relationship with each
partner organisation of the collaboration (a codebook's `partners` section).

Two layouts, both described by the codebook:
- **wide**: in the diagnostic export itself, one column per partner and item, the header
  found by the item's `pattern`, whose group ``partner`` captures the partner's ODS code or
  name (`find_partner_columns`, `wide_ratings`; called by `ingest.diagnostic`);
- **long**: a file of its own, one row per respondent and partner: the codebook's
  respondent fields, a partner column and one column per item (`match_long_layout`,
  `read_long_ratings`).

Either way the result is `diagnostic_partner_ratings`: one row per answered item, rater
organisation and partner. A rating of the respondent's own organisation is ignored (a
wide cell is dropped; a long row is quarantined saying so). `combine_partner_ratings`
then keeps wide ratings only of kept respondents, checks long rows against the
collaborations file as respondents are checked, keeps each respondent's latest rating of
a partner, and quarantines ratings of a partner that was not a member during the wave.
No reason carries a cell's content.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from ingest import diagnostic
from ingest.codebook import REQUIRED_FIELDS, Codebook, ColumnMatch, PartnerItem
from ingest.collaborations import CollaborationsFile, collaboration_tables
from ingest.files import (
    ColumnSelection,
    InputFileError,
    TextTable,
    blank_row_mask,
    clean_header,
    named_columns,
    printable,
    sha256_file,
    structural_problems,
)
from ingest.organisations import OrganisationMatcher
from ingest.pseudonymise import pseudonymise
from ingest.quarantine import (
    CELL,
    QUARANTINE_SCHEMA,
    ROW,
    IngestResult,
    RowProblems,
    empty_quarantine,
    quarantine_rows,
    split_repeats,
)

TABLE = "diagnostic_partner_ratings"
WIDE, LONG = "wide", "long"
PARTNER_RATINGS_SCHEMA = {
    "instrument_id": pl.String,
    "collaboration_id": pl.String,
    "wave": pl.Int32,
    "respondent_key": pl.String,
    "organisation_code": pl.String,
    "partner_code": pl.String,
    "item_id": pl.String,
    "dimension": pl.String,
    "answer_value": pl.Int32,
    "layout": pl.String,
    "submitted_at": pl.Datetime("us"),
    "source_file": pl.String,
    "source_row": pl.Int64,
}
#: Kept with each rating until the files are combined: the header of the cell it came from
#: (the column a cell-level quarantine names). Not stored.
SOURCE_COLUMN = "source_column"
OWN_ORGANISATION = "rates the respondent's own organisation: ignored"
NOT_A_PARTNER = "partner is neither an ODS code nor the name of exactly one organisation in the reference"


def empty_ratings() -> pl.DataFrame:
    return pl.DataFrame(schema=PARTNER_RATINGS_SCHEMA)


def partner_items_table(codebooks: list[Codebook]) -> pl.DataFrame:
    """Every codebook's partner items with their dimension and scale, for the warehouse."""
    rows = [
        {
            "instrument_id": codebook.instrument_id,
            "item_id": item.id,
            "dimension": item.dimension,
            "scale_min": codebook.partners.item_scale(item).min,
            "scale_max": codebook.partners.item_scale(item).max,
            "high_from": None if item.dimension == "closeness" else float(codebook.partners.high_threshold),
            "item_text": item.text,
        }
        for codebook in codebooks
        if codebook.partners is not None
        for item in codebook.partners.items
    ]
    schema = {
        "instrument_id": pl.String,
        "item_id": pl.String,
        "dimension": pl.String,
        "scale_min": pl.Int32,
        "scale_max": pl.Int32,
        "high_from": pl.Float64,
        "item_text": pl.String,
    }
    return pl.DataFrame(rows, schema=schema)


# --- wide: one column per partner and item, in the diagnostic export -----------------------


@dataclass(frozen=True)
class PartnerColumn:
    """A wide export's column of one partner item about one partner."""

    position: int
    header: str
    item: PartnerItem
    partner_code: str | None  # None: the header names no organisation of the reference

    @property
    def name(self) -> str:
        return f"partner_{self.position}"


def find_partner_columns(
    codebook: Codebook, headers: list[str], taken: set[int], organisations: OrganisationMatcher, path: Path
) -> list[PartnerColumn]:
    """The columns of `headers` (other than `taken`) that hold partner items. Two columns of
    the same item about the same partner are a file error: which holds the answers cannot be
    guessed."""
    if codebook.partners is None:
        return []
    found: list[PartnerColumn] = []
    for position, header in enumerate(headers):
        if position in taken:
            continue
        text = clean_header(header)
        for item in codebook.partners.items:
            match = re.search(item.pattern, text, flags=re.IGNORECASE)
            if match:
                found.append(PartnerColumn(position, text, item, organisations.code_for(match["partner"].strip())))
                break
    seen: dict[tuple[str, str], PartnerColumn] = {}
    for column in found:
        if column.partner_code is None:
            continue
        first = seen.setdefault((column.item.id, column.partner_code), column)
        if first is not column:
            raise InputFileError(
                f"{path.name}: partner item {column.item.id} about {column.partner_code} appears more than once, "
                f"in columns {first.position + 1} ({printable(first.header)[:60]!r}) and {column.position + 1} "
                f"({printable(column.header)[:60]!r}); which holds the answers cannot be guessed: remove the other"
            )
    return found


def _values(codebook: Codebook, raw_by_dimension: dict[str, set[str | None]]) -> dict[str, tuple[dict, set]]:
    """Per scale ("closeness" or "rating"): raw text -> value, and the unrecognised texts."""
    section = codebook.partners
    closeness = raw_by_dimension.get("closeness", set())
    ratings = set().union(*(v for k, v in raw_by_dimension.items() if k != "closeness"))
    return {
        "closeness": diagnostic._answer_lookup(section.closeness_scale, list(closeness)),
        "rating": diagnostic._answer_lookup(section.scale, list(ratings)),
    }


def _scale_kind(dimension: pl.Expr) -> pl.Expr:
    return pl.when(dimension == "closeness").then(pl.lit("closeness")).otherwise(pl.lit("rating"))


def _mapped(cells: pl.DataFrame, lookups: dict[str, tuple[dict, set]]) -> pl.DataFrame:
    """`cells` (with `raw` and `dimension`) with `answer_value` and `unrecognised`."""
    kind = _scale_kind(pl.col("dimension"))
    closeness, rating = lookups["closeness"], lookups["rating"]
    return cells.with_columns(
        answer_value=pl.when(kind == "closeness")
        .then(pl.col("raw").replace_strict(closeness[0], default=None, return_dtype=pl.Int32))
        .otherwise(pl.col("raw").replace_strict(rating[0], default=None, return_dtype=pl.Int32)),
        unrecognised=pl.when(kind == "closeness")
        .then(pl.col("raw").is_in(list(closeness[1])))
        .otherwise(pl.col("raw").is_in(list(rating[1]))),
    )


def _scale_reason(dimension: pl.Expr) -> pl.Expr:
    return (
        pl.when(dimension == "closeness")
        .then(pl.lit("answer not on the partner closeness scale; treated as missing"))
        .otherwise(pl.lit("answer not on the partner rating scale; treated as missing"))
    )


def wide_ratings(
    codebook: Codebook, columns: list[PartnerColumn], kept: pl.DataFrame, source: str
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The partner ratings of a diagnostic export's kept rows, and the cells quarantined.

    `kept` holds the kept respondents' rows as `ingest.diagnostic` parsed them (`collab`,
    `wave_number`, `respondent_key`, `org`, `submitted`, `source_row`) and each partner
    column as text under `PartnerColumn.name`. A cell about the respondent's own
    organisation is dropped; a cell whose header names no known organisation, or whose
    answer is not on its scale, is quarantined (scope cell)."""
    if not columns or kept.is_empty():
        return empty_ratings().with_columns(pl.lit(None, pl.String).alias(SOURCE_COLUMN)), empty_quarantine()
    meta = pl.DataFrame(
        {
            "_column": [c.name for c in columns],
            SOURCE_COLUMN: [c.header for c in columns],
            "item_id": [c.item.id for c in columns],
            "dimension": [c.item.dimension for c in columns],
            "partner_code": [c.partner_code for c in columns],
        },
        schema={
            "_column": pl.String,
            SOURCE_COLUMN: pl.String,
            "item_id": pl.String,
            "dimension": pl.String,
            "partner_code": pl.String,
        },
    )
    cells = (
        kept.select(
            "source_row",
            "collab",
            "wave_number",
            "respondent_key",
            "org",
            "submitted",
            *[pl.col(c.name).cast(pl.String) for c in columns],
        )
        .unpivot(
            index=["source_row", "collab", "wave_number", "respondent_key", "org", "submitted"],
            on=[c.name for c in columns],
            variable_name="_column",
            value_name="raw",
        )
        .filter(pl.col("raw").is_not_null() & (pl.col("raw").str.strip_chars() != ""))
        .join(meta, on="_column")
    )
    raw_by_dimension = {
        dimension: set(group.get_column("raw").unique().to_list())
        for (dimension,), group in cells.group_by("dimension")
    }
    cells = _mapped(cells, _values(codebook, raw_by_dimension))
    unknown_partner = cells.filter(pl.col("partner_code").is_null())
    off_scale = cells.filter(pl.col("partner_code").is_not_null() & pl.col("unrecognised"))
    quarantine = pl.concat(
        [
            _cell_quarantine(unknown_partner, source, pl.lit(NOT_A_PARTNER + " (in the column header)")),
            _cell_quarantine(off_scale, source, _scale_reason(pl.col("dimension"))),
        ]
    )
    ratings = cells.filter(
        pl.col("partner_code").is_not_null()
        & pl.col("answer_value").is_not_null()
        & (pl.col("partner_code") != pl.col("org"))
    ).select(
        pl.lit(codebook.instrument_id).alias("instrument_id"),
        pl.col("collab").alias("collaboration_id"),
        pl.col("wave_number").alias("wave"),
        "respondent_key",
        pl.col("org").alias("organisation_code"),
        "partner_code",
        "item_id",
        "dimension",
        "answer_value",
        pl.lit(WIDE).alias("layout"),
        pl.col("submitted").alias("submitted_at"),
        pl.lit(source).alias("source_file"),
        "source_row",
        SOURCE_COLUMN,
    )
    return _typed(ratings).sort("source_row", "partner_code", "item_id"), quarantine


def _cell_quarantine(cells: pl.DataFrame, source: str | pl.Expr, reason: pl.Expr) -> pl.DataFrame:
    return cells.select(
        (pl.lit(source) if isinstance(source, str) else source).cast(pl.String).alias("source_file"),
        pl.col("source_row").cast(pl.Int64),
        pl.col(SOURCE_COLUMN).alias("column_name"),
        pl.lit(None, pl.String).alias("value"),
        reason.cast(pl.String).alias("reason"),
        pl.lit(CELL).alias("scope"),
    )


def _typed(ratings: pl.DataFrame) -> pl.DataFrame:
    extra = [c for c in ratings.columns if c not in PARTNER_RATINGS_SCHEMA]
    return ratings.select(
        [pl.col(name).cast(dtype) for name, dtype in PARTNER_RATINGS_SCHEMA.items()] + [pl.col(c) for c in extra]
    )


# --- long: one row per respondent and partner, in a file of its own ------------------------


@dataclass(frozen=True)
class LongLayout:
    """Where a codebook's respondent fields, partner column and partner items sit in a long file."""

    codebook: Codebook
    fields: dict[str, int]
    partner: int
    items: dict[str, int]

    def selection(self) -> ColumnSelection:
        return ColumnSelection(
            keep=[*self.fields.values(), self.partner, *self.items.values()], categorical=list(self.items.values())
        )


def _find(match: ColumnMatch, headers: list[str], taken: set[int]) -> int | None:
    """The first header position not yet taken that `match` matches (then taken)."""
    for position, header in enumerate(headers):
        if position not in taken and match.matches(header):
            taken.add(position)
            return position
    return None


def match_long_layout(codebooks: list[Codebook], headers: list[str]) -> LongLayout | None:
    """The long partner-ratings layout of the first codebook whose long columns are all in
    `headers` (its respondent fields, partner column and every partner item), or None."""
    for codebook in codebooks:
        section = codebook.partners
        if section is None or section.long is None:
            continue
        taken: set[int] = set()
        fields = {
            name: position
            for name, source in codebook.fields.items()
            if source.is_column and (position := _find(source.column(), headers, taken)) is not None
        }
        partner = _find(section.long.partner, headers, taken)
        items = {item.id: _find(item.long, headers, taken) for item in section.items}
        columns = {name for name in REQUIRED_FIELDS if codebook.fields[name].is_column}
        if columns <= set(fields) and partner is not None and None not in items.values():
            return LongLayout(codebook, fields, partner, items)
    return None


def read_long_ratings(
    path: Path,
    table: TextTable,
    layout: LongLayout,
    key: bytes,
    organisations: OrganisationMatcher,
    collaborations: CollaborationsFile | None = None,
) -> IngestResult:
    """Read a long partner-ratings file: every row ends in the ratings or in quarantine.

    The respondent fields follow the diagnostic export's rules (`ingest.diagnostic`); a
    row's partner must be one organisation of the reference and not the respondent's own;
    a row with no rating on the scales is quarantined; a respondent who rated the same
    partner twice keeps the later rating."""
    source = path.name
    codebook = layout.codebook
    section = codebook.partners
    item_columns = {item_id: f"item_{item_id}" for item_id in layout.items}
    rows = named_columns(
        table,
        {**layout.fields, "partner": layout.partner},
        absent=["role_group"] if "role_group" not in layout.fields else [],
    ).with_columns([table.rows[f"c{pos}"].cast(pl.String).alias(item_columns[i]) for i, pos in layout.items.items()])
    rows = diagnostic.with_file_fields(rows, codebook, path)
    rows, month_first = diagnostic.parse_respondent_fields(rows, organisations, collaborations)
    rows = rows.with_columns(partner_code=diagnostic._map_distinct(rows, "partner", organisations.code_for))
    dimensions = {item.id: item.dimension for item in section.items}
    raw_by_dimension: dict[str, set] = {}
    for item_id, column in item_columns.items():
        raw_by_dimension.setdefault(dimensions[item_id], set()).update(rows.get_column(column).unique().to_list())
    lookups = _values(codebook, raw_by_dimension)
    kind = {item_id: "closeness" if d == "closeness" else "rating" for item_id, d in dimensions.items()}

    def value(item_id: str) -> pl.Expr:
        return pl.col(item_columns[item_id]).replace_strict(
            lookups[kind[item_id]][0], default=None, return_dtype=pl.Int32
        )

    def off_scale(item_id: str) -> pl.Expr:
        return pl.col(item_columns[item_id]).is_in(list(lookups[kind[item_id]][1]))

    def empty(column: str) -> pl.Expr:
        return pl.col(column).is_null() | (pl.col(column).str.strip_chars() == "")

    rows = rows.with_columns(
        _usable=~blank_row_mask(rows, [*layout.fields, "partner", *item_columns.values()]),
        _rated=pl.sum_horizontal([value(i).is_not_null() for i in item_columns]).cast(pl.Int64),
    )
    usable = pl.col("_usable")
    problems = RowProblems(rows, source, copy_values=False)
    flag = problems.flag
    flag(~usable, "blank row")
    for mask, reason in structural_problems(table):
        flag(usable & mask, reason)
    diagnostic.flag_respondent_fields(problems, month_first)
    flag(usable & empty("partner"), "partner is empty", "partner")
    flag(usable & ~empty("partner") & pl.col("partner_code").is_null(), NOT_A_PARTNER, "partner")
    flag(usable & (pl.col("partner_code") == pl.col("org")), OWN_ORGANISATION, "partner")
    flag(usable & (pl.col("_rated") == 0), "no rating on the partner scales (blank, don't know or not on the scale)")
    quarantine = problems.quarantine()
    valid = problems.passing()

    latest, superseded = split_repeats(
        valid.select("collab", "wave_number", "respondent_id", "partner_code", "submitted", "source_row"),
        ["collab", "wave_number", "respondent_id", "partner_code"],
        order_by=["submitted", "source_row"],
        descending=True,
        source_file=source,
        reason="superseded by a later rating of the same partner by the same respondent (row {})",
        column_name="partner",
    )
    kept = valid.filter(pl.col("source_row").is_in(latest.get_column("source_row").implode())).with_columns(
        respondent_key=diagnostic._map_distinct(valid, "respondent_id", lambda raw: pseudonymise(raw, key))
    )
    entries = [quarantine, superseded]
    for item_id in item_columns:
        bad = kept.filter(off_scale(item_id))
        if bad.height:
            entries.append(
                quarantine_rows(
                    bad,
                    source_file=source,
                    reason=f"answer not on the partner {'closeness' if kind[item_id] == 'closeness' else 'rating'} scale; treated as missing",
                    column_name=table.headers[layout.items[item_id]].strip(),
                    scope=CELL,
                )
            )
    ratings = (
        kept.select(
            "source_row",
            "collab",
            "wave_number",
            "respondent_key",
            "org",
            "partner_code",
            "submitted",
            *[value(i).alias(i) for i in item_columns],
        )
        .unpivot(
            index=["source_row", "collab", "wave_number", "respondent_key", "org", "partner_code", "submitted"],
            on=list(item_columns),
            variable_name="item_id",
            value_name="answer_value",
        )
        .filter(pl.col("answer_value").is_not_null())
        .select(
            pl.lit(codebook.instrument_id).alias("instrument_id"),
            pl.col("collab").alias("collaboration_id"),
            pl.col("wave_number").alias("wave"),
            "respondent_key",
            pl.col("org").alias("organisation_code"),
            "partner_code",
            "item_id",
            pl.col("item_id").replace_strict(dimensions, return_dtype=pl.String).alias("dimension"),
            "answer_value",
            pl.lit(LONG).alias("layout"),
            pl.col("submitted").alias("submitted_at"),
            pl.lit(source).alias("source_file"),
            "source_row",
            pl.lit(table.headers[layout.partner].strip()).alias(SOURCE_COLUMN),
        )
    )
    raw_profile = diagnostic.raw_row_profile(
        rows,
        source,
        codebook.instrument_id,
        len(table.headers),
        empty,
        [~empty(c) for c in item_columns.values()],
        [off_scale(i) for i in item_columns],
    )
    return IngestResult(
        source_file=source,
        sha256=sha256_file(path),
        rows_read=table.rows.height,
        tables={
            "diagnostic_respondents": pl.DataFrame(schema=diagnostic.RESPONDENTS_SCHEMA),
            "diagnostic_answers": pl.DataFrame(schema=diagnostic.ANSWERS_SCHEMA),
            "raw.diagnostic_rows": raw_profile,
            TABLE: _typed(ratings).sort("source_row", "item_id"),
        },
        quarantine=pl.concat(entries).sort("source_row", "column_name", nulls_last=False),
    )


# --- all files together ---------------------------------------------------------------------


#: The combined ratings' row order.
ROW_ORDER = ("collaboration_id", "wave", "source_file", "source_row", "partner_code", "item_id")


def combine_partner_ratings(
    ratings: pl.DataFrame, respondents: pl.DataFrame, collaborations: CollaborationsFile | None = None
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """All files' ratings, checked against the kept respondents and the configuration.

    Wide ratings stay only with their respondent's kept submission. Long rows whose
    collaboration and wave are not declared, or whose organisation was not a member during
    the wave, are quarantined as respondents are. Where a respondent rated a partner more
    than once (two long files, or a long file beside the export), the latest submission
    wins (then the later file and row); ratings of a partner that was not a member during
    the wave's fieldwork are quarantined (a long row whole; a wide cell alone)."""
    wide = ratings.filter(pl.col("layout") == WIDE).join(
        respondents.select(pl.col("source_file").cast(pl.String), "source_row"),
        on=["source_file", "source_row"],
        how="semi",
    )
    long = ratings.filter(pl.col("layout") == LONG)
    problems: list[pl.DataFrame] = []
    if collaborations is not None and long.height:
        rows = long.select(
            "instrument_id", "collaboration_id", "wave", "organisation_code", "source_file", "source_row"
        ).unique()
        member_rows, undeclared = diagnostic._quarantine_undeclared(rows, collaborations)
        long = long.join(member_rows.select("source_file", "source_row"), on=["source_file", "source_row"], how="semi")
        problems.append(undeclared)
    ratings = pl.concat([wide, long])

    # One rating of each partner per respondent: judged per rating group (file, row, partner).
    keys = ["collaboration_id", "wave", "respondent_key", "partner_code"]
    groups = (
        ratings.group_by("source_file", "source_row", "partner_code")
        .agg(
            pl.col("collaboration_id", "wave", "respondent_key", "submitted_at", "layout").first(),
            pl.col(SOURCE_COLUMN).min(),
        )
        .sort(["submitted_at", "source_file", "source_row"], descending=True)
        .with_columns(
            _rank=pl.int_range(pl.len()).over(keys),
            _kept_file=pl.col("source_file").first().over(keys),
            _kept_row=pl.col("source_row").first().over(keys),
        )
    )
    lost = groups.filter(pl.col("_rank") > 0)
    if lost.height:
        # A long row superseded goes whole; a wide export's cells about that partner alone.
        problems.append(
            lost.select(
                "source_file",
                "source_row",
                pl.col(SOURCE_COLUMN).alias("column_name"),
                pl.lit(None, pl.String).alias("value"),
                pl.format(
                    "superseded by a later rating of the same partner by the same respondent ({} row {})",
                    "_kept_file",
                    "_kept_row",
                ).alias("reason"),
                pl.when(pl.col("layout") == WIDE).then(pl.lit(CELL)).otherwise(pl.lit(ROW)).alias("scope"),
            )
        )
        ratings = ratings.join(
            lost.select("source_file", "source_row", "partner_code"),
            on=["source_file", "source_row", "partner_code"],
            how="anti",
        )

    if collaborations is not None and ratings.height:
        config = collaboration_tables(collaborations)
        members = (
            config["collaboration_members"]
            .join(config["collaboration_waves"], on="collaboration_id")
            .filter(
                (pl.col("joined_on") <= pl.col("fieldwork_end"))
                & (pl.col("left_on").is_null() | (pl.col("left_on") >= pl.col("fieldwork_start")))
            )
            .select("collaboration_id", "wave", pl.col("org_code").alias("partner_code"))
        )
        outsiders = ratings.join(members, on=["collaboration_id", "wave", "partner_code"], how="anti")
        if outsiders.height:
            reason = pl.format("partner is not a member of '{}' during wave {} fieldwork", "collaboration_id", "wave")
            cells = outsiders.filter(pl.col("layout") == WIDE).unique(
                ["source_file", "source_row", SOURCE_COLUMN], keep="first", maintain_order=True
            )
            whole = outsiders.filter(pl.col("layout") == LONG).unique(
                ["source_file", "source_row"], keep="first", maintain_order=True
            )
            problems += [
                _cell_quarantine(cells, pl.col("source_file"), reason),
                quarantine_rows(whole, source_file=pl.col("source_file"), reason=reason, column_name="partner"),
            ]
            ratings = ratings.join(members, on=["collaboration_id", "wave", "partner_code"], how="semi")
    quarantine = (
        pl.concat([p.select(empty_quarantine().columns).cast(QUARANTINE_SCHEMA) for p in problems])
        if problems
        else empty_quarantine()
    )
    return (
        ratings.drop(SOURCE_COLUMN).sort(ROW_ORDER, nulls_last=False),
        quarantine.sort("source_file", "source_row", "column_name", "reason", nulls_last=False),
    )
