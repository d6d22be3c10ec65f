"""SPC conventions in config/spc.yaml (issue 14): each named convention sets every rule as the
issue's table says, a single rule can be overridden, and bad settings are named."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from ingest.metric_catalogue import MetricCatalogue
from ingest.spc_settings import (
    CONVENTIONS,
    SETTINGS_SCHEMA,
    SpcRules,
    SpcSettings,
    SpcSettingsError,
    convention_rules,
    load_spc_settings,
    settings_table,
)

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parent.parent

#: The issue's table, rule by rule (limit_multiplier, close_to_limit_fraction and
#: moving_range_outlier_multiplier are 2.66, 2/3 and 3.267 in all three).
TABLE = {
    "making_data_count": {
        "shift_points": 6,
        "trend_points": 6,
        "screen_moving_range_outliers": False,
        "two_of_three_counts_points_beyond_limits": False,
        "conflicting_signals": "improvement",
        "rules_cross_recalculation": "all",
        "minimum_points": 13,
        "show_mean_below_minimum_points": True,
    },
    "nhse_sql": {
        "shift_points": 6,
        "trend_points": 6,
        "screen_moving_range_outliers": False,
        "moving_range_outlier_inclusive": False,  # its option drops MR > 3.267 x mean MR
        "two_of_three_counts_points_beyond_limits": True,
        "rules_cross_recalculation": "trend_only",
        "minimum_points": 13,
        "show_mean_below_minimum_points": False,
    },
    "nhsrplotthedots": {
        "shift_points": 7,
        "trend_points": 7,
        "screen_moving_range_outliers": True,
        "moving_range_outlier_inclusive": True,  # MR >= 3.267 x mean MR dropped
        "two_of_three_counts_points_beyond_limits": False,
        "conflicting_signals": "first_rule",
        "rules_cross_recalculation": "none",
        "minimum_points": 1,
    },
}


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "spc.yaml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize("convention", sorted(TABLE))
def test_each_convention_sets_the_behaviours_of_the_table(convention):
    rules = convention_rules(convention)
    assert {name: getattr(rules, name) for name in TABLE[convention]} == TABLE[convention]
    assert (rules.limit_multiplier, rules.close_to_limit_fraction, rules.moving_range_outlier_multiplier) == (
        2.66,
        2 / 3,
        3.267,
    )
    assert rules.baseline_points is None
    assert set(CONVENTIONS) == set(TABLE)


def test_making_data_count_is_the_default_and_the_bundled_configuration():
    assert SpcSettings().convention == "making_data_count"
    assert SpcSettings().rules == convention_rules("making_data_count")
    assert load_spc_settings(ROOT / "no_such_spc.yaml").rules == convention_rules("making_data_count")
    bundled = load_spc_settings(ROOT / "config" / "spc.yaml")
    assert bundled.convention == "making_data_count"
    assert bundled.rules == convention_rules("making_data_count")  # the file overrides nothing
    assert len(bundled.change_points) == 4


def test_a_single_rule_overrides_its_convention(tmp_path):
    settings = load_spc_settings(write(tmp_path, "convention: nhsrplotthedots\nrules:\n  shift_points: 8\n"))
    assert settings.rules.shift_points == 8
    # the rest is the convention's
    assert settings.rules.model_dump(exclude={"shift_points"}) == convention_rules("nhsrplotthedots").model_dump(
        exclude={"shift_points"}
    )
    # an empty `rules:` (the bundled file's) overrides nothing
    assert load_spc_settings(write(tmp_path, "convention: nhse_sql\nrules:\n")).rules == convention_rules("nhse_sql")


@pytest.mark.parametrize(
    ("rule", "value"),
    [
        ("two_of_three_counts_points_beyond_limits", True),
        ("conflicting_signals", "concern"),
        ("conflicting_signals", "first_rule"),
        ("rules_cross_recalculation", "none"),
        ("rules_cross_recalculation", "trend_only"),
        ("show_mean_below_minimum_points", False),
        ("moving_range_outlier_inclusive", True),
        ("minimum_points", 1),
    ],
)
def test_each_new_setting_can_be_set_on_the_default_convention(tmp_path, rule, value):
    text = f"rules:\n  {rule}: {str(value).lower() if isinstance(value, bool) else value}\n"
    rules = load_spc_settings(write(tmp_path, text)).rules
    assert getattr(rules, rule) == value
    assert settings_table(rules).row(0, named=True)[rule] == value


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ("convention: mdc\n", r"convention: Input should be 'making_data_count', 'nhse_sql' or 'nhsrplotthedots'"),
        ("rules:\n  conflicting_signals: worst\n", r"rules\.conflicting_signals: Input should be 'improvement'"),
        ("rules:\n  rules_cross_recalculation: some\n", r"rules\.rules_cross_recalculation: Input should be 'none'"),
        ("rules:\n  minimum_points: 0\n", r"rules\.minimum_points: Input should be greater than or equal to 1"),
        ("rules:\n  shift_point: 7\n", r"rules\.shift_point: Extra inputs are not permitted"),
    ],
)
def test_a_bad_setting_is_named(tmp_path, text, named):
    with pytest.raises(SpcSettingsError, match=named):
        load_spc_settings(write(tmp_path, text))


def test_the_settings_table_matches_the_rules_and_the_staging_model():
    staging = (ROOT / "dbt_project" / "models" / "staging" / "stg_config__spc_settings.sql").read_text()
    assert list(SETTINGS_SCHEMA) == list(SpcRules.model_fields)
    assert re.findall(r"\) as (\w+)", staging) == list(SpcRules.model_fields)
    assert settings_table(convention_rules("nhse_sql")).height == 1


def test_a_neutral_metric_may_have_a_target():
    catalogue = MetricCatalogue.model_validate(
        {
            "metrics": [
                {
                    "id": "m",
                    "name": "M",
                    "domain": "activity",
                    "unit": "count",
                    "polarity": "neutral",
                    "target": 100,
                    "description": "d",
                    "sources": {"ae_tidy": {"numerator": "attendances"}},
                }
            ]
        }
    )
    assert catalogue.metrics[0].target == 100  # the SPC model gives it no assurance (dbt unit test)
