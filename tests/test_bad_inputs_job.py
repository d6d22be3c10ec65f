"""Bad input end to end: both bad-input corpora dropped beside good inputs and run through
the whole nightly job. Bad files are rejected or their bad rows quarantined with file, row,
column and reason; everything else still loads and is published; and the run's check
results say exactly what failed."""

import re
import shutil
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import duckdb
import pytest
from conftest import PROJECT_ROOT, TINY_KEY
from test_bad_inputs import CORPORA, EXPECTED, HOSTILE, HOSTILE_EXPECTED, HOSTILE_FILES, PLANTED
from test_nightly_job import connect, run_nightly

from orchestration.definitions import build_definitions

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


# --- The hostile corpus (issue 21), whole job -------------------------------------------------

PLANTED_PASSWORD = "PLANTED-PASSWORD-51f0"
PLANTED_TOKEN = "PLANTED-TOKEN-a93e"
PLANTED_SECRET_LINE = "root:PLANTED-SECRET-FILE-0c4d:0:0"


class _Survey(BaseHTTPRequestHandler):
    """Serves one staff survey file, whatever the path, user, password or query."""

    body = b""

    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Length", str(len(self.body)))
        self.end_headers()
        self.wfile.write(self.body)

    def log_message(self, *args):
        pass


@pytest.fixture
def survey_server():
    survey = PROJECT_ROOT / "sample_data" / "nhs" / "staff_survey" / "nhs_staff_survey_org_results_2021_2024.csv"
    _Survey.body = "".join(survey.read_text(encoding="utf-8-sig").splitlines(keepends=True)[:40]).encode()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Survey)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()
    thread.join()


def _run(instance):
    job = build_definitions().resolve_job_def("nightly")
    return job.execute_in_process(instance=instance, raise_on_error=False)


def _warehouse_text(path: Path) -> str:
    """Every value of every table of a DuckDB file, as text."""
    with duckdb.connect(str(path), read_only=True) as db:
        tables = db.execute("select schema_name, table_name from duckdb_tables() order by 1, 2").fetchall()
        return "\n".join(db.sql(f'select * from "{schema}"."{table}"').pl().write_csv() for schema, table in tables)


def _files_text(folder: Path) -> str:
    return "\n".join(
        p.read_bytes().decode("utf-8", "replace")
        for p in sorted(folder.rglob("*"))
        if p.is_file() and not p.is_symlink()
    )


