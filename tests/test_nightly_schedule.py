"""The nightly schedule skips a night with nothing changed, as `collab-health run` does, and
a healthy scheduled run is recorded so that the next night can be skipped."""

from pathlib import Path

import pytest
from dagster import (
    AssetCheckResult,
    AssetCheckSeverity,
    AssetSelection,
    DagsterInstance,
    Definitions,
    RunRequest,
    SkipReason,
    asset,
    asset_check,
    build_run_status_sensor_context,
    build_schedule_context,
    define_asset_job,
)

from orchestration.nightly import FINGERPRINT_TAG, nightly_schedule, record_healthy_scheduled_run
from orchestration.run_state import fingerprint, last_healthy_run, record_healthy_run, run_outputs
from orchestration.settings import Settings

pytestmark = pytest.mark.integration


def test_the_schedule_skips_a_night_with_nothing_changed(tiny_project: Path):
    settings = Settings.from_environ()
    request = nightly_schedule(build_schedule_context())
    assert isinstance(request, RunRequest)  # no healthy run recorded yet
    assert request.tags[FINGERPRINT_TAG] == fingerprint(settings)

    for output in run_outputs(settings):
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text("")
    record_healthy_run(settings.data_dir, request.tags[FINGERPRINT_TAG], "run-1")
    skipped = nightly_schedule(build_schedule_context())
    assert isinstance(skipped, SkipReason)
    assert "nothing has changed since healthy run run-1" in skipped.skip_message

    export = next((tiny_project / "sources" / "diagnostic").glob("tiny_wave1.csv"))
    export.write_bytes(export.read_bytes().replace(b"p3", b"p9"))  # a changed export: the night runs
    changed = nightly_schedule(build_schedule_context())
    assert isinstance(changed, RunRequest)
    assert changed.tags[FINGERPRINT_TAG] == fingerprint(settings) != request.tags[FINGERPRINT_TAG]

    export.write_bytes(export.read_bytes().replace(b"p9", b"p3"))
    settings.reports_dir.joinpath("index.html").unlink()  # a missing output: the night runs
    assert isinstance(nightly_schedule(build_schedule_context()), RunRequest)


def _finished_run(instance: DagsterInstance, check_passes: bool, tags: dict[str, str]):
    """A run of a job named like the nightly one, with one ERROR-severity asset check."""

    @asset
    def thing() -> int:
        return 1

    @asset_check(asset=thing)
    def thing_is_fine() -> AssetCheckResult:
        return AssetCheckResult(passed=check_passes, severity=AssetCheckSeverity.ERROR)

    job = define_asset_job("nightly", selection=AssetSelection.all())
    defs = Definitions(assets=[thing], asset_checks=[thing_is_fine], jobs=[job])
    result = defs.resolve_job_def("nightly").execute_in_process(instance=instance, tags=tags)
    assert result.success  # a failed check does not fail the run: health is the sensor's question
    return build_run_status_sensor_context(
        sensor_name=record_healthy_scheduled_run.name,
        dagster_event=result.get_run_success_event(),
        dagster_instance=instance,
        dagster_run=result.dagster_run,
    )


def test_a_healthy_scheduled_run_is_recorded_and_no_other(tiny_project: Path):
    data_dir = Settings.from_environ().data_dir
    with DagsterInstance.ephemeral() as instance:
        unhealthy = _finished_run(instance, check_passes=False, tags={FINGERPRINT_TAG: "abc"})
        said = record_healthy_scheduled_run(unhealthy)
        assert isinstance(said, SkipReason) and "thing/thing_is_fine" in said.skip_message
        assert last_healthy_run(data_dir) is None

        not_scheduled = _finished_run(instance, check_passes=True, tags={})
        assert isinstance(record_healthy_scheduled_run(not_scheduled), SkipReason)
        assert last_healthy_run(data_dir) is None

        healthy = _finished_run(instance, check_passes=True, tags={FINGERPRINT_TAG: "abc"})
        assert record_healthy_scheduled_run(healthy) is None
        recorded = last_healthy_run(data_dir)
        assert (recorded["fingerprint"], recorded["run_id"]) == ("abc", healthy.dagster_run.run_id)
