"""The nightly schedule skips a night with nothing changed, as `collab-health run` does, and
a healthy scheduled run is recorded so that the next night can be skipped."""

from pathlib import Path

import pytest
from dagster import (
    AssetCheckResult,
    AssetCheckSeverity,
    AssetExecutionContext,
    AssetKey,
    AssetSelection,
    DagsterInstance,
    Definitions,
    RunRequest,
    SkipReason,
    asset,
    asset_check,
    build_run_status_sensor_context,
    build_schedule_context,
    build_sensor_context,
    define_asset_job,
)

from orchestration.nightly import FINGERPRINT_TAG, nightly_schedule, record_healthy_scheduled_run
from orchestration.run_state import (
    fingerprint,
    forget_healthy_run,
    last_healthy_run,
    record_healthy_run,
    run_outputs,
)
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


def _nightly_definitions(check_passes: bool, severity: AssetCheckSeverity = AssetCheckSeverity.ERROR) -> Definitions:
    """A job named like the nightly one whose asset publishes (as `published_warehouse`
    does: the record forgotten, the run remembered as the last to publish), one asset check,
    and the recording sensor."""

    @asset
    def thing(context: AssetExecutionContext) -> int:
        forget_healthy_run(Settings.from_environ().data_dir, publishing_run=context.run.run_id)
        return 1

    @asset_check(asset=thing)
    def thing_is_fine() -> AssetCheckResult:
        return AssetCheckResult(passed=check_passes, severity=severity)

    job = define_asset_job("nightly", selection=AssetSelection.all())
    return Definitions(assets=[thing], asset_checks=[thing_is_fine], jobs=[job], sensors=[record_healthy_scheduled_run])


def _finished_run(instance: DagsterInstance, tags: dict[str, str], check_passes: bool = True, **kwargs):
    result = (
        _nightly_definitions(check_passes, **kwargs)
        .resolve_job_def("nightly")
        .execute_in_process(instance=instance, tags=tags)
    )
    assert result.success  # a failed check does not fail the run: health is the sensor's question
    return result.dagster_run, result.get_run_success_event()


def _sensor_context(instance: DagsterInstance, run, event):
    return build_run_status_sensor_context(
        sensor_name=record_healthy_scheduled_run.name, dagster_event=event, dagster_instance=instance, dagster_run=run
    )


def test_only_a_healthy_whole_scheduled_run_that_published_last_is_recorded(tiny_project: Path):
    data_dir = Settings.from_environ().data_dir
    tag = {FINGERPRINT_TAG: fingerprint(Settings.from_environ())}
    with DagsterInstance.ephemeral() as instance:

        def recorded(run, event) -> bool:
            said = record_healthy_scheduled_run(_sensor_context(instance, run, event))
            assert (said is None) == (last_healthy_run(data_dir) is not None)
            return said is None

        unhealthy = _finished_run(instance, tag, check_passes=False)
        said = record_healthy_scheduled_run(_sensor_context(instance, *unhealthy))
        assert isinstance(said, SkipReason) and "thing/thing_is_fine" in said.skip_message
        assert not recorded(*unhealthy)
        assert not recorded(*_finished_run(instance, {}))  # not started by the schedule

        run, event = _finished_run(instance, tag)
        assert not recorded(run._replace(parent_run_id="an-earlier-run"), event)  # a re-execution inherits the tag
        assert not recorded(run._replace(asset_selection=frozenset({AssetKey("thing")})), event)  # a subset
        later = _finished_run(instance, {})  # a run from the UI published since
        assert not recorded(run, event)
        export = next((tiny_project / "sources" / "diagnostic").glob("tiny_wave1.csv"))
        original = export.read_bytes()
        export.write_bytes(original.replace(b"p3", b"p9"))
        assert not recorded(*_finished_run(instance, tag))  # the inputs changed since its tick
        export.write_bytes(original)
        del later

        warned = _finished_run(instance, tag, check_passes=False, severity=AssetCheckSeverity.WARN)
        assert recorded(*warned)  # a failed WARN check is no reason to run again
        assert last_healthy_run(data_dir)["run_id"] == warned[0].run_id


def test_the_recorder_watches_successful_nightly_runs(tiny_project: Path):
    """Through Dagster's own evaluation of the sensor: its status and its job are right."""
    data_dir = Settings.from_environ().data_dir
    definitions = _nightly_definitions(check_passes=True)
    sensor = definitions.resolve_sensor_def(record_healthy_scheduled_run.name)
    with DagsterInstance.ephemeral() as instance:
        context = build_sensor_context(instance=instance, repository_def=definitions.get_repository_def())
        sensor.evaluate_tick(context)  # the first tick starts watching from now
        result = definitions.resolve_job_def("nightly").execute_in_process(
            instance=instance, tags={FINGERPRINT_TAG: fingerprint(Settings.from_environ())}
        )
        assert last_healthy_run(data_dir) is None
        sensor.evaluate_tick(context)
        assert last_healthy_run(data_dir)["run_id"] == result.run_id
