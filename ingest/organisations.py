"""Organisation reference: trusts, successors, ICB membership over time, and name matching.

The reference folder holds ODS ``etr*.csv`` extracts (no header row; columns by position;
the extract date is in the file name, ``etr_2025-07.csv``), the ODS successor file, the
provider -> parent ICB extract and the ICB code crosswalk. From these:

- every trust's latest record (name, region, ICB, open and close dates);
- each trust's *reporting* code: the end of its chain of successors, so a merged trust's
  history rolls up to the trust that exists now. A trust whose successor record names more
  than one organisation (a split, RW6 -> R0A and RM3) keeps its own code: its history is
  not shared out by guesswork;
- ICB membership snapshots, one per extract date, so a period is placed in the ICB of the
  latest snapshot at or before it.

Names in diagnostic exports are matched to codes ignoring case, spacing and "&"/"and"; a
name that matches no trust, or more than one, is not guessed (the reader quarantines the row).
"""

from __future__ import annotations

import re
from datetime import date
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
    return (
        raw.select(
            [pl.col(columns[position]).str.strip_chars().alias(name) for position, name in ETR_POSITIONS.items()]
        )
        .with_columns(
            pl.col("opened_on").str.to_date("%Y%m%d", strict=False),
            pl.col("closed_on").str.to_date("%Y%m%d", strict=False),
            source_file=pl.lit(path.name),
        )
        .cast(ORGANISATIONS_SCHEMA)
    )


def etr_extract_date(path: Path) -> date:
    """The date of an etr extract, from its name (``etr_2025-07.csv`` -> 2025-07-01)."""
    found = re.search(r"(\d{4})-(\d{2})(?:-(\d{2}))?", Path(path).name)
    if not found:
        raise InputFileError(f"{Path(path).name}: name the extract with its date, e.g. etr_2025-07.csv")
    return date(int(found[1]), int(found[2]), int(found[3] or 1))


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


SUCCESSORS_FILE = "*successor*.csv"
PROVIDER_ICB_FILE = "provider_to_icb*.csv"
ICB_CROSSWALK_FILE = "icb_code_crosswalk*.csv"
REGIONS_FILE = "trust_to_nhs_region*.csv"


def _read_headed(path: Path, columns: dict[str, str]) -> pl.DataFrame:
    """A headed reference CSV with `columns` (file header -> our name), all text."""
    try:
        frame = pl.read_csv(path, infer_schema=False, encoding="utf8-lossy")
    except pl.exceptions.PolarsError as error:
        raise InputFileError(f"{path.name}: not a readable CSV ({error})") from error
    missing = [header for header in columns if header not in frame.columns]
    if missing:
        raise InputFileError(f"{path.name}: missing columns {', '.join(missing)}")
    return frame.select([pl.col(h).str.strip_chars().alias(name) for h, name in columns.items()])


def _files(folder: Path, pattern: str) -> list[Path]:
    return sorted(Path(folder).glob(pattern))


def read_successors(folder: Path) -> pl.DataFrame:
    """ODS successor records: (old_code, new_code, succeeded_on), from every successor file."""
    frames = [
        _read_headed(p, {"old_code": "old_code", "new_code": "new_code", "date": "succeeded_on"})
        for p in _files(folder, SUCCESSORS_FILE)
    ]
    schema = {"old_code": pl.String, "new_code": pl.String, "succeeded_on": pl.Date}
    if not frames:
        return pl.DataFrame(schema=schema)
    return (
        pl.concat(frames)
        .with_columns(pl.col("old_code", "new_code").str.to_uppercase(), pl.col("succeeded_on").str.to_date("%Y-%m-%d"))
        .unique()
        .sort("old_code", "new_code")
        .cast(schema)
    )


def resolve_successors(successors: pl.DataFrame) -> pl.DataFrame:
    """For every code that has a successor: the code its history reports under now.

    A merger chain (A -> B -> C) resolves to its end (C). A code with more than one
    successor is a split: it reports under its own code, and a chain reaching it stops
    there. Columns: org_code, reporting_code, succeeded_on (of the first step), is_split,
    successor_codes (all direct successors, comma-separated), chain (A > B > C).
    """
    direct: dict[str, list[tuple[str, object]]] = {}
    for old, new, on in successors.select("old_code", "new_code", "succeeded_on").iter_rows():
        if old != new:
            direct.setdefault(old, []).append((new, on))
    rows = []
    for code in sorted(direct):
        nexts = sorted(direct[code], key=lambda step: step[0])
        is_split = len({new for new, _ in nexts}) > 1
        chain = [code]
        current = code
        while len(direct.get(current, [])) == 1 and direct[current][0][0] not in chain:
            current = direct[current][0][0]
            chain.append(current)
        rows.append(
            {
                "org_code": code,
                "reporting_code": code if is_split else current,
                "succeeded_on": min(on for _, on in nexts),
                "is_split": is_split,
                "successor_codes": ", ".join(new for new, _ in nexts),
                "chain": code if is_split else " > ".join(chain),
            }
        )
    return pl.DataFrame(
        rows,
        schema={
            "org_code": pl.String,
            "reporting_code": pl.String,
            "succeeded_on": pl.Date,
            "is_split": pl.Boolean,
            "successor_codes": pl.String,
            "chain": pl.String,
        },
    )


