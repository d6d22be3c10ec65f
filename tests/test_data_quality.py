"""The run summary's data-quality lines (orchestration/data_quality.py), on a small
warehouse written here: what each source set aside and why, and the files that loaded
nothing."""

import duckdb
import pytest

from orchestration.data_quality import files_without_clean_rows, quarantine_summary, summary_lines

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


def test_quarantine_per_source_with_the_top_reasons_row_numbers_blanked(warehouse):
    summaries = {s.source: s for s in quarantine_summary(warehouse, top=2)}
    ae = summaries["monthly_ae"]
    assert (ae.rows_read, ae.rows_quarantined, ae.cells_quarantined, ae.files_rejected) == (13, 4, 0, 1)
    assert [(r.reason, r.rows) for r in ae.top_reasons] == [
        ("period is not of the form MSitAE-<MONTH>-<YEAR>", 3),
        ("national total row: derived from the organisation rows, not stored", 1),
    ]
    diagnostic = summaries["diagnostic_exports"]
    assert diagnostic.message == (
        "diagnostic_exports: 2 of 5 rows quarantined, 1 answer set aside in kept rows. Top reasons: "
        "superseded by a later submission from the same respondent (w1.csv row …) (2)"
    )
    lines = summary_lines(warehouse)
    assert lines[:2] == [
        "NOTHING LOADED from monthly_ae file header.csv: no data rows (a header only?), so nothing from it was loaded",
        "NOTHING LOADED from monthly_ae file tidy.csv: all 3 rows quarantined, none loaded; top reason: "
        "period is not of the form MSitAE-<MONTH>-<YEAR> (3 rows)",
    ]
    assert lines[-1] == "Warning: RAP has not reported m since September 2024: ..."
