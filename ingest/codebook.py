"""Instrument codebooks: what each column of a diagnostic export means.

A codebook is a YAML file (see ``config/instruments/``). It names the respondent fields,
the characteristics, the items (each identified by an exact header or a header pattern,
belonging to one characteristic, possibly reverse-keyed) and the answer scale with its
labels. Adding an instrument means adding a YAML file, not code.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from ingest.config_files import load_yaml_model
from ingest.files import clean_header, normalise_label

#: Respondent fields every export must carry.
REQUIRED_FIELDS = ("respondent_id", "submitted_at", "organisation", "collaboration", "wave")
OPTIONAL_FIELDS = ("role_group",)
#: Fields that may be one value for a whole file (a constant, or taken from the file's name).
FILE_LEVEL_FIELDS = ("organisation", "collaboration", "wave", "role_group")


class CodebookError(ValueError):
    """A codebook file that cannot be used; the message names the file and the problem."""


class ColumnMatch(BaseModel):
    """How a column is found in an export: an exact header or a regular expression."""

    model_config = ConfigDict(extra="forbid")
    header: str | None = None
    pattern: str | None = None

    @model_validator(mode="after")
    def _one_way(self) -> ColumnMatch:
        if (self.header is None) == (self.pattern is None):
            raise ValueError("give exactly one of 'header' or 'pattern'")
        if self.pattern is not None:
            try:
                re.compile(self.pattern)
            except re.error as error:
                raise ValueError(f"pattern {self.pattern!r} is not a valid regular expression: {error}") from error
        return self

    def matches(self, header: str) -> bool:
        if self.header is not None:
            return normalise_label(header) == normalise_label(self.header)
        return re.search(self.pattern, clean_header(header), flags=re.IGNORECASE) is not None

    def describe(self) -> str:
        return repr(self.header) if self.header is not None else f"a header matching /{self.pattern}/"


class FieldSource(BaseModel):
    """Where a respondent field comes from: a column (exact `header` or `pattern`), or for
    a whole file a constant `value` or a value taken `from_filename` by a regular expression
    whose group ``value`` is the field's value: ``'^(?P<value>[a-z_]+)_wave\\d+'``."""

    model_config = ConfigDict(extra="forbid")
    header: str | None = None
    pattern: str | None = None
    value: str | None = None
    from_filename: str | None = None

    @model_validator(mode="after")
    def _one_way(self) -> FieldSource:
        if sum(x is not None for x in (self.header, self.pattern, self.value, self.from_filename)) != 1:
            raise ValueError("give exactly one of 'header', 'pattern', 'value' or 'from_filename'")
        for pattern in (self.pattern, self.from_filename):
            if pattern is not None:
                try:
                    compiled = re.compile(pattern)
                except re.error as error:
                    raise ValueError(f"pattern {pattern!r} is not a valid regular expression: {error}") from error
                if pattern == self.from_filename and "value" not in compiled.groupindex:
                    raise ValueError(f"from_filename {pattern!r} needs a group named value: (?P<value>...)")
        return self

    @property
    def is_column(self) -> bool:
        return self.header is not None or self.pattern is not None

    def column(self) -> ColumnMatch:
        return ColumnMatch(header=self.header, pattern=self.pattern)

    def file_value(self, file_name: str) -> str | None:
        """The field's value for a whole file (None when the file name does not give it)."""
        if self.value is not None:
            return self.value
        found = re.search(self.from_filename or "", file_name)
        return found["value"] if found else None


class Scale(BaseModel):
    model_config = ConfigDict(extra="forbid")
    min: int
    max: int
    labels: dict[str, int]
    missing: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _labels_on_scale(self) -> Scale:
        if self.min >= self.max:
            raise ValueError(f"scale min {self.min} must be below max {self.max}")
        outside = {k: v for k, v in self.labels.items() if not self.min <= v <= self.max}
        if outside:
            raise ValueError(f"labels outside the scale {self.min}..{self.max}: {outside}")
        folded = [normalise_label(label) for label in self.labels]
        clashes = sorted({label for label in folded if folded.count(label) > 1})
        if clashes:
            raise ValueError(f"labels that are the same once case and spacing are ignored: {clashes}")
        both = sorted(set(folded) & {normalise_label(m) for m in self.missing})
        if both:
            raise ValueError(f"labels listed both as answers and as missing: {both}")
        return self

    def label_values(self) -> dict[str, int]:
        return {normalise_label(label): value for label, value in self.labels.items()}

    def missing_labels(self) -> set[str]:
        return {normalise_label(label) for label in self.missing} | {""}


