"""Organisation reference: the ODS trust file (``etr.csv``) and name -> code matching.

``etr.csv`` has no header row; columns are known by position. Names in diagnostic exports
are matched to codes ignoring case, spacing and "&"/"and"; a name that matches no trust,
or more than one, is not guessed (the reader quarantines the row).
"""

from __future__ import annotations

import re
from pathlib import Path

import polars as pl

from ingest.files import InputFileError, normalise_label

#: Position (0-based) -> column, for the fields we use.
ETR_POSITIONS = {0: "org_code", 1: "org_name", 2: "region_code", 3: "icb_code", 10: "opened_on", 11: "closed_on"}
ORGANISATIONS_SCHEMA = {
    "org_code": pl.String,
    "org_name": pl.String,
    "region_code": pl.String,
    "icb_code": pl.String,
    "opened_on": pl.Date,
    "closed_on": pl.Date,
    "source_file": pl.String,
}


def read_etr(path: Path) -> pl.DataFrame:
    """One row per trust in an ODS ``etr.csv`` extract."""
    path = Path(path)
    try:
        raw = pl.read_csv(path, has_header=False, infer_schema=False, encoding="utf8-lossy")
    except pl.exceptions.PolarsError as error:
        raise InputFileError(f"{path.name}: not a readable ODS etr file ({error})") from error
    if raw.width < 12:
        raise InputFileError(f"{path.name}: an ODS etr file has at least 12 columns; found {raw.width}")
    columns = raw.columns
    return raw.select(
        [pl.col(columns[position]).str.strip_chars().alias(name) for position, name in ETR_POSITIONS.items()]
    ).with_columns(
        pl.col("opened_on").str.to_date("%Y%m%d", strict=False),
        pl.col("closed_on").str.to_date("%Y%m%d", strict=False),
        source_file=pl.lit(path.name),
    ).cast(ORGANISATIONS_SCHEMA)


def read_organisations(folder: Path) -> pl.DataFrame:
    """The latest record of every trust across the extracts in `folder` (file names sort by date)."""
    paths = sorted(Path(folder).glob("etr*.csv"))
    if not paths:
        raise InputFileError(f"{folder}: no ODS etr*.csv files")
    frames = [read_etr(p).with_columns(extract=pl.lit(i)) for i, p in enumerate(paths)]
    return (
        pl.concat(frames)
        .sort("extract")
        .group_by("org_code", maintain_order=True)
        .last()
        .drop("extract")
        .sort("org_code")
    )


def name_key(name: str) -> str:
    return normalise_label(name.replace("&", " and "))


def name_lookup(organisations: pl.DataFrame) -> dict[str, str]:
    """Normalised organisation name -> ODS code; names shared by several codes are left out."""
    codes: dict[str, set[str]] = {}
    for code, name in organisations.select("org_code", "org_name").iter_rows():
        if name:
            codes.setdefault(name_key(name), set()).add(code)
    return {key: next(iter(found)) for key, found in codes.items() if len(found) == 1}


class OrganisationMatcher:
    """Turns what a respondent's export says about their organisation into an ODS code.

    A value that is a known code, or looks like a code and contains a digit, is a code;
    otherwise it must be exactly one known organisation's name (case, spacing and "&"
    ignored). Anything else returns None and is never guessed.
    """

    def __init__(self, organisations: pl.DataFrame | None = None):
        self.codes = set(organisations["org_code"].to_list()) if organisations is not None else set()
        self.names = name_lookup(organisations) if organisations is not None else {}
        self.has_reference = organisations is not None

    def code_for(self, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        text = value.strip()
        upper = text.upper()
        if upper in self.codes:
            return upper
        looks_like_code = re.fullmatch(r"[A-Z0-9]{3,6}", upper) is not None
        if looks_like_code and (not self.has_reference or any(ch.isdigit() for ch in upper)):
            return upper
        return self.names.get(name_key(text))
