"""Publication layouts: how to read one NHS publication, declared in YAML (``config/layouts/``).

One file per layout; its name (``monthly_ae.yaml``) is the source's name and its clean
table's (``clean.monthly_ae``). A layout says which file types the publication comes in (a
CSV, a sheet of an XLSX workbook, a CSV inside a zip), how each column is found (by header,
any of several spellings, or by a regular expression), which column holds the organisation
code and which the period (or that the period is in the file name) and how to parse it,
whether an organisation and period has one row (wide) or several told apart by category
columns (long), which rows are totals to drop (and check), and which of two files giving
the same row wins. Every other column is a measure, or ignored. See README, "Configuration".
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from ingest.config_files import load_yaml_model
from ingest.files import normalise_label

IDENTIFIER = r"^[a-z][a-z0-9_]*$"
#: Columns of every clean table that a layout may not name itself.
READER_COLUMNS = frozenset(
    {"org_code", "period", "period_start", "period_grain", "source_file", "source_row"}
    | {"n_fields", "extra_fields", "swallowed_rows"}
)
#: Sources read by their own code, and warehouse tables a layout's clean table must not replace.
RESERVED_NAMES = frozenset(
    {
        "diagnostic_exports",
        "diagnostic_respondents",
        "diagnostic_answers",
        "instrument_characteristics",
        "instrument_items",
        "diagnostic_partner_ratings",
        "instrument_partner_items",
        "organisations",
        "organisation_successors",
        "organisation_icb_snapshots",
        "icbs",
        "regions",
        "collaborations",
        "collaboration_members",
        "collaboration_waves",
        "collaboration_targets",
        "metric_values",
        "metric_catalogue",
        "metric_definitions",
        "publication_names",
        "spc_settings",
        "spc_change_points",
    }
)
#: Period format directives and what they match.
DIRECTIVES = {
    "%Y": r"(?P<year>(?:19|20)\d\d)",
    "%m": r"(?P<month>\d{1,2})",
    "%d": r"(?P<day>\d{1,2})",
    "%B": r"(?P<month_name>[A-Za-z]+)",
    "%b": r"(?P<month_name>[A-Za-z]+)",
}
#: Suffix of each file type.
FILE_SUFFIXES = {"csv": ".csv", "xlsx": ".xlsx", "zip": ".zip"}


class LayoutError(ValueError):
    """A layout that cannot be used; the message names the file and the entry."""


def period_regex(format_: str) -> str:
    """A period format (``MSitAE-%B-%Y``) as a regular expression with named groups."""
    parts = re.split(r"(%[A-Za-z%])", format_)
    out = []
    for part in parts:
        if part in DIRECTIVES:
            out.append(DIRECTIVES[part])
        elif part == "%%":
            out.append("%")
        elif re.fullmatch(r"%[A-Za-z]", part):
            raise ValueError(f"period format {format_!r}: {part} is not supported (use {', '.join(DIRECTIVES)})")
        else:
            out.append(re.escape(part))
    return "".join(out)


class SumOf(BaseModel):
    """A measure that is the sum of every column a pattern picks, optionally only those whose
    numbers (named groups of the pattern) lie within bounds: week bands up to 18, say."""

    model_config = ConfigDict(extra="forbid")
    pattern: str
    at_least: dict[str, int] = Field(default_factory=dict)
    at_most: dict[str, int] = Field(default_factory=dict)
    #: How many columns the pattern must pick: a file that differs is rejected.
    columns: int | None = Field(default=None, ge=1)
    #: Empty cells count as zero (a publication that leaves a band blank where no one waited
    #: that long), so the sum is never empty. Otherwise a row with every cell empty has no sum.
    empty_is_zero: bool = False

    @model_validator(mode="after")
    def _valid(self) -> SumOf:
        try:
            groups = set(re.compile(self.pattern).groupindex)
        except re.error as error:
            raise ValueError(f"pattern {self.pattern!r} is not a valid regular expression: {error}") from error
        unknown = sorted((set(self.at_least) | set(self.at_most)) - groups)
        if unknown:
            raise ValueError(f"bounds name groups the pattern does not have: {', '.join(unknown)}")
        return self

    def picks(self, header: str) -> bool:
        found = re.search(self.pattern, header.strip(), flags=re.IGNORECASE)
        if not found:
            return False
        for group, bound in self.at_least.items():
            if found[group] is None or int(found[group]) < bound:
                return False
        return all(found[g] is not None and int(found[g]) <= bound for g, bound in self.at_most.items())


class LayoutColumn(BaseModel):
    """One column: found by header (one spelling or a list; case, spacing and curly quotes
    ignored) or by a regular expression, with the role it plays."""

    model_config = ConfigDict(extra="forbid")
    header: str | list[str] | None = None
    pattern: str | None = None
    role: Literal["organisation", "period", "category", "text", "measure"] = "measure"
    #: A file without it is rejected, and so is a row with the measure empty (unless
    #: `empty_allowed`). Default: yes for organisation, period and category columns.
    required: bool | None = None
    #: A required measure whose cells may be empty (a publication leaves it blank for some rows).
    empty_allowed: bool = False
    sum_of: SumOf | None = None

    @model_validator(mode="after")
    def _one_way(self) -> LayoutColumn:
        ways = [self.header is not None, self.pattern is not None, self.sum_of is not None]
        if sum(ways) != 1:
            raise ValueError("give exactly one of 'header', 'pattern' or 'sum_of'")
        if self.sum_of is not None and self.role != "measure":
            raise ValueError("'sum_of' makes a measure")
        if self.pattern is not None:
            try:
                re.compile(self.pattern)
            except re.error as error:
                raise ValueError(f"pattern {self.pattern!r} is not a valid regular expression: {error}") from error
        if self.required is False and self.role in ("organisation", "period", "category"):
            raise ValueError(f"a {self.role} column is always required")
        return self

    @property
    def is_required(self) -> bool:
        return self.required if self.required is not None else self.role in ("organisation", "period", "category")

    @property
    def headers(self) -> list[str]:
        return [self.header] if isinstance(self.header, str) else list(self.header or [])

    def matches(self, header: str) -> bool:
        if self.pattern is not None:
            return re.search(self.pattern, header.strip(), flags=re.IGNORECASE) is not None
        return normalise_label(header) in {normalise_label(h) for h in self.headers}

    def describe(self) -> str:
        if self.pattern is not None:
            return f"a header matching /{self.pattern}/"
        if self.sum_of is not None:
            return f"headers matching /{self.sum_of.pattern}/"
        return repr(self.headers[0])


class FileSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")
    types: list[Literal["csv", "xlsx", "zip"]] = Field(default_factory=lambda: ["csv", "xlsx"], min_length=1)
    #: XLSX: the sheet to read, by name or position (0 = the first).
    sheet: str | int = 0
    #: Zip: the member to read (a glob); macOS metadata (``__MACOSX/``) and hidden entries are skipped.
    member: str = "*.csv"

    @property
    def suffixes(self) -> tuple[str, ...]:
        return tuple(FILE_SUFFIXES[t] for t in self.types)


class PeriodSpec(BaseModel):
    """How the period is read: from the `period` column, or (`from_filename`) from the file's
    name, with one or more formats (``%Y`` year, ``%m`` month number, ``%B``/``%b`` month
    name or abbreviation, ``%d`` day; other characters literal; case ignored)."""

    model_config = ConfigDict(extra="forbid")
    format: str | list[str]
    grain: Literal["month", "year"]
    from_filename: bool = False
    #: How a bad period is described in a quarantine reason ("period is not <describe>").
    describe: str | None = None

    @property
    def formats(self) -> list[str]:
        return [self.format] if isinstance(self.format, str) else list(self.format)

    @model_validator(mode="after")
    def _valid(self) -> PeriodSpec:
        for format_ in self.formats:
            regex = period_regex(format_)
            groups = set(re.compile(regex).groupindex)
            if "year" not in groups:
                raise ValueError(f"period format {format_!r} has no year (%Y)")
            if self.grain == "month" and not groups & {"month", "month_name"}:
                raise ValueError(f"period format {format_!r} has no month (%m, %B or %b) for a monthly period")
        return self

    @property
    def description(self) -> str:
        return self.describe or "of the form " + " or ".join(repr(f) for f in self.formats)


class TotalRule(BaseModel):
    """A row that is a total: one whose `columns` say `label` (case and spacing ignored), one
    whose `column` equals one of `equals`, or one equal in each of `sum_of_other_rows` to
    the sum of all the file's other rows (whatever its label)."""

    model_config = ConfigDict(extra="forbid")
    label: str | None = None
    columns: list[str] = Field(default_factory=list)
    column: str | None = None
    equals: str | list[str] | None = None
    sum_of_other_rows: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _one_kind(self) -> TotalRule:
        kinds = [self.label is not None, self.column is not None, bool(self.sum_of_other_rows)]
        if sum(kinds) != 1:
            raise ValueError(
                "a total rule gives one of 'label' (with 'columns'), 'column' (with 'equals') or 'sum_of_other_rows'"
            )
        if self.label is not None and not self.columns:
            raise ValueError("a 'label' rule names the 'columns' to look in")
        if self.column is not None and self.equals is None:
            raise ValueError("a 'column' rule gives the value it 'equals'")
        return self

    @property
    def values(self) -> list[str]:
        return [self.equals] if isinstance(self.equals, str) else list(self.equals or [])


