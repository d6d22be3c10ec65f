"""The whole nightly job, materialised on temporary folders with the tiny inputs.

Expected values are worked by hand from the tiny inputs in conftest.py.

Shared purpose (items SP1, SP2; respondents need at least one of the two answered):
  R1H: p1 (5, 4) -> 4.5; p2 (4, -) -> 4.0; p3 (4, 4) -> 4.0.  Mean 4.1667, s² 0.08333, n 3
  RF4: p4 (2, 3) -> 2.5; p5 (1, 2) -> 1.5.                     Mean 2.0,    s² 0.5,     n 2
  Score, each organisation weighted equally: (4.1667 + 2.0) / 2 = 3.0833 -> 3.08, borderline
  (the respondent mean, 3.3, would be wrong).
  95% interval: SE = sqrt(0.08333/3 + 0.5/2) / 2 = sqrt(0.27778) / 2 = 0.26352;
  3.0833 ± 1.96 × 0.26352 = 2.5668 .. 3.5998 -> 2.57 .. 3.60.
  Cronbach's alpha over the complete respondents p1, p3, p4, p5:
  var(SP1: 5, 4, 2, 1) = 10/3 = 3.3333; var(SP2: 4, 4, 3, 2) = 2.75/3 = 0.91667;
  var(totals: 9, 8, 5, 3) = 22.75/3 = 7.58333;
  alpha = 2/1 × (1 − (3.3333 + 0.91667) / 7.58333) = 0.87912 -> 0.879.
  Perception gap: no organisation has 5 respondents -> null. One wave -> no change.
Acknowledging history: p1, p2, p4 answered AH2 -> 3 respondents -> suppressed.
By organisation: R1H (3) and RF4 (2) are both under 5 -> every row suppressed.
A&E four-hour performance, pooled over R1H and RF4: July (baseline, the month before
fieldwork in August) 140/200 = 0.70; September (follow-up) 160/200 = 0.80; change 0.10.
"""

import datetime as dt
import json
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest
from conftest import FREE_TEXT_SAMPLE, RESPONDENT_ID_SAMPLE, write_tiny_ae
from dagster import DagsterInstance

from orchestration.dbt import DBT_EXECUTABLE, dbt_project, prepare_manifest
from orchestration.definitions import build_definitions
from orchestration.run_state import last_healthy_run, record_healthy_run


def run_nightly():
    job = build_definitions().resolve_job_def("nightly")
    with DagsterInstance.ephemeral() as instance:
        return job.execute_in_process(instance=instance, raise_on_error=False)


def connect(project: Path, build: bool = False) -> duckdb.DuckDBPyConnection:
    """The published warehouse analysts read, or (`build`) the working one the run builds."""
    folder = project / "var" / "warehouse"
    return duckdb.connect(
        str(folder / "build" / "collab_health.duckdb" if build else folder / "collab_health.duckdb"), read_only=True
    )


