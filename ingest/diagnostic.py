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
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from ingest.codebook import Codebook, ColumnLayout, match_layout
from ingest.collaborations import CollaborationsFile, collaboration_tables
from ingest.files import (
    InputFileError,
    blank_row_mask,
    named_columns,
    normalise_label,
    read_text_table,
    sha256_file,
    structural_problems,
)
from ingest.organisations import OrganisationMatcher
from ingest.pseudonymise import pseudonymise
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
TWO_DIGIT_YEAR = r"^\d{1,2}/\d{1,2}/\d{2}(\s|$)"
TWO_DIGIT_YEAR_FORMATS = ("%d/%m/%y %H:%M:%S", "%d/%m/%y %H:%M", "%d/%m/%y")
#: Submission times outside these years are typing or export errors.
PLAUSIBLE_YEARS = (2000, 2099)
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
#: repetitive text columns are categorical (4 bytes a row instead of ~30). DuckDB stores
#: them as VARCHAR all the same.
ANSWERS_SCHEMA = {
    "instrument_id": pl.Categorical,
    "collaboration_id": pl.Categorical,
    "wave": pl.Int32,
    "respondent_key": pl.String,
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


def recognise_instrument(codebooks: list[Codebook], headers: list[str], path: Path) -> ColumnLayout:
    """The layout of the first codebook whose columns are all present, or a clear error."""
    closest: tuple[Codebook, list[str]] | None = None
    for codebook in codebooks:
        layout, missing = match_layout(codebook, headers)
        if layout is not None:
            return layout
        if closest is None or len(missing) < len(closest[1]):
            closest = (codebook, missing)
    if closest is None:
        raise InputFileError(f"{path.name}: no instrument codebooks to recognise the export with")
    codebook, missing = closest
    shown = "; ".join(missing[:8]) + (f"; and {len(missing) - 8} more" if len(missing) > 8 else "")
    raise InputFileError(
        f"{path.name}: export does not match any instrument codebook; closest is "
        f"{codebook.instrument_id} {codebook.version}, which needs columns missing here: {shown}"
    )


def _answer_lookup(codebook: Codebook, raw_values: list[str | None]) -> tuple[dict[str, int], set[str]]:
    """Raw answer text -> scale value, and the raw values that are not recognised."""
    labels = codebook.scale.label_values()
    missing = codebook.scale.missing_labels()
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
        elif label.isdigit() and codebook.scale.min <= int(label) <= codebook.scale.max:
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
                }
                for cb in codebooks
                for item in cb.items
            ]
        ),
    }