class Totals(BaseModel):
    """Total rows: set aside (never stored) with `reason`, and checked: each total equals the
    sum of the stored rows that share its values of `within` ([] = the whole file; list
    `period` when a file holds several periods), within `tolerance`, in every measure."""

    model_config = ConfigDict(extra="forbid")
    rows: list[TotalRule] = Field(min_length=1)
    reason: str = "total row: derived from the other rows, not stored"
    within: list[str] = Field(default_factory=list)
    tolerance: float = Field(default=0.0, ge=0)


class Measures(BaseModel):
    model_config = ConfigDict(extra="forbid")
    #: count: whole non-negative numbers; number: any number.
    type: Literal["count", "number"] = "number"
    #: What a bad value costs: the row (quarantined) or the cell (blanked; the row is kept).
    #: Default: the row for counts, the cell for numbers.
    bad_value: Literal["row", "cell"] | None = None
    #: Columns not declared: measures named by their header in snake case, or ignored.
    other_columns: Literal["measure", "ignore"] = "measure"
    #: Cell texts that mean "no value" (besides an empty cell). Default: common
    #: publication markers (NA, -, *, ..) for numbers, none for counts.
    missing_values: list[str] | None = None

    @property
    def bad_value_costs(self) -> str:
        return self.bad_value or ("row" if self.type == "count" else "cell")

    @property
    def missing_markers(self) -> list[str]:
        if self.missing_values is not None:
            return sorted({normalise_label(v) for v in self.missing_values} | {""})
        return ["", "na", "n/a", "<na>", "nan", "-", "*", "..", ":", "null"] if self.type == "number" else [""]


