"""Issue 13, loud failures: a configuration error fails fast (never retried), says the whole
validation message (not "ValidationError for SourcesFile", nor a traceback), and leaves
the published warehouse exactly as it was."""

import pytest
from dagster import DagsterEventType
from test_nightly_job import run_nightly

from orchestration import cli
from orchestration.data_quality import step_failure_message

pytestmark = pytest.mark.integration

LAST_NIGHT = b"last night's warehouse"


def published(project):
    path = project / "var" / "warehouse" / "collab_health.duckdb"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(LAST_NIGHT)
    return path


def test_a_bad_sources_file_stops_the_command_at_once_with_its_message(tiny_project, capsys):
    """sources.yaml decides the assets, so it is read before anything runs."""
    sources = tiny_project / "config" / "sources.yaml"
    sources.write_text("sources:\n  monthly_ae:\n    locations: [x]\n    timeout_seconds: -1\n", encoding="utf-8")
    warehouse = published(tiny_project)
    assert cli.run_nightly(force=True) == 2
    said = capsys.readouterr()
    assert (
        f"collab-health: configuration error: {sources}: invalid sources file: "
        "sources.monthly_ae.timeout_seconds: Input should be greater than 0"
    ) in said.err
    assert "Traceback" not in said.err + said.out
    assert warehouse.read_bytes() == LAST_NIGHT


def test_a_configuration_error_met_in_the_run_fails_its_steps_without_retries(tiny_project):
    """collaborations.yaml is read by the assets: each step that reads it fails at once, with
    a Dagster Failure carrying the whole message, and nothing is published."""
    config = tiny_project / "config" / "collaborations.yaml"
    text = config.read_text(encoding="utf-8")
    config.write_text(text.replace("fieldwork_end: 2024-08-30}", "fieldwork_end: 2024-07-30}", 1), encoding="utf-8")
    warehouse = published(tiny_project)
    result = run_nightly()
    assert not result.success
    assert [e for e in result.all_events if e.event_type == DagsterEventType.STEP_UP_FOR_RETRY] == []
    failures = [e for e in result.all_events if e.is_step_failure]
    assert {e.step_key for e in failures} == {"clean_collaborations", "clean_diagnostic_exports"}
    assert {step_failure_message(e) for e in failures} == {
        f"configuration error: {config}: invalid collaborations file: "
        "collaborations.0.waves.0: Value error, wave 1: fieldwork_end is before fieldwork_start"
    }
    assert warehouse.read_bytes() == LAST_NIGHT
    materialised = {
        e.asset_key.to_user_string()
        for e in result.all_events
        if e.event_type == DagsterEventType.ASSET_MATERIALIZATION
    }
    assert not any(key.startswith(("marts/", "published/", "reports/")) for key in materialised)