def read_diagnostic_export(
    path: Path, codebooks: list[Codebook], key: bytes, organisations: OrganisationMatcher | None = None
) -> IngestResult:
    """Read one diagnostic export into respondents, long answers and quarantined rows.

    Organisations may be given as ODS codes or names; names are matched through
    `organisations` (the ODS reference) and an unmatched name quarantines the row.
    """
    path = Path(path)
    organisations = organisations or OrganisationMatcher()
    source = path.name
    table = read_text_table(path)
    layout = recognise_instrument(codebooks, table.headers, path)
    codebook = layout.codebook
    item_columns = {item_id: f"item_{item_id}" for item_id in layout.items}

    rows = named_columns(
        table, layout.fields, absent=["role_group"] if "role_group" not in layout.fields else []
    ).with_columns([table.rows[f"c{pos}"].alias(item_columns[item_id]) for item_id, pos in layout.items.items()])
    roles = {normalise_label(r): r for r in codebook.role_groups}
    # Respondent ids compare ignoring case and spacing (an email typed twice, say).
    rows = rows.with_columns(pl.col("respondent_id").str.to_lowercase())
    rows = rows.with_columns(
        submitted=pl.when(pl.col("submitted_at").str.contains(TWO_DIGIT_YEAR))
        .then(
            pl.coalesce(
                [
                    pl.col("submitted_at").str.to_datetime(f, strict=False, time_unit="us")
                    for f in TWO_DIGIT_YEAR_FORMATS
                ]
            )
        )
        .otherwise(
            pl.coalesce(
                [pl.col("submitted_at").str.to_datetime(f, strict=False, time_unit="us") for f in UK_DATETIME_FORMATS]
            )
        ),
        wave_number=pl.col("wave").str.extract(r"(?i)^(?:wave\s*)?(\d+)$").cast(pl.Int32, strict=False),
        org=_map_distinct(rows, "organisation", organisations.code_for),
        collab=pl.col("collaboration").str.to_lowercase(),
        role=_map_distinct(rows, "role_group", lambda r: roles.get(normalise_label(r), OTHER_ROLE)),
    )

    # The quarantine never holds a cell's content: in a shifted or hand-edited export any
    # cell may hold an id, a name or free text. File, row, column and reason locate it.
    # Computed once: every rule below starts from it.
    rows = rows.with_columns(_usable=~blank_row_mask(rows, list(layout.fields) + list(item_columns.values())))
    usable = pl.col("_usable")
    problems = RowProblems(rows, source, copy_values=False)
    flag = problems.flag

    def empty(column: str) -> pl.Expr:
        return pl.col(column).is_null() | (pl.col(column) == "")

    flag(~usable, "blank row")
    for mask, reason in structural_problems(table):
        flag(usable & mask, reason)
    flag(usable & empty("respondent_id"), "respondent id is empty", "respondent_id")
    flag(
        usable & pl.col("submitted").is_null(),
        "submission time is not a UK date (dd/mm/yyyy hh:mm)",
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
    flag(usable & pl.col("wave_number").is_null(), "wave is not a whole number", "wave")

    quarantine = problems.quarantine()
    # Repeated submissions are resolved in combine_exports, after the rows that are not
    # valid for the collaborations file are set aside (a late invalid resubmission must
    # not displace a valid one).
    kept = problems.passing()

    # Answers: labels and numbers to scale values; unrecognised text is a cell problem.
    raw_answers = rows.select(item_columns.values()).unpivot().get_column("value").unique().to_list()
    values, unrecognised = _answer_lookup(codebook, raw_answers)
    raw_profile = rows.select(
        pl.lit(source).alias("source_file"),
        "source_row",
        pl.lit(codebook.instrument_id).alias("instrument_id"),
        "n_fields",
        pl.lit(len(table.headers), dtype=pl.Int64).alias("header_fields"),
        (~usable).alias("is_blank"),
        (~empty("respondent_id")).alias("has_respondent_id"),
        pl.col("submitted").is_not_null().alias("submitted_parsed"),
        pl.col("org").is_not_null().alias("organisation_matched"),
        pl.col("wave_number").is_not_null().alias("wave_parsed"),
        pl.sum_horizontal([~empty(c) for c in item_columns.values()]).cast(pl.Int64).alias("n_answers_given"),
        pl.sum_horizontal([pl.col(c).is_in(list(unrecognised)) for c in item_columns.values()])
        .cast(pl.Int64)
        .alias("n_answers_unrecognised"),
    )
    for item_id, column in item_columns.items() if unrecognised else ():
        bad = kept.filter(pl.col(column).is_in(list(unrecognised)))
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

    items = pl.DataFrame(
        {
            "item_column": list(item_columns.values()),
            "item_id": list(item_columns),
            "characteristic_id": [i.characteristic for i in codebook.items if i.id in item_columns],
            "reverse": [i.reverse for i in codebook.items if i.id in item_columns],
        }
    )
    scale_sum = codebook.scale.min + codebook.scale.max
    answers = (
        kept.unpivot(
            index=["instrument_id", "collab", "wave_number", "respondent_key", "source_file", "source_row"],
            on=list(item_columns.values()),
            variable_name="item_column",
            value_name="raw",
        )
        .with_columns(answer_value=pl.col("raw").replace_strict(values, default=None, return_dtype=pl.Int32))
        .filter(pl.col("answer_value").is_not_null())
        .join(items, on="item_column")
        .with_columns(
            score_value=pl.when(pl.col("reverse"))
            .then(scale_sum - pl.col("answer_value"))
            .otherwise(pl.col("answer_value"))
            .cast(pl.Float64)
        )
        .select(
            "instrument_id",
            pl.col("collab").alias("collaboration_id"),
            pl.col("wave_number").alias("wave"),
            "respondent_key",
            "item_id",
            "characteristic_id",
            "answer_value",
            "score_value",
            "source_file",
            "source_row",
        )
        .cast(ANSWERS_SCHEMA)
        .sort("source_row", "item_id")
    )
    ignored = [table.headers[p] for p in layout.free_text] + layout.unknown_headers
    return IngestResult(
        source_file=source,
        sha256=sha256_file(path),
        rows_read=table.rows.height,
        tables={
            "diagnostic_respondents": respondents,
            "diagnostic_answers": answers,
            "raw.diagnostic_rows": raw_profile,
        },
        quarantine=quarantine.sort("source_row", "column_name", nulls_last=False),
        ignored_columns=[h.strip() for h in ignored],
    )


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
    declared = respondents.join(waves.select("collaboration_id", "wave"), on=["collaboration_id", "wave"], how="semi")
    undeclared = respondents.join(
        declared.select("source_file", "source_row"), on=["source_file", "source_row"], how="anti"
    )
    member = declared.join(
        members.select("collaboration_id", "wave", pl.col("org_code").alias("organisation_code")),
        on=["collaboration_id", "wave", "organisation_code"],
        how="semi",
    )
    outsiders = declared.join(member.select("source_file", "source_row"), on=["source_file", "source_row"], how="anti")
    entries = [
        quarantine_rows(
            undeclared,
            source_file=pl.col("source_file"),
            reason=pl.format(
                "collaboration '{}' wave {} is not declared in the collaborations file", "collaboration_id", "wave"
            ),
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
    ]
    return member, pl.concat(entries)
