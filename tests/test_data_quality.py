"""The run summary's data-quality lines (orchestration/data_quality.py), on a small
warehouse written here: the files that loaded nothing, with their top reason, and the
data warnings."""

import duckdb
import pytest

from orchestration.data_quality import attention_lines, files_without_clean_rows

pytestmark = pytest.mark.unit


@pytest.fixture
def warehouse():
    db = duckdb.connect()
    db.execute("create schema audit; create schema quarantine; create schema marts")
    db.execute(
        "create table audit.file_loads (source varchar, source_file varchar, sha256 varchar, status varchar, "
        "rows_read bigint, rows_clean bigint, rows_quarantined bigint, error varchar)"
    )
    db.execute(
        """insert into audit.file_loads values
        ('monthly_ae', 'good.csv', 'a', 'loaded', 10, 9, 1, null),
        ('monthly_ae', 'tidy.csv', 'b', 'loaded', 3, 0, 3, null),
        ('monthly_ae', 'header.csv', 'c', 'loaded', 0, 0, 0, null),
        ('monthly_ae', 'binary.csv', 'd', 'rejected', null, null, null, 'binary.csv: not a CSV'),
        ('diagnostic_exports', 'w1.csv', 'e', 'loaded', 5, 3, 2, null)"""
    )
    db.execute(
        "create table quarantine.monthly_ae (source_file varchar, source_row bigint, column_name varchar, "
        "value varchar, reason varchar, scope varchar)"
    )
    db.execute(
        """insert into quarantine.monthly_ae values
        ('good.csv', 4, null, null, 'national total row: derived from the organisation rows, not stored', 'row'),
        ('tidy.csv', 2, 'period', null, 'period is not of the form MSitAE-<MONTH>-<YEAR>', 'row'),
        ('tidy.csv', 3, 'period', null, 'period is not of the form MSitAE-<MONTH>-<YEAR>', 'row'),
        ('tidy.csv', 4, 'org_code', null, 'organisation code is empty', 'row'),
        ('tidy.csv', 4, 'period', null, 'period is not of the form MSitAE-<MONTH>-<YEAR>', 'row'),
        ('binary.csv', null, null, null, 'binary.csv: not a CSV', 'file')"""
    )
    db.execute(
        "create table quarantine.diagnostic_exports (source_file varchar, source_row bigint, column_name varchar, "
        "value varchar, reason varchar, scope varchar)"
    )
    db.execute(
        """insert into quarantine.diagnostic_exports values
        ('w1.csv', 3, 'respondent_id', null, 'superseded by a later submission from the same respondent (w1.csv row 5)', 'row'),
        ('w1.csv', 4, 'respondent_id', null, 'superseded by a later submission from the same respondent (w1.csv row 6)', 'row'),
        ('w1.csv', 2, 'SP1', null, 'answer not on the collab_health_core scale; treated as missing', 'cell')"""
    )
    db.execute(
        "create table marts.data_warnings (collaboration_id varchar, org_code varchar, metric_id varchar, message varchar)"
    )
    db.execute(
        "insert into marts.data_warnings values ('c', 'RAP', 'm', 'RAP has not reported m since September 2024: ...')"
    )
    yield db
    db.close()


def test_files_that_loaded_nothing_are_named_with_their_top_reason(warehouse):
    empty = files_without_clean_rows(warehouse, "monthly_ae")
    assert [e.message for e in empty] == [
        "header.csv: no data rows (a header only?), so nothing from it was loaded",
        # Row 4 has two reasons: the rows count once each; the top reason covers 3 rows.
        "tidy.csv: all 3 rows quarantined, none loaded; top reason: period is not of the form "
        "MSitAE-<MONTH>-<YEAR> (3 rows)",
    ]
    assert files_without_clean_rows(warehouse, "diagnostic_exports") == []