@pytest.mark.e2e
def test_nightly_job_on_tiny_inputs(tiny_project):
    # A record of an earlier healthy CLI run: publishing (by any run) must clear it.
    record_healthy_run(tiny_project / "var", "an-earlier-fingerprint", "an-earlier-run")
    result = run_nightly()
    assert result.success
    assert last_healthy_run(tiny_project / "var") is None

    checks = result.get_asset_check_evaluations()
    # The tiny export is deliberately messy (4 of 9 rows quarantined), so the raw-quality
    # warning fires; every blocking check passes.
    failed = {(c.check_name, c.severity.value) for c in checks if not c.passed}
    assert failed == {("ge_raw_diagnostic_rows", "WARN")}
    names = {c.check_name for c in checks}
    assert {"ge_clean_monthly_ae", "ge_clean_diagnostic_respondents", "rows_reconcile"} <= names

    with connect(tiny_project) as db:
        health = db.execute(
            "select characteristic, score, ci_low, ci_high, n_respondents, n_organisations, band, "
            "score_change, perception_gap, cronbach_alpha, is_suppressed "
            "from marts.collaboration_health where collaboration_id = 'tiny' order by characteristic"
        ).fetchall()
        assert health == [
            ("acknowledging_history", None, None, None, 3, 2, None, None, None, None, True),
            ("shared_purpose", 3.08, 2.57, 3.6, 5, 2, "borderline", None, None, 0.879, False),
        ]
        by_organisation = db.execute(
            "select organisation_code, characteristic, score, n_respondents, is_suppressed "
            "from marts.collaboration_health_by_organisation where collaboration_id = 'tiny' order by 1, 2"
        ).fetchall()
        assert by_organisation == [
            ("R1H", "acknowledging_history", None, 2, True),
            ("R1H", "shared_purpose", None, 3, True),
            ("RF4", "acknowledging_history", None, 1, True),
            ("RF4", "shared_purpose", None, 2, True),
        ]
        outcome = db.execute(
            "select collaboration_id, wave, metric_id, health_score, baseline_value, baseline_months, "
            "followup_value, followup_months, change from marts.outcome_linked_collaboration "
            "where collaboration_id = 'tiny' and metric_id = 'ae_4h_all'"
        ).fetchall()
        assert outcome == [("tiny", 1, "ae_4h_all", 3.08, 0.7, 1, 0.8, 1, 0.1)]
        progress = db.execute(
            "select direction, is_improvement, target_value, target_met from marts.outcome_linked_collaboration "
            "where collaboration_id = 'tiny'"
        ).fetchall()
        assert progress == [("increase", True, 0.75, True)]  # 0.80 >= 0.75

        # The same months in system_metrics: the collaboration's series pools its two members
        # (140/200 in July, 160/200 in September); two points are far too few for SPC limits,
        # but Making Data Count (the default convention) shows their mean, 0.75 (issue 14).
        series = db.execute(
            "select period_month, numerator, denominator, value, n_organisations, spc_mean, spc_signal "
            "from marts.system_metrics where entity_type = 'collaboration' and entity_id = 'tiny' "
            "and metric_id = 'ae_4h_all' order by period_month"
        ).fetchall()
        assert series == [
            (dt.date(2024, 7, 1), 140.0, 200.0, 0.7, 2, 0.75, None),
            (dt.date(2024, 9, 1), 160.0, 200.0, 0.8, 2, 0.75, None),
        ]

        loads = db.execute(
            "select source_file, rows_read, rows_clean, rows_quarantined from audit.file_loads "
            "where source = 'diagnostic_exports' and source_file = 'tiny_wave1.csv'"
        ).fetchall()
        assert loads == [("tiny_wave1.csv", 9, 5, 4)]

        # The Wilder-style instrument ran from its YAML alone: all 20 factors scored.
        wilder = db.execute(
            "select count(*), count(score), min(instrument_id) from marts.collaboration_health "
            "where collaboration_id = 'tiny_wilder'"
        ).fetchone()
        assert wilder == (20, 20, "wilder_style_cfi")

        # Analysts see marts, audit and quarantine only: no respondent-level table is published.
        schemas = {s for (s,) in db.execute("select distinct schema_name from duckdb_tables()").fetchall()}
        assert schemas == {"marts", "audit", "quarantine"}

    # Nobody exposed: no respondent id or free text in any table of either warehouse file.
    for build in (False, True):
        with connect(tiny_project, build=build) as db:
            tables = db.execute("select schema_name, table_name from duckdb_tables() order by 1, 2").fetchall()
            assert ("marts", "collaboration_health") in tables
            for schema, table in tables:
                text = json.dumps(db.execute(f'select * from "{schema}"."{table}"').fetchall(), default=str)
                assert RESPONDENT_ID_SAMPLE not in text, f"{schema}.{table}"
                assert FREE_TEXT_SAMPLE not in text, f"{schema}.{table}"

    # The nightly build leaves dbt's unit tests out (they test model logic, not data); CI runs
    # every one of them here, against the warehouse the job just built.
    unit_tests = [n for n in json.loads(prepare_manifest().read_text())["unit_tests"]]
    assert len(unit_tests) >= 19
    dbt = subprocess.run(
        [DBT_EXECUTABLE, "test", "--select", "test_type:unit", "--target-path", str(tiny_project / "dbt_target")],
        cwd=dbt_project().project_dir,
        capture_output=True,
        text=True,
    )
    assert dbt.returncode == 0, dbt.stdout[-3000:]
    assert f"PASS={len(unit_tests)} " in dbt.stdout


