"""SPC settings (``config/spc.yaml``): a named convention (the rules of one NHS SPC tool),
single rules overridden below it, and the dates after which a series' process limits are
recalculated, as tables for dbt."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any, Literal

import polars as pl
from pydantic import BaseModel, ConfigDict, Field, model_validator

from ingest.config_files import load_yaml_model


class SpcSettingsError(ValueError):
    pass


Convention = Literal["making_data_count", "nhse_sql", "nhsrplotthedots"]
DEFAULT_CONVENTION: Convention = "making_data_count"


class SpcRules(BaseModel):
    """Every rule parameter of the SPC model (int_system_metrics__spc): one row of
    clean.spc_settings."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    minimum_points: int = Field(ge=1, description="No limits or signals in a segment with fewer points than this.")
    shift_points: int = Field(ge=2, description="Consecutive points on one side of the mean that make a shift.")
    trend_points: int = Field(ge=3, description="Consecutive points each above (below) the one before: a trend.")
    limit_multiplier: float = Field(gt=0)
    close_to_limit_fraction: float = Field(gt=0, lt=1)
    screen_moving_range_outliers: bool
    moving_range_outlier_multiplier: float = Field(gt=0)
    moving_range_outlier_inclusive: bool = Field(
        description="Screening also drops a moving range exactly at the multiplier x mR-bar (>=, not >)."
    )
    baseline_points: int | None = Field(ge=2, description="Limits from each segment's first N points only.")
    two_of_three_counts_points_beyond_limits: bool = Field(
        description="A point beyond a process limit counts as one of the two in 'two of three'."
    )
    conflicting_signals: Literal["improvement", "concern", "first_rule"] = Field(
        description="The signal of a point where improvement and concern rules both fire: one of the two, or "
        "the side of the first rule that fires in the order outside limits, trend, two of three, shift."
    )
    rules_cross_recalculation: Literal["none", "trend_only", "all"] = Field(
        description="Which runs (shift, trend, two of three) may continue across a recalculation."
    )
    show_mean_below_minimum_points: bool = Field(
        description="A segment with too few points for limits still shows its mean (centre line)."
    )


_COMMON = {
    "limit_multiplier": 2.66,
    "close_to_limit_fraction": 2 / 3,
    "moving_range_outlier_multiplier": 3.267,
    "baseline_points": None,
}
#: The rules of each convention (see README, "SPC conventions").
CONVENTIONS: dict[str, dict[str, Any]] = {
    # NHS England's Making Data Count Single Chart Tool (v5).
    "making_data_count": {
        **_COMMON,
        "minimum_points": 13,
        "shift_points": 6,
        "trend_points": 6,
        "screen_moving_range_outliers": False,
        "moving_range_outlier_inclusive": False,
        "two_of_three_counts_points_beyond_limits": False,
        "conflicting_signals": "improvement",
        "rules_cross_recalculation": "all",
        "show_mean_below_minimum_points": True,
    },
    # NHS England's SPC SQL (v2.6).
    "nhse_sql": {
        **_COMMON,
        "minimum_points": 13,
        "shift_points": 6,
        "trend_points": 6,
        "screen_moving_range_outliers": False,
        "moving_range_outlier_inclusive": False,
        "two_of_three_counts_points_beyond_limits": True,
        "conflicting_signals": "improvement",
        "rules_cross_recalculation": "trend_only",
        "show_mean_below_minimum_points": False,
    },
    # NHS-R's NHSRplotthedots (0.2).
    "nhsrplotthedots": {
        **_COMMON,
        "minimum_points": 1,
        "shift_points": 7,
        "trend_points": 7,
        "screen_moving_range_outliers": True,
        "moving_range_outlier_inclusive": True,
        "two_of_three_counts_points_beyond_limits": False,
        "conflicting_signals": "first_rule",
        "rules_cross_recalculation": "none",
        "show_mean_below_minimum_points": True,
    },
}


def convention_rules(convention: str) -> SpcRules:
    """The rules of a named convention, with nothing overridden."""
    if convention not in CONVENTIONS:
        raise SpcSettingsError(f"unknown SPC convention {convention!r}: expected one of {', '.join(CONVENTIONS)}")
    return SpcRules.model_validate(CONVENTIONS[convention])


class ChangePoint(BaseModel):
    model_config = ConfigDict(extra="forbid")
    metric_id: str
    entity_type: Literal["organisation", "collaboration", "icb"] | None = None
    entity_id: str | None = None
    change_month: dt.date
    baseline_points: int | None = Field(default=None, ge=2)
    reason: str = ""


class SpcSettings(BaseModel):
    """`convention` sets every rule; a rule given under `rules` overrides the convention's."""

    model_config = ConfigDict(extra="forbid")
    convention: Convention = DEFAULT_CONVENTION
    rules: SpcRules
    change_points: list[ChangePoint] = Field(default_factory=list)

    @model_validator(mode="before")
    @classmethod
    def _convention_then_overrides(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        overrides = data.get("rules") or {}
        if isinstance(overrides, SpcRules) or not isinstance(overrides, dict):
            return data  # rules given whole (or not a mapping: the field reports it)
        # An unknown convention is reported by the `convention` field; the rules then
        # start from the default so that only that error is shown.
        base = CONVENTIONS.get(data.get("convention", DEFAULT_CONVENTION), CONVENTIONS[DEFAULT_CONVENTION])
        return {**data, "rules": {**base, **overrides}}


def load_spc_settings(path: Path) -> SpcSettings:
    """The settings in `path`, or the default convention (Making Data Count) when there is no file."""
    path = Path(path)
    if not path.exists():
        return SpcSettings()
    return load_yaml_model(path, SpcSettings, SpcSettingsError, "SPC settings")


#: Column types of clean.spc_settings (one row: SpcRules) and clean.spc_change_points.
SETTINGS_SCHEMA = {
    "minimum_points": pl.Int64,
    "shift_points": pl.Int64,
    "trend_points": pl.Int64,
    "limit_multiplier": pl.Float64,
    "close_to_limit_fraction": pl.Float64,
    "screen_moving_range_outliers": pl.Boolean,
    "moving_range_outlier_multiplier": pl.Float64,
    "moving_range_outlier_inclusive": pl.Boolean,
    "baseline_points": pl.Int64,
    "two_of_three_counts_points_beyond_limits": pl.Boolean,
    "conflicting_signals": pl.String,
    "rules_cross_recalculation": pl.String,
    "show_mean_below_minimum_points": pl.Boolean,
}
CHANGE_POINTS_SCHEMA = {
    "metric_id": pl.String,
    "entity_type": pl.String,
    "entity_id": pl.String,
    "change_month": pl.Date,
    "baseline_points": pl.Int64,
    "reason": pl.String,
}


def settings_table(rules: SpcRules) -> pl.DataFrame:
    return pl.DataFrame([rules.model_dump()], schema=SETTINGS_SCHEMA)


def spc_tables(settings: SpcSettings) -> dict[str, pl.DataFrame]:
    return {
        "spc_settings": settings_table(settings.rules),
        "spc_change_points": pl.DataFrame(
            [{**c.model_dump(), "change_month": c.change_month.replace(day=1)} for c in settings.change_points],
            schema=CHANGE_POINTS_SCHEMA,
        ),
    }
