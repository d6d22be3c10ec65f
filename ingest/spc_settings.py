"""SPC settings (``config/spc.yaml``): the Making Data Count rule parameters, and the dates
after which a series' process limits are recalculated, as tables for dbt."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Literal

import polars as pl
from pydantic import BaseModel, ConfigDict, Field

from ingest.config_files import load_yaml_model


class SpcSettingsError(ValueError):
    pass


class SpcRules(BaseModel):
    model_config = ConfigDict(extra="forbid")
    minimum_points: int = Field(default=13, ge=2, description="No limits or signals with fewer points than this.")
    shift_points: int = Field(default=6, ge=2)
    trend_points: int = Field(default=6, ge=3)
    limit_multiplier: float = Field(default=2.66, gt=0)
    close_to_limit_fraction: float = Field(default=2 / 3, gt=0, lt=1)
    screen_moving_range_outliers: bool = False
    moving_range_outlier_multiplier: float = Field(default=3.267, gt=0)
    baseline_points: int | None = Field(default=None, ge=2)


class ChangePoint(BaseModel):
    model_config = ConfigDict(extra="forbid")
    metric_id: str
    entity_type: Literal["organisation", "collaboration", "icb"] | None = None
    entity_id: str | None = None
    change_month: dt.date
    baseline_points: int | None = Field(default=None, ge=2)
    reason: str = ""


class SpcSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")
    rules: SpcRules = Field(default_factory=SpcRules)
    change_points: list[ChangePoint] = Field(default_factory=list)


def load_spc_settings(path: Path) -> SpcSettings:
    """The settings in `path`, or the Making Data Count defaults when there is no file."""
    path = Path(path)
    if not path.exists():
        return SpcSettings()
    return load_yaml_model(path, SpcSettings, SpcSettingsError, "SPC settings")


def spc_tables(settings: SpcSettings) -> dict[str, pl.DataFrame]:
    rules = settings.rules.model_dump()
    return {
        "spc_settings": pl.DataFrame([rules], schema_overrides={"baseline_points": pl.Int64}),
        "spc_change_points": pl.DataFrame(
            [{**c.model_dump(), "change_month": c.change_month.replace(day=1)} for c in settings.change_points],
            schema={
                "metric_id": pl.String,
                "entity_type": pl.String,
                "entity_id": pl.String,
                "change_month": pl.Date,
                "baseline_points": pl.Int64,
                "reason": pl.String,
            },
        ),
    }
