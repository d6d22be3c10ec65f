"""Issue 13, loud failures: a configuration error fails fast (the pull assets' RetryPolicy
never retries it), says the whole validation message (not "ValidationError for
SourcesFile"), and leaves the published warehouse exactly as it was."""

import pytest
from dagster import DagsterEventType
from test_nightly_job import run_nightly

from orchestration.data_quality import step_failure_message

pytestmark = pytest.mark.integration


def test_a_configuration_error_fails_fast_without_retries_and_publishes_nothing(tiny_project):

    (tiny_project / "config" / "sources.yaml").write_text(
        "sources:\n  monthly_ae:\n    locations: [x]\n    timeout_seconds: -1\n", encoding="utf-8"
    )
    published = tiny_project / "var" / "warehouse" / "collab_health.duckdb"
    published.parent.mkdir(parents=True)
    published.write_bytes(b"last night's warehouse")
    result = run_nightly()
    assert not result.success
    retried = [e for e in result.all_events if e.event_type == DagsterEventType.STEP_UP_FOR_RETRY]
    assert retried == []
    failures = [e for e in result.all_events if e.is_step_failure]
    assert {e.step_key for e in failures} >= {"landing__monthly_ae", "landing__diagnostic_exports"}
    messages = {step_failure_message(e) for e in failures}
    assert messages == {
        f"configuration error: {tiny_project / 'config' / 'sources.yaml'}: invalid sources file: "
        "sources.monthly_ae.timeout_seconds: Input should be greater than 0"
    }
    assert published.read_bytes() == b"last night's warehouse"
    materialised = {
        e.asset_key.to_user_string()
        for e in result.all_events
        if e.event_type == DagsterEventType.ASSET_MATERIALIZATION
    }
    assert not any(key.startswith(("landing/", "marts/", "published/", "reports/")) for key in materialised)