def test_attention_lines_name_files_that_loaded_nothing_then_the_warnings(warehouse):
    warehouse.execute(
        "insert into audit.file_loads values ('diagnostic_exports', 'w2.csv', 'f', 'loaded', 2, 0, 2, null)"
    )
    warehouse.execute(
        """insert into quarantine.diagnostic_exports values
        ('w2.csv', 2, 'respondent_id', null, 'superseded by a later submission from the same respondent (w1.csv row 5)', 'row'),
        ('w2.csv', 3, 'respondent_id', null, 'superseded by a later submission from the same respondent (w1.csv row 9)', 'row')"""
    )
    assert attention_lines(warehouse) == [
        # The kept row's file and number differ: one kind of reason all the same.
        "NOTHING LOADED from diagnostic_exports file w2.csv: all 2 rows quarantined, none loaded; "
        "top reason: superseded by a later submission from the same respondent (2 rows)",
        "NOTHING LOADED from monthly_ae file header.csv: no data rows (a header only?), so nothing from it was loaded",
        "NOTHING LOADED from monthly_ae file tidy.csv: all 3 rows quarantined, none loaded; top reason: "
        "period is not of the form MSitAE-<MONTH>-<YEAR> (3 rows)",
        "Warning: RAP has not reported m since September 2024: ...",
    ]


def test_the_run_summary_counts_row_reasons_by_kind_and_prints_a_rejected_file_whole(tmp_path):
    from orchestration.cli import quarantine_summary

    path = tmp_path / "warehouse.duckdb"
    with duckdb.connect(str(path)) as db:
        db.execute("create schema quarantine")
        db.execute(
            "create table quarantine.organisations (source_file varchar, source_row bigint, reason varchar, scope varchar)"
        )
        db.execute(
            "insert into quarantine.organisations values "
            "('etr_2019-04.csv', null, 'etr_2019-04.csv: rejected: 15 of its ICB codes are not ICBs', 'file'), "
            "('a.csv', 2, 'superseded (a.csv row 7)', 'row'), ('a.csv', 3, 'superseded (a.csv row 9)', 'row'), "
            "('a.csv', 4, 'wave is not a whole number (1 to 3 digits)', 'row')"
        )
    [(source, rows, files, reasons)] = quarantine_summary(path)
    assert (source, rows, files) == ("organisations", 3, 1)
    assert reasons == [
        ("superseded", 2),
        ("etr_2019-04.csv: rejected: 15 of its ICB codes are not ICBs", 1),
        ("wave is not a whole number", 1),
    ]


def test_row_rules_quarantine_in_the_order_flagged_and_rules_that_pick_nothing_add_nothing():
    """RowProblems applies its rules together: the quarantine is each picking rule's rows, in
    the order the rules were flagged; a rule picking no row (or only nulls) adds nothing; a
    rule flagged after the quarantine was read is in the next one, and `passing` is the rest."""
    import polars as pl

    from ingest.quarantine import RowProblems

    rows = pl.DataFrame({"source_row": [2, 3, 4, 5], "code": ["A1", None, "zz", "B2"], "n": [1, 2, None, 4]})
    problems = RowProblems(rows, "f.csv", copy_values=True)
    problems.flag(pl.col("n") > 100, "too big", "n")  # picks nothing
    problems.flag(pl.col("code").is_null(), "code is empty", "code")
    problems.flag(pl.col("n").is_null() & pl.lit(None, dtype=pl.Boolean), "never (null mask)", "n")
    problems.flag(pl.col("code") == "zz", "code is not an ODS code", "code")
    first = problems.quarantine()
    assert first.select("source_row", "reason", "value").rows() == [
        (3, "code is empty", None),
        (4, "code is not an ODS code", "zz"),
    ]
    problems.flag(pl.col("n") == 4, "four", "n")
    assert problems.quarantine().select("source_row", "reason").rows()[-1] == (5, "four")
    assert problems.passing()["source_row"].to_list() == [2]
