"""The CSV of `collab-health spc` (ingest/spc_input.py): what it accepts, and a message naming
the row and column for each thing wrong, never a cell's content."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from ingest.spc_input import SpcInputError, read_spc_input

pytestmark = pytest.mark.unit


def write(tmp_path: Path, text: str, name: str = "series.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def problems(tmp_path: Path, text: str) -> list[str]:
    with pytest.raises(SpcInputError) as raised:
        read_spc_input(write(tmp_path, text))
    return str(raised.value).splitlines()


def test_dates_series_settings_and_segment_starts_are_read(tmp_path):
    data = read_spc_input(
        write(
            tmp_path,
            "Series ID,Period,Value,Polarity,Target,New segment,Baseline points\n"
            "a,2024-02-01,12,higher_is_better,0.5,,12\n"
            "a,2024-01-01,10,,,,\n"
            "a,2024-03-01,,,,true,12\n"  # no value: a period without a point
            "b,2024-01-01,7,,,no,\n",
        )
    )
    assert data.points.select("source_row", "series_id", "period", "value").rows() == [
        (2, "a", "2024-02-01", 12.0),
        (3, "a", "2024-01-01", 10.0),
        (4, "a", "2024-03-01", None),
        (5, "b", "2024-01-01", 7.0),
    ]
    assert data.points["period_date"].to_list()[:2] == [dt.date(2024, 2, 1), dt.date(2024, 1, 1)]
    assert data.series.rows() == [("a", "higher_is_better", 0.5, 12), ("b", "neutral", None, None)]
    assert data.segment_starts.rows() == [("a", dt.date(2024, 3, 1))]


def test_integer_positions_keep_their_order(tmp_path):
    data = read_spc_input(write(tmp_path, "series_id,period,value\ns,10,1\ns,-3,2\ns,+7,3\n"))
    dates = data.points["period_date"].to_list()
    assert dates[1] < dates[2] < dates[0]  # -3 < 7 < 10


def test_a_missing_column_is_named(tmp_path):
    assert problems(tmp_path, "series_id,period\na,2024-01-01\n") == ["series.csv: missing column 'value'"]


def test_an_unknown_or_repeated_column_is_named(tmp_path):
    assert problems(tmp_path, "series_id,period,value,polarty,value\na,1,2,x,3\n") == [
        "series.csv: unknown column 'polarty' (expected series_id, period, value, polarity, target, new_segment, "
        "baseline_points)",
        "series.csv: column 'value' appears more than once",
    ]


def test_a_non_numeric_value_names_its_row(tmp_path):
    found = problems(tmp_path, "series_id,period,value\na,2024-01-01,1.5\na,2024-02-01,n/a\na,2024-03-01,inf\n")
    assert found == [
        "series.csv row 3, column value: not a number",
        "series.csv row 4, column value: not a number",
    ]
    assert not any("n/a" in p for p in found)  # the cell itself is not repeated


def test_a_duplicate_period_names_both_rows(tmp_path):
    found = problems(tmp_path, "series_id,period,value\na,2024-01-01,1\nb,2024-01-01,2\na,2024-01-01,3\n")
    assert found == [
        "series.csv row 4, column period: duplicate period: the same series and period as row 2",
    ]


def test_an_unknown_polarity_names_its_row(tmp_path):
    assert problems(tmp_path, "series_id,period,value,polarity\na,1,1,higher_is_better\nb,1,2,up\n") == [
        "series.csv row 3, column polarity: unknown polarity (expected higher_is_better, lower_is_better, neutral)"
    ]


def test_per_series_settings_must_agree(tmp_path):
    found = problems(
        tmp_path,
        "series_id,period,value,polarity,target\n"
        "a,1,1,higher_is_better,5\n"
        "a,2,1,lower_is_better,\n"
        "a,3,1,,6\n"
        "b,1,1,lower_is_better,7\n",
    )
    assert found == [
        "series.csv row 3, column polarity: differs from row 2 of the same series (polarity is per series)",
        "series.csv row 4, column target: differs from row 2 of the same series (the target is per series)",
    ]


def test_every_other_problem_is_listed(tmp_path):
    found = problems(
        tmp_path,
        "series_id,period,value,new_segment,baseline_points,target\n"
        "a,2024-01-01,1,maybe,1,x\n"
        ",2024-02-01,1,,,\n"
        "a,5,1,,,\n"
        "a,,1,,,\n"
        "a,2024-13-01,1,,,\n",
    )
    assert found == [
        "series.csv row 2, column baseline_points: not a whole number of 2 or more",
        "series.csv row 2, column new_segment: not true or false (or empty: false)",
        "series.csv row 2, column target: not a number",
        "series.csv row 3, column series_id: empty",
        "series.csv row 4, column period: every period must be of one kind: row 2 gives an ISO date",
        "series.csv row 5, column period: empty",
        "series.csv row 6, column period: not an ISO date (YYYY-MM-DD) or an integer position",
    ]


def test_a_missing_file_is_named(tmp_path):
    with pytest.raises(SpcInputError, match="no such file"):
        read_spc_input(tmp_path / "absent.csv")
