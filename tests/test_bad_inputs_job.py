"""Bad input end to end: both bad-input corpora dropped beside good inputs and run through
the whole nightly job. Bad files are rejected or their bad rows quarantined with file, row,
column and reason; everything else still loads and is published; and the run's check
results say exactly what failed."""

import shutil

import pytest
from test_bad_inputs import CORPORA, EXPECTED
from test_nightly_job import connect, run_nightly

pytestmark = pytest.mark.e2e


def test_corpora_through_the_whole_job(tiny_project):
    for corpus, source in (("diagnostic", "diagnostic"), ("monthly_ae", "monthly_ae")):
        for path in (CORPORA / corpus).iterdir():
            if path.name != "EXPECTED.yaml":
                shutil.copy(path, tiny_project / "sources" / source / path.name)

    result = run_nightly()
    checks = {(c.asset_key.to_user_string(), c.check_name): c for c in result.get_asset_check_evaluations()}
    failed = {key for key, c in checks.items() if not c.passed}
    # What failed, said by the checks: unreadable files in both sources (ERROR, not
    # blocking) and the raw-quality warning. Reconciliation and the clean suites pass.
    assert failed == {
        ("clean/diagnostic_respondents", "files_accepted"),
        ("clean/monthly_ae", "files_accepted"),
        ("raw/diagnostic_rows", "ge_raw_diagnostic_rows"),
    }
    assert checks[("clean/diagnostic_respondents", "rows_reconcile")].passed
    assert checks[("clean/monthly_ae", "rows_reconcile")].passed
    rejected = {
        source: {
            entry["file"] for entry in checks[(f"clean/{table}", "files_accepted")].metadata["rejected_files"].value
        }
        for source, table in (("diagnostic", "diagnostic_respondents"), ("monthly_ae", "monthly_ae"))
    }
    for corpus in ("diagnostic", "monthly_ae"):
        assert rejected[corpus] == {name for name, e in EXPECTED[corpus].items() if "error" in e}

    # The good data still loaded and was published.
    assert result.success
    with connect(tiny_project) as db:
        assert (
            db.execute(
                "select count(*) from marts.collaboration_health where collaboration_id = 'tiny' and not is_suppressed"
            ).fetchone()[0]
            > 0
        )
        # Feb-Jul: the corpus rows kept for R1H (March 125/150, June 125/150) and July (R1H
        # 80/100, RF4 60/100). Like for like on reporting (issue 13): RF4 reported July only,
        # not every published month of the windows, so it is left out and named; R1H alone
        # gives 330/400 = 0.825 (pooling RF4's July in, as before, gave 390/500 = 0.78).
        assert db.execute(
            "select baseline_value, organisations_compared, organisations_not_reporting, coverage_changed "
            "from marts.outcome_linked_collaboration where collaboration_id = 'tiny' and metric_id = 'ae_4h_all'"
        ).fetchone() == (0.825, 1, "RF4", True)
        # Every quarantined row names its file, row and (for a row-level problem) its column.
        unnamed = db.execute(
            "select count(*) from quarantine.diagnostic_exports "
            "where source_file is null or (scope <> 'file' and source_row is null)"
        ).fetchone()[0]
        assert unnamed == 0
        bad_ae = db.execute(
            "select source_row, column_name, reason from quarantine.monthly_ae "
            "where source_file = 'Monthly-AE-March-2024-bad-rows.csv' and source_row = 3"
        ).fetchall()
        assert bad_ae == [(3, "attendances_other", "not a whole non-negative number")]
