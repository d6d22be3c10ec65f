"""The collaborations file: each collaboration, its purpose, members, waves and targets.

Validated on load with errors that name the file and the entry; flattened into tables
(collaborations, members, waves, targets) for the warehouse. A collaboration states the
kinds of value it aims to create (`VALUE_KINDS`) and the metrics that define its success,
each with the direction it wants and, optionally, a target value and date.
"""

from __future__ import annotations

import datetime as dt
import itertools
from pathlib import Path
from typing import Literal

import polars as pl
from pydantic import BaseModel, ConfigDict, Field, model_validator

from ingest.config_files import load_yaml_model
from ingest.metric_catalogue import MetricCatalogue


class CollaborationsError(ValueError):
    pass


class Member(BaseModel):
    model_config = ConfigDict(extra="forbid")
    org: str = Field(pattern=r"^[A-Z0-9]{3,6}$")
    joined: dt.date
    left: dt.date | None = None

    @model_validator(mode="after")
    def _ordered(self) -> Member:
        if self.left is not None and self.left < self.joined:
            raise ValueError(f"member {self.org}: left ({self.left}) is before joined ({self.joined})")
        return self


class Wave(BaseModel):
    model_config = ConfigDict(extra="forbid")
    wave: int = Field(ge=1)
    fieldwork_start: dt.date
    fieldwork_end: dt.date

    @model_validator(mode="after")
    def _ordered(self) -> Wave:
        if self.fieldwork_end < self.fieldwork_start:
            raise ValueError(f"wave {self.wave}: fieldwork_end is before fieldwork_start")
        return self


#: The kinds of value a collaboration may aim to create.
VALUE_KINDS = (
    "better_outcomes",
    "better_patient_experience",
    "better_staff_experience",
    "better_access",
    "efficiency",
    "resilience",
    "reduced_inequalities",
)
ValueKind = Literal[VALUE_KINDS]  # type: ignore[valid-type]


class Target(BaseModel):
    """A metric that defines the collaboration's success, and which way it should move."""

    model_config = ConfigDict(extra="forbid")
    metric: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    direction: Literal["increase", "decrease"]
    value: float | None = None
    by: dt.date | None = None


class Collaboration(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    name: str = Field(min_length=1)
    icb: str
    purpose: str = Field(min_length=1)
    value_kinds: list[ValueKind] = Field(default_factory=list)
    #: The diagnostic instrument the collaboration uses (a codebook's instrument_id): required,
    #: so that no collaboration is scored under one instrument and described under another.
    instrument: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    members: list[Member] = Field(min_length=1)
    waves: list[Wave] = Field(min_length=1)
    targets: list[Target] = Field(default_factory=list)

    @model_validator(mode="after")
    def _unique(self) -> Collaboration:
        waves = [w.wave for w in self.waves]
        if len(set(waves)) != len(waves):
            raise ValueError(f"{self.id}: wave numbers repeated")
        orgs = [m.org for m in self.members]
        if len(set(orgs)) != len(orgs):
            raise ValueError(f"{self.id}: member organisations repeated")
        metrics = [t.metric for t in self.targets]
        if len(set(metrics)) != len(metrics):
            raise ValueError(f"{self.id}: target metrics repeated")
        ordered = sorted(self.waves, key=lambda w: w.wave)
        for earlier, later in itertools.pairwise(ordered):
            if later.fieldwork_start <= earlier.fieldwork_end:
                raise ValueError(
                    f"{self.id}: wave {later.wave} starts ({later.fieldwork_start}) before wave {earlier.wave} ends "
                    f"({earlier.fieldwork_end}); waves are numbered in date order"
                )
        return self


class CollaborationsFile(BaseModel):
    model_config = ConfigDict(extra="forbid")
    collaborations: list[Collaboration] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique_ids(self) -> CollaborationsFile:
        ids = [c.id for c in self.collaborations]
        if len(set(ids)) != len(ids):
            raise ValueError("collaboration ids repeated")
        return self


def load_collaborations(path: Path) -> CollaborationsFile:
    return load_yaml_model(path, CollaborationsFile, CollaborationsError, "collaborations file")


def collaboration_tables(config: CollaborationsFile) -> dict[str, pl.DataFrame]:
    """Flatten the file into the `collaborations`, `collaboration_members` and `collaboration_waves` tables."""
    items = config.collaborations
    return {
        "collaborations": pl.DataFrame(
            [
                {
                    "collaboration_id": c.id,
                    "name": c.name,
                    "icb_code": c.icb,
                    "purpose": c.purpose,
                    "value_kinds": ", ".join(c.value_kinds),
                    "instrument_id": c.instrument,
                }
                for c in items
            ]
        ),
        "collaboration_targets": pl.DataFrame(
            [
                {
                    "collaboration_id": c.id,
                    "metric_id": t.metric,
                    "direction": t.direction,
                    "target_value": t.value,
                    "target_date": t.by,
                }
                for c in items
                for t in c.targets
            ],
            schema={
                "collaboration_id": pl.String,
                "metric_id": pl.String,
                "direction": pl.String,
                "target_value": pl.Float64,
                "target_date": pl.Date,
            },
        ),
        "collaboration_members": pl.DataFrame(
            [
                {"collaboration_id": c.id, "org_code": m.org, "joined_on": m.joined, "left_on": m.left}
                for c in items
                for m in c.members
            ],
            schema={"collaboration_id": pl.String, "org_code": pl.String, "joined_on": pl.Date, "left_on": pl.Date},
        ),
        "collaboration_waves": pl.DataFrame(
            [
                {
                    "collaboration_id": c.id,
                    "wave": w.wave,
                    "fieldwork_start": w.fieldwork_start,
                    "fieldwork_end": w.fieldwork_end,
                }
                for c in items
                for w in c.waves
            ],
            schema={
                "collaboration_id": pl.String,
                "wave": pl.Int32,
                "fieldwork_start": pl.Date,
                "fieldwork_end": pl.Date,
            },
        ),
    }


def check_instruments(config: CollaborationsFile, instruments: set[str], path: Path) -> None:
    """Every collaboration names an instrument whose codebook exists; the error names each
    collaboration that does not."""
    problems = [
        f"collaboration {c.id!r}: instrument {c.instrument!r} has no codebook"
        for c in config.collaborations
        if c.instrument not in instruments
    ]
    if problems:
        raise CollaborationsError(
            f"{path}: {'; '.join(problems)} (codebooks in the instruments folder: {', '.join(sorted(instruments))})"
        )


def check_target_metrics(config: CollaborationsFile, catalogue: MetricCatalogue, path: Path) -> None:
    """Every target names a metric of the catalogue (monthly or yearly: outcome windows
    follow the metric's period grain); the error lists each target that does not."""
    known = {m.id for m in catalogue.metrics}
    problems = [
        f"{c.id}: {t.metric} is not in the metric catalogue"
        for c in config.collaborations
        for t in c.targets
        if t.metric not in known
    ]
    if problems:
        raise CollaborationsError(f"{path}: {'; '.join(problems)}. Metrics: {', '.join(sorted(known))}")
