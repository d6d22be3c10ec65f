"""The collaborations file: each collaboration, its member organisations and its waves.

Validated on load with errors that name the file and the entry; flattened into three
tables (collaborations, members, waves) for the warehouse.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl
from pydantic import BaseModel, ConfigDict, Field, model_validator

from ingest.config_files import load_yaml_model


class CollaborationsError(ValueError):
    pass


class Member(BaseModel):
    model_config = ConfigDict(extra="forbid")
    org: str = Field(pattern=r"^[A-Z0-9]{3,6}$")
    joined: dt.date
    left: dt.date | None = None


class Wave(BaseModel):
    model_config = ConfigDict(extra="forbid")
    wave: int = Field(ge=1)
    fieldwork_start: dt.date
    fieldwork_end: dt.date

    @model_validator(mode="after")
    def _ordered(self) -> "Wave":
        if self.fieldwork_end < self.fieldwork_start:
            raise ValueError(f"wave {self.wave}: fieldwork_end is before fieldwork_start")
        return self


class Collaboration(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    name: str
    icb: str
    purpose: str
    #: The diagnostic instrument the collaboration uses (a codebook's instrument_id).
    instrument: str = "collab_health_core"
    members: list[Member] = Field(min_length=1)
    waves: list[Wave] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique(self) -> "Collaboration":
        waves = [w.wave for w in self.waves]
        if len(set(waves)) != len(waves):
            raise ValueError(f"{self.id}: wave numbers repeated")
        orgs = [m.org for m in self.members]
        if len(set(orgs)) != len(orgs):
            raise ValueError(f"{self.id}: member organisations repeated")
        return self


class CollaborationsFile(BaseModel):
    model_config = ConfigDict(extra="forbid")
    collaborations: list[Collaboration] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique_ids(self) -> "CollaborationsFile":
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
                    "instrument_id": c.instrument,
                }
                for c in items
            ]
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
            schema={"collaboration_id": pl.String, "wave": pl.Int32, "fieldwork_start": pl.Date, "fieldwork_end": pl.Date},
        ),
    }
