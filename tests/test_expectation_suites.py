"""The Great Expectations suites: which columns a validation reads, and that a suite whose
expectations filter rows by a condition still sees the column the condition names."""

from datetime import datetime

import polars as pl
import pytest

from expectations.suites import SuiteSpec, load_suite_specs, validate

pytestmark = pytest.mark.integration

SPECS = {spec.name: spec for spec in load_suite_specs()}


def test_a_suite_reads_only_the_columns_it_names():
    answers = SPECS["clean_diagnostic_answers"]
    # The answers' grain and not-null ids are dbt's tests on stg_diagnostic__answers (each
    # invariant checked once): the suite reads only the columns its expectations name.
    assert set(answers.columns) == {"answer_value", "score_value"}
    assert "source_file" not in answers.columns
    respondents = SPECS["clean_diagnostic_respondents"]
    assert {"wave", "respondent_key"} <= set(respondents.columns)


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


def test_a_suite_validated_in_batches_gives_the_verdict_of_the_whole_table():
    """Batches add up: a `mostly` met over the whole table passes even where one batch alone
    would fail it, an unexpected row in any batch fails a strict expectation, and the row
    count is the total's."""
    from expectations.suites import validate_batches, validates_in_batches

    document = {
        "expectations": [
            {"type": "expect_table_row_count_to_be_between", "kwargs": {"min_value": 10}},
            {"type": "expect_column_values_to_be_between", "kwargs": {"column": "a", "min_value": 0, "mostly": 0.9}},
            {"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "b"}},
        ]
    }
    spec = SuiteSpec("batched", "clean", "t", ("clean", "t"), "", document)
    assert validates_in_batches(spec) and not validates_in_batches(SPECS["clean_monthly_ae"])
    # 1 negative value in 12 rows (8%, within mostly 0.9), all in the first batch of 4 (25%).
    first = pl.DataFrame({"a": [-1, 1, 2, 3], "b": ["x"] * 4})
    rest = pl.DataFrame({"a": list(range(8)), "b": ["y"] * 8})
    outcome = validate_batches(spec, [first, rest])
    assert outcome.success, outcome.failures
    assert validate(spec, pl.concat([first, rest])).success  # the whole table agrees

    with_null = rest.with_columns(b=pl.when(pl.col("a") == 5).then(None).otherwise(pl.col("b")))
    failed = validate_batches(spec, [first, with_null])
    assert [f["expectation"] for f in failed.failures] == ["expect_column_values_to_not_be_null"]
    assert failed.failures[0]["unexpected_count"] == 1

    too_few = validate_batches(spec, [first])  # 4 rows; and 25% negative breaks mostly
    assert {f["expectation"] for f in too_few.failures} == {
        "expect_table_row_count_to_be_between",
        "expect_column_values_to_be_between",
    }


def test_a_suite_validated_by_distinct_values_gives_the_verdict_and_counts_of_every_row(tmp_path):
    """A table validated as its distinct (value, ...) combinations, each counted by DuckDB,
    fails and passes where validating every row does, with the same unexpected counts."""
    from expectations.suites import ROWS_ALIKE, validate_batches
    from orchestration.resources import DuckDBWarehouse

    document = {
        "meta": {"validate": "distinct values"},
        "expectations": [
            {"type": "expect_table_row_count_to_be_between", "kwargs": {"min_value": 1, "max_value": 1_000}},
            {"type": "expect_column_values_to_be_between", "kwargs": {"column": "a", "min_value": 1, "max_value": 5}},
            {"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "b"}},
            {"type": "expect_column_pair_values_a_to_be_greater_than_b", "kwargs": {"column_A": "a", "column_B": "b"}},
        ],
    }
    spec = SuiteSpec("distinct", "clean", "t", ("clean", "t"), "", document)
    assert spec.by_distinct_values
    # Many rows of few combinations: 7 rows with a = 9 (out of range), 3 with b null, 5 with a <= b.
    rows = pl.DataFrame(
        {
            "a": [2] * 400 + [9] * 7 + [3] * 3 + [1] * 5 + [4] * 80,
            "b": [1] * 400 + [1] * 7 + [None] * 3 + [1] * 5 + [0] * 80,
        }
    )
    warehouse = DuckDBWarehouse(path=str(tmp_path / "w.duckdb"))
    with warehouse.connect() as db:
        db.execute("create schema clean")
        db.execute("create table clean.t as select * from rows")
    batches = list(warehouse.read_batches("clean", "t", ("a", "b"), rows=2, counted=ROWS_ALIKE))
    assert sum(f.height for f in batches) == 5 and sum(f[ROWS_ALIKE].sum() for f in batches) == rows.height

    def counts(outcome):
        return {f["expectation"]: f["unexpected_count"] for f in outcome.failures}

    every_row = validate(
        SuiteSpec("rows", "clean", "t", ("clean", "t"), "", {"expectations": document["expectations"]}), rows
    )
    by_values = validate_batches(spec, batches)
    assert counts(by_values) == counts(every_row)
    assert counts(every_row) == {
        "expect_column_values_to_be_between": 7,
        "expect_column_values_to_not_be_null": 3,
        "expect_column_pair_values_a_to_be_greater_than_b": 8,  # a <= b, and b missing (GE's default)
    }
    # The row count is the rows', not the combinations'.
    assert not validate_batches(
        SuiteSpec(
            "few",
            "clean",
            "t",
            ("clean", "t"),
            "",
            {
                **document,
                "expectations": [{"type": "expect_table_row_count_to_be_between", "kwargs": {"max_value": 10}}],
            },
        ),
        batches,
    ).success
    clean = rows.filter((pl.col("a") <= 5) & pl.col("b").is_not_null() & (pl.col("a") > pl.col("b")))
    counted = clean.group_by("a", "b").agg(pl.len().cast(pl.Int64).alias(ROWS_ALIKE)).sort("a", "b")
    assert validate_batches(spec, [counted]).success


def test_a_suite_with_thresholds_cannot_be_validated_by_distinct_values(tmp_path):
    """`mostly` needs the rows a validation counted as missing, which distinct values do not give."""
    import json

    from expectations.suites import load_suite_specs

    document = {
        "name": "thresholds",
        "meta": {"table": "clean.t", "asset_key": ["clean", "t"], "validate": "distinct values"},
        "expectations": [
            {"type": "expect_column_values_to_be_between", "kwargs": {"column": "a", "min_value": 1, "mostly": 0.9}}
        ],
    }
    (tmp_path / "thresholds.json").write_text(json.dumps(document))
    with pytest.raises(ValueError, match=r"thresholds\.json: validated by distinct values.*mostly"):
        load_suite_specs(tmp_path)
    # A suite made in code, not loaded, is refused too.
    from expectations.suites import validate_batches

    spec = SuiteSpec("thresholds", "clean", "t", ("clean", "t"), "", document)
    with pytest.raises(ValueError, match="no expectation may take `mostly`"):
        validate_batches(spec, [pl.DataFrame({"a": [1], "__rows_alike": [3]})])


def test_the_warehouse_streams_a_table_in_batches_of_the_size_asked(tmp_path):
    from orchestration.resources import DuckDBWarehouse

    warehouse = DuckDBWarehouse(path=str(tmp_path / "w.duckdb"))
    with warehouse.connect() as db:
        db.execute("create schema clean; create table clean.t as select range as a from range(25)")
        db.execute("create table clean.empty as select 1 as a where false")
    assert [f.height for f in warehouse.read_batches("clean", "t", ("a",), rows=10)] == [10, 10, 5]
    assert [f.columns for f in warehouse.read_batches("clean", "empty", rows=10)] == [["a"]]
    # DuckDB's own record batches are about 120,000 rows: larger batches are gathered from them.
    with warehouse.connect() as db:
        db.execute("create table clean.big as select range as a from range(600000)")
    batches = list(warehouse.read_batches("clean", "big", rows=250_000))
    assert [f.height for f in batches] == [250_000, 250_000, 100_000]
    assert pl.concat(batches)["a"].to_list() == list(range(600_000))
    # A byte budget: a wide table goes in batches of fewer rows (DuckDB's own, gathered until
    # the budget is reached), and every row arrives once, in order.
    with warehouse.connect() as db:
        db.execute("create table clean.wide as select range as a, range * 2 as b, range * 3 as c from range(600000)")
    wide = list(warehouse.read_batches("clean", "wide", rows=1_000_000, max_bytes=4 * 2**20))
    assert len(wide) > 1 and all(f.height < 600_000 for f in wide)
    assert all(f.estimated_size() < 2 * 4 * 2**20 for f in wide)
    assert pl.concat(wide)["a"].to_list() == list(range(600_000))


def test_a_validated_frame_is_let_go_at_once():
    """GE's execution engine and data source refer to each other and keep the frame
    validated: after a validation no copy of it may stay alive until a full collection."""
    import gc

    import pandas as pd

    n = 54_321
    frame = pl.DataFrame(
        {
            "respondent_key": [f"{i:032x}" for i in range(n)],
            "collaboration_id": ["net"] * n,
            "wave": [1] * n,
            "organisation_code": ["R1H"] * n,
            "submitted_at": [datetime(2024, 5, 1)] * n,
        }
    )
    assert validate(SPECS["clean_diagnostic_respondents"], frame).success
    del frame
    left = [o for o in gc.get_objects() if isinstance(o, pd.DataFrame) and len(o) == n]
    assert left == []


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
    assert not validate(spec, frame.with_columns(partner_code=pl.Series(["RF4", "Royal Free", "RF4"]))).success
