"""The Great Expectations suites: which columns a validation reads, and that a suite whose
expectations filter rows by a condition still sees the column the condition names."""

import polars as pl
import pytest

from expectations.suites import SuiteSpec, load_suite_specs, validate

pytestmark = pytest.mark.integration

SPECS = {spec.name: spec for spec in load_suite_specs()}


def test_a_suite_reads_only_the_columns_it_names():
    answers = SPECS["clean_diagnostic_answers"]
    assert set(answers.columns) == {
        "collaboration_id",
        "wave",
        "respondent_key",
        "item_id",
        "characteristic_id",
        "answer_value",
        "score_value",
    }
    assert "source_file" not in answers.columns


def test_row_conditions_read_the_columns_they_name_and_blank_rows_are_excused():
    spec = SPECS["raw_diagnostic_rows"]
    assert "is_blank" in spec.columns  # named by the suite's row conditions (GX condition objects)
    assert "source_file" not in spec.columns
    rows = 60
    frame = pl.DataFrame(
        {
            "source_file": ["a.csv"] * rows,
            "source_row": list(range(2, rows + 2)),
            "n_fields": [12] * (rows - 10) + [0] * 10,  # ten blank lines: no fields at all
            "header_fields": [12] * rows,
            "is_blank": [False] * (rows - 10) + [True] * 10,
            "has_respondent_id": [True] * (rows - 10) + [False] * 10,
            "submitted_parsed": [True] * (rows - 10) + [False] * 10,
            "organisation_matched": [True] * (rows - 10) + [False] * 10,
            "wave_parsed": [True] * (rows - 10) + [False] * 10,
            "n_answers_given": [5] * (rows - 10) + [0] * 10,
            "n_answers_unrecognised": [0] * rows,
        }
    )
    outcome = validate(spec, frame)
    assert outcome.success, outcome.failures
    # Without the row condition the blank lines would fail: the same rows, not excused.
    assert not validate(spec, frame.with_columns(is_blank=pl.lit(False))).success


def test_a_string_row_condition_reads_every_column():
    document = {"expectations": [{"type": "x", "kwargs": {"column": "a", "row_condition": "b > 1"}}]}
    assert SuiteSpec("s", "clean", "t", ("clean", "t"), "", document).columns == ()
    nested = {
        "type": "and",
        "conditions": [{"type": "comparison", "column": {"name": "c"}, "operator": ">", "parameter": 1}],
    }
    document = {"expectations": [{"type": "x", "kwargs": {"column": "a", "row_condition": nested}}]}
    assert SuiteSpec("s", "clean", "t", ("clean", "t"), "", document).columns == ("a", "c")


def test_partner_ratings_suite_holds_closeness_to_its_scale():
    spec = SPECS["clean_diagnostic_partner_ratings"]
    frame = pl.DataFrame(
        {
            "collaboration_id": ["net"] * 3,
            "wave": [1] * 3,
            "respondent_key": ["0" * 32] * 3,
            "organisation_code": ["R1H"] * 3,
            "partner_code": ["RF4"] * 3,
            "item_id": ["PC", "PT1", "PV1"],
            "dimension": ["closeness", "trust", "value"],
            "answer_value": [4, 4, 1],
            "layout": ["wide", "wide", "long"],
        }
    )
    assert validate(spec, frame).success
    # Closeness runs 0 (none) to 4 (integration): a 5 fails although a rating of 5 would not.
    assert not validate(spec, frame.with_columns(answer_value=pl.Series([5, 4, 1]))).success
    assert validate(spec, frame.with_columns(answer_value=pl.Series([4, 5, 1]))).success