def read_icb_snapshots(folder: Path) -> pl.DataFrame:
    """Trust -> ICB as at each extract date: from every etr extract (column 4) and every
    provider -> parent ICB extract (its ``as_at`` column). Columns: org_code, icb_code,
    as_at, source_file."""
    frames = [
        read_etr(p).select("org_code", "icb_code", as_at=pl.lit(etr_extract_date(p)), source_file=pl.lit(p.name))
        for p in _files(folder, "etr*.csv")
    ]
    for path in _files(folder, PROVIDER_ICB_FILE):
        frames.append(
            _read_headed(
                path, {"provider_org_code": "org_code", "provider_parent_org_code": "icb_code", "as_at": "as_at"}
            ).with_columns(pl.col("as_at").str.to_date("%Y-%m-%d"), source_file=pl.lit(path.name))
        )
    schema = {"org_code": pl.String, "icb_code": pl.String, "as_at": pl.Date, "source_file": pl.String}
    if not frames:
        return pl.DataFrame(schema=schema)
    return (
        pl.concat([f.cast(schema) for f in frames])
        .filter(pl.col("icb_code").is_not_null() & (pl.col("icb_code") != ""))
        .unique(["org_code", "as_at"], keep="last", maintain_order=True)
        .sort("org_code", "as_at")
    )


def read_icbs(folder: Path) -> pl.DataFrame:
    """ICB code -> name (and ONS code where known), the latest naming winning."""
    frames = []
    for path in _files(folder, ICB_CROSSWALK_FILE):
        frames.append(
            _read_headed(
                path,
                {
                    "icb_ods_code": "icb_code",
                    "icb_name": "icb_name",
                    "icb_ons_code": "icb_ons_code",
                    "vintage": "vintage",
                },
            )
        )
    for path in _files(folder, PROVIDER_ICB_FILE):
        frames.append(
            _read_headed(
                path, {"provider_parent_org_code": "icb_code", "provider_parent_name": "icb_name", "as_at": "vintage"}
            ).with_columns(icb_ons_code=pl.lit(None, dtype=pl.String))
        )
    schema = {"icb_code": pl.String, "icb_name": pl.String, "icb_ons_code": pl.String}
    if not frames:
        return pl.DataFrame(schema=schema)
    # Vintage labels sort by year ("ICB22 (July 2022)", "ICB24 ...", "2026-04-30"): take the latest name.
    latest = pl.concat([f.select("icb_code", "icb_name", "icb_ons_code", "vintage") for f in frames])
    latest = latest.with_columns(order=pl.col("vintage").str.extract(r"(20\d\d)").cast(pl.Int32, strict=False))
    names = (
        latest.sort("order")
        .group_by("icb_code", maintain_order=True)
        .agg(pl.col("icb_name").last(), pl.col("icb_ons_code").drop_nulls().last())
    )
    return names.sort("icb_code").cast(schema)


def read_regions(folder: Path) -> pl.DataFrame:
    """NHS England region code -> name."""
    frames = [
        _read_headed(p, {"nhs_region21_nhs_code": "region_code", "nhs_region21_name": "region_name"})
        for p in _files(folder, REGIONS_FILE)
    ]
    if not frames:
        return pl.DataFrame(schema={"region_code": pl.String, "region_name": pl.String})
    return pl.concat(frames).unique("region_code", keep="last", maintain_order=True).sort("region_code")


def organisation_reference_tables(folder: Path) -> dict[str, pl.DataFrame]:
    """Every table of the organisation reference, for the `clean` schema."""
    return {
        "organisations": read_organisations(folder),
        "organisation_successors": resolve_successors(read_successors(folder)),
        "organisation_icb_snapshots": read_icb_snapshots(folder),
        "icbs": read_icbs(folder),
        "regions": read_regions(folder),
    }