@pytest.mark.e2e
def test_broken_input_fails_its_check_and_blocks_the_marts(tiny_project):
    # More waits over four hours than attendances: the reader accepts the numbers, the
    # Great Expectations suite does not, and the marts downstream are not built.
    write_tiny_ae(tiny_project / "sources" / "monthly_ae", july_r1h_over_4h=150)
    # And an export of an unknown instrument: rejected whole, while the others still load.
    (tiny_project / "sources" / "diagnostic" / "other_survey.csv").write_text("ID,Q1\nx,Agree\n")
    result = run_nightly()
    assert not result.success
    failed = {c.check_name for c in result.get_asset_check_evaluations() if not c.passed}
    assert failed == {"ge_clean_monthly_ae", "ge_raw_diagnostic_rows", "files_accepted"}
    # Nothing was published: there was no earlier good warehouse, so there is none now.
    assert not (tiny_project / "var" / "warehouse" / "collab_health.duckdb").exists()
    with connect(tiny_project, build=True) as db:
        marts = db.execute("select table_name from information_schema.tables where table_schema = 'marts'").fetchall()
        assert marts == []
        rejected = db.execute(
            "select source_file, source_row, scope, reason from quarantine.diagnostic_exports where scope = 'file'"
        ).fetchall()
        assert [r[:3] for r in rejected] == [("other_survey.csv", None, "file")]
        assert rejected[0][3].startswith("other_survey.csv: export does not match any instrument codebook")
        assert db.execute("select count(*) from clean.diagnostic_respondents").fetchone()[0] > 5


@pytest.mark.integration
def test_definitions_list_job_schedule_and_every_check():
    defs = build_definitions()
    assert defs.resolve_job_def("nightly") is not None
    schedule = defs.resolve_schedule_def("nightly_at_two")
    assert (schedule.cron_schedule, schedule.execution_timezone) == ("0 2 * * *", "Europe/London")
    assert schedule.default_status.value == "RUNNING"

    refresh = {
        key.to_user_string() for key in defs.resolve_job_def("diagnostic_refresh").asset_layer.executable_asset_keys
    }
    assert {
        "landing/diagnostic_exports",
        "clean/diagnostic_respondents",
        "marts/collaboration_health",
        "published/warehouse",
    } <= refresh
    assert "landing/monthly_ae" not in refresh
    assert defs.resolve_sensor_def("diagnostic_exports_sensor").job_name == "diagnostic_refresh"
    recorder = defs.resolve_sensor_def("record_healthy_scheduled_run")  # so that the schedule can skip
    assert recorder.default_status.value == "RUNNING"

    check_names = {key.name for key in defs.resolve_asset_graph().asset_check_keys}
    suites = {p.stem for p in (Path(__file__).parent.parent / "expectations" / "suites").glob("*.json")}
    assert {f"ge_{s}" for s in suites} <= check_names
    manifest = json.loads(prepare_manifest().read_text())
    dbt_tests = {n["name"] for n in manifest["nodes"].values() if n["resource_type"] == "test"}
    assert len(dbt_tests) > 20
    assert dbt_tests <= check_names, sorted(dbt_tests - check_names)


@pytest.mark.integration
def test_the_asset_graph_is_grouped_by_stage_and_dbt_layer_owned_and_described():
    defs = build_definitions()
    graph = defs.resolve_asset_graph()
    groups = {key.to_user_string(): graph.get(key).group_name for key in graph.get_all_asset_keys()}
    assert set(groups.values()) == {"landing", "clean", "staging", "intermediate", "marts", "publish"}
    assert groups["staging/stg_diagnostic__answers"] == "staging"
    assert groups["intermediate/int_outcome_windows"] == "intermediate"
    assert groups["marts/collaboration_health"] == "marts"
    assert {groups[k] for k in ("docs/dbt_docs", "published/warehouse", "reports/collaboration_reports")} == {"publish"}
    assert all(graph.get(key).owners for key in graph.get_all_asset_keys())
    descriptions = {key.name: graph.get_check_spec(key).description for key in graph.asset_check_keys}
    assert all(descriptions.values()), [name for name, text in descriptions.items() if not text]
    band = next(
        text for name, text in descriptions.items() if name.startswith("accepted_values_collaboration_health_band")
    )
    assert band.startswith("dbt test accepted_values on column band: values=")


@pytest.mark.unit
def test_importing_the_definitions_has_no_side_effects(tmp_path):
    """Importing the definitions module runs no dbt and touches no file: the manifest is
    prepared when the definitions are built."""
    code = (
        "import os, sys; os.environ['COLLAB_HEALTH_DATA_DIR'] = sys.argv[1]; "
        "import orchestration.definitions; import orchestration.dbt as d; "
        "assert d.dbt_project.cache_info().currsize == 0; print('ok')"
    )
    done = subprocess.run([sys.executable, "-c", code, str(tmp_path)], capture_output=True, text=True, timeout=120)
    assert done.stdout.strip() == "ok", done.stderr[-2000:]
    assert list(tmp_path.iterdir()) == []
