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
  latest snapshot at or before it. Each snapshot is checked first (`check_icb_snapshot`):
  every ICB code in it must be an ICB valid at its date (`icb_validity`, from the ICB code
  crosswalk and the provider -> ICB extracts). A snapshot that fails is rejected whole (its
  trusts' records too) with an error naming the file, the date and the codes, and the
  other snapshots' mapping stands: an ODS extract from before ICBs existed (July 2022) holds
  NHS England area-team codes (Q70-Q84) in that column, and must never rewrite ICB series.

Names in diagnostic exports are matched to codes ignoring case, spacing and "&"/"and"; a
name that matches no trust, or more than one, is not guessed (the reader quarantines the row).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
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


def _month_name(day: date) -> str:
    return day.strftime("%B %Y")


def snapshot_date(path: Path, extract: pl.DataFrame) -> tuple[date, str]:
    """When an etr extract was taken, and how we know.

    The etr file carries no extract date of its own, but its content bounds it: it cannot be
    older than the latest open or close date it records. So the snapshot is dated the later
    of the month in its name (``etr_2025-07.csv``) and the month of that latest date; a file
    named without a date (``etr.csv``, as ODS publishes it) is dated by its content alone.
    """
    name = Path(path).name
    try:
        named: date | None = etr_extract_date(path)
    except InputFileError:
        named = None
    latest = extract.select(pl.max_horizontal(pl.col("opened_on").max(), pl.col("closed_on").max())).item()
    content = date(latest.year, latest.month, 1) if latest is not None else None
    if named is None and content is None:
        raise InputFileError(
            f"{name}: cannot date this ODS extract: no date in its name (e.g. etr_2025-07.csv) "
            "and no open or close date in it"
        )
    if named is None:
        return content, f"from its content: its latest open or close date is in {_month_name(content)}"
    if content is not None and content > named:
        return content, (
            f"from its content: it records an open or close date in {_month_name(content)}, "
            f"after the {_month_name(named)} in its name"
        )
    return named, "from its name"


#: ODS puts trusts outside England's ICBs (Welsh trusts) under this code: no ICB, not an error.
NO_ICB_CODES = frozenset({"Q99"})
#: Integrated care boards replaced clinical commissioning groups on this date.
ICB_START = date(2022, 7, 1)


def read_organisations(folder: Path) -> pl.DataFrame:
    """The latest record of every trust across the accepted extracts in `folder` (by
    snapshot date; an extract rejected by `check_icb_snapshot` is left out whole)."""
    paths = sorted(Path(folder).glob("etr*.csv"))
    if not paths:
        raise InputFileError(f"{folder}: no ODS etr*.csv files")
    extracts = accepted_extracts(folder)
    if not extracts:
        raise InputFileError(f"{folder}: no ODS etr*.csv file passed the reference checks")
    frames = [e.frame.with_columns(extract=pl.lit(i)) for i, e in enumerate(sorted(extracts, key=lambda e: e.as_at))]
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


SNAPSHOT_SCHEMA = {"org_code": pl.String, "icb_code": pl.String, "as_at": pl.Date, "source_file": pl.String}


@dataclass(frozen=True)
class Snapshot:
    """One file's organisation -> ICB mapping as at a date (`frame`: the file's rows)."""

    source_file: str
    as_at: date
    dated: str
    frame: pl.DataFrame

    def mapping(self) -> pl.DataFrame:
        """org_code, icb_code, as_at, source_file: organisations with an ICB."""
        return (
            self.frame.select("org_code", "icb_code")
            .with_columns(as_at=pl.lit(self.as_at), source_file=pl.lit(self.source_file))
            .cast(SNAPSHOT_SCHEMA)
            .filter(
                pl.col("icb_code").is_not_null()
                & (pl.col("icb_code") != "")
                & ~pl.col("icb_code").is_in(list(NO_ICB_CODES))
            )
        )


def _vintage_date(label: str) -> date | None:
    """``ICB22 (July 2022)`` -> 2022-07-01; ``2026-04-30`` -> 2026-04-30."""
    label = label.strip()
    try:
        return date.fromisoformat(label)
    except ValueError:
        pass
    found = re.search(r"([A-Za-z]+)\s+(20\d\d)", label)
    if not found:
        return None
    try:
        return dt.datetime.strptime(f"1 {found[1]} {found[2]}", "%d %B %Y").date()
    except ValueError:
        return None


def icb_validity(folder: Path) -> pl.DataFrame:
    """When each known ICB code was an ICB, from the dated lists of ICBs in the reference:
    every vintage of the ICB code crosswalk (``ICB22 (July 2022)``, ...) and every
    provider -> parent ICB extract (as at its ``as_at``).

    A code is valid from ICBs' start (1 July 2022) if the first list has it, else from the
    day after the last list without it; until (not including) the first later list that no
    longer has it, or still. Columns: icb_code, valid_from, valid_to (null = still).
    """
    lists: dict[date, set[str]] = {}
    for path in _files(folder, ICB_CROSSWALK_FILE):
        frame = _read_headed(path, {"icb_ods_code": "icb_code", "vintage": "vintage"})
        for vintage, codes in frame.group_by("vintage").agg(pl.col("icb_code")).iter_rows():
            on = _vintage_date(vintage or "")
            if on is None:
                raise InputFileError(f"{path.name}: cannot read a date from the vintage {vintage!r}")
            lists.setdefault(on, set()).update(c for c in codes if c)
    for path in _files(folder, PROVIDER_ICB_FILE):
        frame = _read_headed(path, {"provider_parent_org_code": "icb_code", "as_at": "as_at"})
        for as_at, codes in frame.group_by("as_at").agg(pl.col("icb_code")).iter_rows():
            on = _vintage_date(as_at or "")
            if on is None:
                raise InputFileError(f"{path.name}: as_at {as_at!r} is not a date (YYYY-MM-DD)")
            lists.setdefault(on, set()).update(c for c in codes if c)
    dates = sorted(lists)
    rows = []
    for code in sorted(set().union(*lists.values()) if lists else set()):
        listed = [i for i, on in enumerate(dates) if code in lists[on]]
        first, last = listed[0], listed[-1]
        earlier_without = [i for i in range(first) if code not in lists[dates[i]]]
        later_without = [i for i in range(last + 1, len(dates)) if code not in lists[dates[i]]]
        valid_from = dates[earlier_without[-1]] + dt.timedelta(days=1) if earlier_without else ICB_START
        rows.append(
            {
                "icb_code": code,
                "valid_from": max(valid_from, ICB_START),
                "valid_to": dates[later_without[0]] if later_without else None,
            }
        )
    return pl.DataFrame(rows, schema={"icb_code": pl.String, "valid_from": pl.Date, "valid_to": pl.Date})


def check_icb_snapshot(snapshot: Snapshot, validity: pl.DataFrame) -> str | None:
    """None if every ICB code of the snapshot is an ICB valid at its date; else the error."""
    mapping = snapshot.mapping()
    if mapping.is_empty():
        return None
    counted = mapping.group_by("icb_code").agg(trusts=pl.len()).join(validity, on="icb_code", how="left")
    valid = (pl.col("valid_from") <= snapshot.as_at) & (
        pl.col("valid_to").is_null() | (pl.col("valid_to") > snapshot.as_at)
    )
    bad = counted.filter(pl.col("valid_from").is_null() | ~valid).sort("icb_code")
    if bad.is_empty():
        return None
    described = []
    for code, trusts, valid_from, valid_to in bad.select("icb_code", "trusts", "valid_from", "valid_to").iter_rows():
        if valid_from is None:
            why = "not a known ICB"
        elif snapshot.as_at < valid_from:
            why = f"an ICB only from {valid_from.isoformat()}"
        else:
            why = f"no longer an ICB by {valid_to.isoformat()}"
        described.append(f"{code} ({trusts} trust{'s' if trusts > 1 else ''}: {why})")
    shown = ", ".join(described[:8]) + (f" and {len(described) - 8} more" if len(described) > 8 else "")
    before_icbs = (
        f" ICBs began on {ICB_START.day} {ICB_START:%B %Y}: an extract from before then holds NHS England "
        "area-team or CCG-era codes (such as Q70-Q84) in that column."
        if snapshot.as_at < ICB_START or bad["valid_from"].is_null().all()
        else ""
    )
    return (
        f"{snapshot.source_file}: rejected as an organisation -> ICB snapshot as at {snapshot.as_at.isoformat()} "
        f"({snapshot.dated}): {bad.height} of its ICB codes are not ICBs valid at that date: {shown}.{before_icbs} "
        "Nothing from this file is used; the other snapshots' mapping stands."
    )


def _snapshots(folder: Path) -> tuple[list[Snapshot], list[tuple[str, str]]]:
    """Every etr and provider -> ICB extract of `folder` as a dated snapshot, and the files
    that could not be read or dated (name, error)."""
    snapshots, unreadable = [], []
    for path in _files(folder, "etr*.csv"):
        try:
            frame = read_etr(path)
            as_at, dated = snapshot_date(path, frame)
        except InputFileError as error:
            unreadable.append((path.name, str(error)))
            continue
        snapshots.append(Snapshot(path.name, as_at, dated, frame))
    for path in _files(folder, PROVIDER_ICB_FILE):
        try:
            frame = _read_headed(
                path, {"provider_org_code": "org_code", "provider_parent_org_code": "icb_code", "as_at": "as_at"}
            ).with_columns(pl.col("as_at").str.to_date("%Y-%m-%d", strict=False))
        except InputFileError as error:
            unreadable.append((path.name, str(error)))
            continue
        for (as_at,), rows in frame.group_by("as_at", maintain_order=True):
            if as_at is None:
                unreadable.append((path.name, f"{path.name}: as_at is not a date (YYYY-MM-DD) on some rows"))
                continue
            snapshots.append(Snapshot(path.name, as_at, "from its as_at column", rows.drop("as_at")))
    return snapshots, unreadable


def checked_snapshots(folder: Path) -> tuple[list[Snapshot], list[tuple[str, str]]]:
    """The snapshots that pass `check_icb_snapshot`, and every rejected file with its error."""
    snapshots, rejected = _snapshots(folder)
    validity = icb_validity(folder)
    accepted = []
    bad_files = set()
    for snapshot in snapshots:
        error = check_icb_snapshot(snapshot, validity)
        if error:
            rejected.append((snapshot.source_file, error))
            bad_files.add(snapshot.source_file)
        else:
            accepted.append(snapshot)
    # A file is accepted or rejected whole.
    return [s for s in accepted if s.source_file not in bad_files], sorted(rejected)


def accepted_extracts(folder: Path) -> list[Snapshot]:
    """The etr extracts that pass the reference checks."""
    return [s for s in checked_snapshots(folder)[0] if s.source_file.startswith("etr")]


def read_icb_snapshots(folder: Path) -> pl.DataFrame:
    """Trust -> ICB as at each snapshot date, from the accepted snapshots: every etr extract
    (column 4) and every provider -> parent ICB extract (its ``as_at`` column). Columns:
    org_code, icb_code, as_at, source_file."""
    return _snapshot_table(checked_snapshots(folder)[0])


def _snapshot_table(snapshots: list[Snapshot]) -> pl.DataFrame:
    if not snapshots:
        return pl.DataFrame(schema=SNAPSHOT_SCHEMA)
    return (
        pl.concat([s.mapping() for s in snapshots])
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
    """Every table of the organisation reference, for the `clean` schema (rejected
    snapshots left out: see `rejected_reference_files`)."""
    return {
        "organisations": read_organisations(folder),
        "organisation_successors": resolve_successors(read_successors(folder)),
        "organisation_icb_snapshots": read_icb_snapshots(folder),
        "icbs": read_icbs(folder),
        "regions": read_regions(folder),
    }


def rejected_reference_files(folder: Path) -> list[tuple[str, str]]:
    """(file, error) for every snapshot file the reference checks rejected."""
    return checked_snapshots(folder)[1]