def test_hostile_corpus_through_the_whole_job(tiny_project, tmp_path, monkeypatch, survey_server, capfd):
    """Every hostile file (and two made here: a newline in a file name, a symbolic link out
    of a source folder) dropped beside the tiny inputs, one run, with the staff survey pulled
    from a URL holding a user, password and token. Bad files are rejected with their
    errors, every other row reconciles, and neither the published or working warehouse,
    nor the logs, nor Dagster's storage holds a planted e-mail, NHS number, free text,
    password, token, the key, or the content of the file the link points to. Then a run
    with a catalogue that tries to read that file fails before publishing: the published
    warehouse is unchanged, byte for byte, and no staging file is left behind."""
    from dagster import DagsterInstance

    diagnostic = tiny_project / "sources" / "diagnostic"
    for path in HOSTILE_FILES:
        shutil.copy(path, diagnostic / path.name)
    forged = "export\n2024-08-06 INFO all files accepted.csv"
    shutil.copy(HOSTILE / "semicolon_delimited.csv", diagnostic / forged)
    secret_file = tmp_path / "private" / "secret.csv"
    secret_file.parent.mkdir()
    secret_file.write_text(PLANTED_SECRET_LINE + "\n")
    shmi = tmp_path / "sources" / "shmi"
    shmi.mkdir(parents=True)
    (shmi / "shmi_2019.csv").symlink_to(secret_file)
    monkeypatch.setenv("COLLAB_HEALTH_SHMI_SOURCE", str(shmi))
    url = f"http://analyst:{PLANTED_PASSWORD}@127.0.0.1:{survey_server}/survey/staff_survey_2024.csv?token={PLANTED_TOKEN}"
    monkeypatch.setenv("COLLAB_HEALTH_STAFF_SURVEY_SOURCE", url)
    dagster_home = tmp_path / "dagster_home"
    dagster_home.mkdir()

    with DagsterInstance.local_temp(tempdir=str(dagster_home)) as instance:
        result = _run(instance)
        checks = {(c.asset_key.to_user_string(), c.check_name): c for c in result.get_asset_check_evaluations()}
        failed = {key for key, c in checks.items() if not c.passed}
        assert result.success
        # The failures are exactly the ones planted: rejected exports, the refused link.
        assert failed == {
            ("clean/diagnostic_respondents", "files_accepted"),
            ("landing/shmi", "pull_succeeded"),
            ("raw/diagnostic_rows", "ge_raw_diagnostic_rows"),
        }, failed
        assert checks[("clean/diagnostic_respondents", "rows_reconcile")].passed
        assert checks[("landing/staff_survey", "pull_succeeded")].passed
        assert "a symbolic link to a file outside" in checks[("landing/shmi", "pull_succeeded")].description
        rejected = {
            entry["file"]: entry
            for entry in checks[("clean/diagnostic_respondents", "files_accepted")].metadata["rejected_files"].value
        }
        escaped = "export\\n2024-08-06 INFO all files accepted.csv"
        assert set(rejected) == {name for name, e in HOSTILE_EXPECTED.items() if "error" in e} | {escaped}

        with connect(tiny_project) as db:
            loads = {
                row[0]: row[1:]
                for row in db.execute(
                    "select source_file, status, rows_read, rows_clean, rows_quarantined, error "
                    "from audit.file_loads where source = 'diagnostic_exports'"
                ).fetchall()
            }
            for name, expected in HOSTILE_EXPECTED.items():
                status, read, clean, quarantined, error = loads[name]
                if "error" in expected:
                    assert status == "rejected" and re.search(expected["error"], error), (name, error)
                else:  # across files a respondent's latest submission wins, so only the total is fixed
                    assert (status, read) == ("loaded", expected["rows"]) and clean + quarantined == read, name
            assert loads[escaped][0] == "rejected"
            reasons = {r for (r,) in db.execute("select distinct reason from quarantine.diagnostic_exports").fetchall()}
            for wanted in (
                "collaboration is not declared in the collaborations file",
                "submission time is outside the fieldwork of wave 1 (2024-08-05 to 2024-08-30, give or take 7 days)",
                "answer not on the collab_health_core scale; treated as missing",
            ):
                assert wanted in reasons
            # The staff survey came through the URL; its location is shown without credentials.
            assert db.execute("select count(*) from audit.file_loads where source = 'staff_survey'").fetchone()[0] == 1
        pulled = next(
            e
            for e in result.get_asset_materialization_events()
            if e.asset_key.to_user_string() == "landing/staff_survey"
        )
        assert pulled.materialization.metadata["locations"].value == [
            f"http://127.0.0.1:{survey_server}/survey/staff_survey_2024.csv?..."
        ]
        assert not any(p.name == "shmi_2019.csv" for p in (tiny_project / "var" / "landing").rglob("*"))

        published = tiny_project / "var" / "warehouse" / "collab_health.duckdb"
        first_bytes = published.read_bytes()
        events = "\n".join(str(record) for record in instance.all_logs(result.run_id))
        logs = capfd.readouterr()

        # Second run: a catalogue that tries to read the linked file fails before publishing.
        (tiny_project / "config" / "metrics.yaml").write_text(
            "metrics:\n  - {id: ae_4h_all, name: A, domain: access, unit: count, polarity: neutral, description: d,\n"
            f"     sources: {{monthly_ae: {{numerator: \"(select max(column0) from read_csv('{secret_file}'))\"}}}}}}\n"
        )
        failed_run = _run(instance)
        assert not failed_run.success
        assert published.read_bytes() == first_bytes
        assert not list(published.parent.glob(".*.publishing*"))
        events += "\n".join(str(record) for record in instance.all_logs(failed_run.run_id))
        logs2 = capfd.readouterr()

    secrets = (*PLANTED, TINY_KEY, PLANTED_PASSWORD, PLANTED_TOKEN, "PLANTED-SECRET-FILE", "analyst:")
    scanned = {
        "published warehouse": _warehouse_text(published),
        "working warehouse": _warehouse_text(tiny_project / "var" / "warehouse" / "build" / "collab_health.duckdb"),
        "Dagster storage": _files_text(dagster_home),
        "Dagster events": events,
        "logs": logs.out + logs.err + logs2.out + logs2.err,
        "reports": _files_text(tiny_project / "var" / "reports"),
    }
    # The scans can see: what was planted is in the inputs as landed, and what must be
    # there is found (the reasons, the run, the log lines).
    assert PLANTED[0] in _files_text(tiny_project / "var" / "landing" / "diagnostic_exports")
    assert "collaboration is not declared in the collaborations file" in scanned["published warehouse"]
    assert result.run_id in scanned["Dagster storage"] and "rows read" in scanned["logs"]
    for where, text in scanned.items():
        assert text, where
        for secret in secrets:
            assert secret not in text, f"{secret!r} found in the {where}"
    # Names with control characters never start a log line of their own.
    assert "\n2024-08-06 INFO all files accepted" not in scanned["logs"] + events


def test_a_failed_publish_leaves_no_staging_file_and_the_published_file_as_it_was(tmp_path, monkeypatch):
    """A full disk while publishing: the staging file and its WAL are removed, the
    published warehouse keeps its bytes."""
    import errno

    import orchestration.publish as publish

    build, target = tmp_path / "build.duckdb", tmp_path / "published" / "collab_health.duckdb"
    with duckdb.connect(str(build)) as db:
        db.execute("create schema marts; create table marts.m as select 1 as x")
    publish.publish_warehouse(build, target)
    before = target.read_bytes()
    with duckdb.connect(str(build)) as db:
        db.execute("insert into marts.m values (2)")

    def full_disk(path):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(publish, "_fsync", full_disk)
    with pytest.raises(OSError, match="No space left"):
        publish.publish_warehouse(build, target)
    assert target.read_bytes() == before
    assert sorted(p.name for p in target.parent.iterdir()) == ["collab_health.duckdb"]