class Characteristic(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str
    description: str = ""
    category: str = ""


class Item(ColumnMatch):
    id: str
    characteristic: str
    reverse: bool = False
    text: str = ""
    #: The item's own answer scale (a scale, or the name of one in the codebook's `scales`),
    #: when it differs from the codebook's. Its answers are rescaled linearly onto the
    #: codebook's scale for scoring: min to min, max to max (see `Codebook.item_scale`).
    scale: Scale | str | None = None


#: Closeness of work between two partner organisations, as the PARTNER tool's levels of
#: collaboration: every partner section's closeness scale runs 0 (none) to 4 (integration).
CLOSENESS_LEVELS = ("none", "awareness", "cooperation", "coordination", "integration")
PARTNER_DIMENSIONS = ("closeness", "trust", "value")


class PartnerItem(BaseModel):
    """A question each respondent answers about each partner organisation.

    `pattern` finds the item's columns in a wide export (one column per partner): a regular
    expression with a group named ``partner`` that captures the partner's ODS code or name
    (see config/instruments/collab_health_core.yaml). `long` finds its one column in a long
    export (one row per respondent and partner)."""

    model_config = ConfigDict(extra="forbid")
    id: str
    dimension: Literal["closeness", "trust", "value"]
    pattern: str
    long: ColumnMatch | None = None
    text: str = ""

    @field_validator("pattern")
    @classmethod
    def _captures_partner(cls, pattern: str) -> str:
        try:
            compiled = re.compile(pattern)
        except re.error as error:
            raise ValueError(f"pattern {pattern!r} is not a valid regular expression: {error}") from error
        if "partner" not in compiled.groupindex:
            raise ValueError(f"pattern {pattern!r} needs a group named partner: (?P<partner>...)")
        return pattern


class LongPartnerLayout(BaseModel):
    """A long export of partner ratings: the codebook's respondent fields, a column naming
    the partner, and one column per partner item (found by the item's `long`)."""

    model_config = ConfigDict(extra="forbid")
    partner: ColumnMatch


class PartnerSection(BaseModel):
    """Relationship items: each respondent rates their own organisation's relationship with
    each partner organisation of the collaboration (closeness, trust, value)."""

    model_config = ConfigDict(extra="forbid")
    #: How closely the organisations work together: labels for 0 (none) to 4 (integration).
    closeness_scale: Scale
    #: The agreement scale of the trust and value items.
    scale: Scale
    #: A trust or value rating at or above this counts as high (trusted, valued); by default
    #: the top third of the scale (3 on a 1-4 scale).
    high_from: float | None = None
    items: list[PartnerItem]
    long: LongPartnerLayout | None = None

    @model_validator(mode="after")
    def _consistent(self) -> PartnerSection:
        if (self.closeness_scale.min, self.closeness_scale.max) != (0, len(CLOSENESS_LEVELS) - 1):
            raise ValueError(
                f"closeness_scale must run 0 to {len(CLOSENESS_LEVELS) - 1} ({', '.join(CLOSENESS_LEVELS)})"
            )
        ids = [item.id for item in self.items]
        repeated = sorted({i for i in ids if ids.count(i) > 1})
        if repeated:
            raise ValueError(f"partner item ids repeated: {', '.join(repeated)}")
        dimensions = [item.dimension for item in self.items]
        if dimensions.count("closeness") != 1:
            raise ValueError("partner items need exactly one closeness item")
        for dimension in ("trust", "value"):
            if dimension not in dimensions:
                raise ValueError(f"partner items need at least one {dimension} item")
        if self.long is not None:
            unfound = [item.id for item in self.items if item.long is None]
            if unfound:
                raise ValueError(f"a long layout needs 'long' on every partner item; missing on {', '.join(unfound)}")
        if self.high_from is not None and not self.scale.min <= self.high_from <= self.scale.max:
            raise ValueError(f"high_from {self.high_from} is outside the scale {self.scale.min}..{self.scale.max}")
        return self

    @property
    def high_threshold(self) -> float:
        """The rating from which trust or value counts as high."""
        if self.high_from is not None:
            return self.high_from
        return self.scale.min + (self.scale.max - self.scale.min) * 2 / 3

    def item_scale(self, item: PartnerItem) -> Scale:
        return self.closeness_scale if item.dimension == "closeness" else self.scale


class Codebook(BaseModel):
    model_config = ConfigDict(extra="forbid")
    instrument_id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    version: str
    name: str
    #: The scale every characteristic is scored on, and every item's unless it has its own.
    scale: Scale
    #: Other answer scales, by name, for items that use them (`scale: three_point`).
    scales: dict[str, Scale] = Field(default_factory=dict)
    fields: dict[str, FieldSource]
    role_groups: list[str] = Field(default_factory=list)
    free_text: list[ColumnMatch] = Field(default_factory=list)
    characteristics: dict[str, Characteristic]
    items: list[Item]
    #: Optional relationship items about each partner organisation (ingest/partner_ratings.py).
    partners: PartnerSection | None = None

    @field_validator("fields")
    @classmethod
    def _known_fields(cls, fields: dict[str, ColumnMatch]) -> dict[str, ColumnMatch]:
        missing = [f for f in REQUIRED_FIELDS if f not in fields]
        unknown = [f for f in fields if f not in REQUIRED_FIELDS + OPTIONAL_FIELDS]
        if missing:
            raise ValueError(f"missing respondent fields: {', '.join(missing)}")
        if unknown:
            raise ValueError(
                f"unknown respondent fields: {', '.join(unknown)} "
                f"(allowed: {', '.join(REQUIRED_FIELDS + OPTIONAL_FIELDS)})"
            )
        fixed = [f for f, source in fields.items() if not source.is_column and f not in FILE_LEVEL_FIELDS]
        if fixed:
            raise ValueError(
                f"{', '.join(fixed)} must come from a column (only {', '.join(FILE_LEVEL_FIELDS)} may be "
                "one value for a whole file)"
            )
        return fields

    @model_validator(mode="after")
    def _items_consistent(self) -> Codebook:
        ids = [item.id for item in self.items]
        repeated = sorted({i for i in ids if ids.count(i) > 1})
        if repeated:
            raise ValueError(f"item ids repeated: {', '.join(repeated)}")
        unknown = sorted({i.characteristic for i in self.items} - set(self.characteristics))
        if unknown:
            raise ValueError(f"items refer to undeclared characteristics: {', '.join(unknown)}")
        empty = sorted(set(self.characteristics) - {i.characteristic for i in self.items})
        if empty:
            raise ValueError(f"characteristics without items: {', '.join(empty)}")
        undeclared = sorted({i.scale for i in self.items if isinstance(i.scale, str)} - set(self.scales))
        if undeclared:
            raise ValueError(f"items name scales not declared under scales: {', '.join(undeclared)}")
        return self

    def item_scale(self, item: Item) -> Scale:
        """The scale an item is answered on (its own, or the codebook's)."""
        if item.scale is None:
            return self.scale
        return self.scales[item.scale] if isinstance(item.scale, str) else item.scale

    @property
    def answer_range(self) -> tuple[int, int]:
        """The lowest and highest answer any item of the codebook can have."""
        scales = [self.item_scale(item) for item in self.items]
        return min(s.min for s in scales), max(s.max for s in scales)

    @model_validator(mode="after")
    def _partner_items_distinct(self) -> Codebook:
        shared = sorted({i.id for i in self.items} & {i.id for i in (self.partners.items if self.partners else [])})
        if shared:
            raise ValueError(f"partner item ids also used by items: {', '.join(shared)}")
        return self


def load_codebook(path: Path) -> Codebook:
    """Load and validate one codebook, with an error that names the file and the problem."""
    return load_yaml_model(path, Codebook, CodebookError, "codebook")


def load_codebooks(folder: Path) -> list[Codebook]:
    """Every ``*.yaml`` codebook in a folder, in file-name order."""
    paths = sorted(Path(folder).glob("*.yaml"))
    if not paths:
        raise CodebookError(f"{folder}: no instrument codebooks (*.yaml) found")
    codebooks = [load_codebook(p) for p in paths]
    ids = [c.instrument_id for c in codebooks]
    if len(set(ids)) != len(ids):
        raise CodebookError(f"{folder}: instrument ids repeated across codebooks: {ids}")
    return codebooks


class ColumnLayout(BaseModel):
    """Where a codebook's fields and items sit in one export's header row (fields that are
    one value for the whole file are not in `fields`: see `FieldSource.file_value`)."""

    codebook: Codebook
    fields: dict[str, int]
    items: dict[str, int]
    free_text: list[int]
    unknown_headers: list[str]


def match_layout(codebook: Codebook, headers: list[str]) -> tuple[ColumnLayout | None, list[str]]:
    """Place a codebook's columns in `headers`; returns the layout or the missing columns."""
    taken: set[int] = set()

    def find(match: ColumnMatch) -> int | None:
        for position, header in enumerate(headers):
            if position not in taken and match.matches(header):
                taken.add(position)
                return position
        return None

    fields, items, missing = {}, {}, []
    for name, source in codebook.fields.items():
        if not source.is_column:
            continue
        match = source.column()
        position = find(match)
        if position is not None:
            fields[name] = position
        elif name in REQUIRED_FIELDS:
            missing.append(f"{name} ({match.describe()})")
    for item in codebook.items:
        position = find(item)
        if position is None:
            missing.append(f"item {item.id} ({item.describe()})")
        else:
            items[item.id] = position
    free_text = [p for m in codebook.free_text if (p := find(m)) is not None]
    unknown = [h for p, h in enumerate(headers) if p not in taken and normalise_label(h)]
    if missing:
        return None, missing
    layout = ColumnLayout(codebook=codebook, fields=fields, items=items, free_text=free_text, unknown_headers=unknown)
    return layout, []