class Revisions(BaseModel):
    """Two files giving the same row (a revised file beside the original): a file whose name
    matches `prefer` wins, then the file whose name sorts last (or first)."""

    model_config = ConfigDict(extra="forbid")
    prefer: str = "revised"
    then: Literal["last_file_name", "first_file_name"] = "last_file_name"

    @field_validator("prefer")
    @classmethod
    def _valid(cls, pattern: str) -> str:
        try:
            re.compile(pattern)
        except re.error as error:
            raise ValueError(f"pattern {pattern!r} is not a valid regular expression: {error}") from error
        return pattern


class Layout(BaseModel):
    model_config = ConfigDict(extra="forbid")
    #: Says what the file should be, in "not <title>" errors: "a Monthly A&E file".
    title: str
    description: str = ""
    #: A required source must have files: with none the run fails (else it loads empty).
    required: bool = False
    files: FileSpec = Field(default_factory=FileSpec)
    period: PeriodSpec
    #: wide: one row per organisation and period; long: several, told apart by category columns.
    grain: Literal["wide", "long"] = "wide"
    columns: dict[str, LayoutColumn]
    measures: Measures = Field(default_factory=Measures)
    #: Headers that are not measures (labels, placeholders): ignored, and listed as ignored.
    ignore: list[str] = Field(default_factory=list)
    totals: Totals | None = None
    revisions: Revisions = Field(default_factory=Revisions)
    #: Set by `load_layout`: the layout's (and its source's) name.
    name: str = ""

    def role(self, role: str) -> dict[str, LayoutColumn]:
        return {name: column for name, column in self.columns.items() if column.role == role}

    @property
    def categories(self) -> list[str]:
        return list(self.role("category"))

    @property
    def text_columns(self) -> list[str]:
        return list(self.role("text"))

    @property
    def declared_measures(self) -> list[str]:
        return list(self.role("measure"))

    @property
    def keys(self) -> list[str]:
        """What identifies a row: organisation, period and the categories."""
        return ["org_code", "period_start", *self.categories]

    @model_validator(mode="after")
    def _consistent(self) -> Layout:
        for name in self.columns:
            if not re.match(IDENTIFIER, name):
                raise ValueError(f"column name {name!r}: use lower case letters, digits and _")
        organisation = self.role("organisation")
        if list(organisation) != ["org_code"]:
            raise ValueError("exactly one column has role organisation, and it is named org_code")
        period = self.role("period")
        if self.period.from_filename:
            if period:
                raise ValueError("the period comes from the file name: no column may have role period")
        elif list(period) != ["period"]:
            raise ValueError("exactly one column has role period, and it is named period (or period: from_filename)")
        taken = sorted(set(self.columns) & (READER_COLUMNS - {"org_code", "period"}))
        if taken:
            raise ValueError(f"column names the reader uses itself: {', '.join(taken)}")
        if self.grain == "long" and not self.categories:
            raise ValueError("a long layout has at least one column with role category")
        if self.grain == "wide" and self.categories:
            raise ValueError("a wide layout has no category columns (use grain: long)")
        if self.totals:
            known = set(self.columns) | {"org_code"}
            for rule in self.totals.rows:
                named = [*rule.columns, *([rule.column] if rule.column else []), *rule.sum_of_other_rows]
                unknown = sorted(set(named) - known)
                if unknown:
                    raise ValueError(f"total rule names columns the layout does not declare: {', '.join(unknown)}")
                not_measures = sorted(set(rule.sum_of_other_rows) - set(self.declared_measures))
                if not_measures:
                    raise ValueError(
                        f"sum_of_other_rows names columns that are not measures: {', '.join(not_measures)}"
                    )
            allowed = {"period", "org_code", *self.categories, *self.text_columns}
            outside = sorted(set(self.totals.within) - allowed)
            if outside:
                raise ValueError(
                    f"totals.within names columns that are not the period, organisation, a category or text: {outside}"
                )
        return self


def load_layout(path: Path) -> Layout:
    path = Path(path)
    layout = load_yaml_model(path, Layout, LayoutError, "publication layout")
    name = path.stem
    if not re.match(IDENTIFIER, name):
        raise LayoutError(f"{path}: a layout's file name is its source's name: use lower case letters, digits and _")
    if name in RESERVED_NAMES:
        raise LayoutError(f"{path}: {name!r} is the name of a source or table the project reads itself")
    return layout.model_copy(update={"name": name})


def load_layouts(folder: Path) -> dict[str, Layout]:
    """Every ``*.yaml`` layout in `folder` (none when the folder does not exist), by name."""
    folder = Path(folder)
    if not folder.is_dir():
        return {}
    return {layout.name: layout for layout in (load_layout(p) for p in sorted(folder.glob("*.yaml")))}
