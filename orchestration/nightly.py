"""The nightly job, its schedule, and the record of its healthy scheduled runs.

The schedule skips a night when nothing the run reads has changed since the last healthy
run, exactly as `collab-health run` does (`orchestration/run_state.py`: the same
fingerprint, and the warehouse, reports and docs still there). A tick that runs tags its
run with the fingerprint taken at the tick. `record_healthy_scheduled_run` (a run status
sensor, on by default) records that run when it succeeded with no failed ERROR check, ran
the whole job as the tick launched it (not a re-execution, which inherits the tag, nor a
subset), was the last run to publish the warehouse, and the inputs still give its
fingerprint; then the next unchanged night is skipped. Any other run that publishes (from
the UI, the diagnostic sensor) forgets the record, and only the CLI records its own.
"""

from __future__ import annotations

from dagster import (
    AssetCheckSeverity,
    AssetSelection,
    DagsterEventType,
    DagsterInstance,
    DagsterRunStatus,
    DefaultScheduleStatus,
    DefaultSensorStatus,
    RunRequest,
    RunStatusSensorContext,
    ScheduleEvaluationContext,
    SkipReason,
    define_asset_job,
    in_process_executor,
    run_status_sensor,
    schedule,
)

from orchestration.run_state import (
    fingerprint,
    last_publishing_run,
    record_healthy_run,
    run_outputs,
    unchanged_since,
)
from orchestration.settings import Settings

NIGHTLY_JOB = "nightly"
#: The tag a scheduled run carries: the fingerprint of what it reads, taken at the tick.
FINGERPRINT_TAG = "collab_health/fingerprint"

# One process for the whole run: DuckDB has one writer at a time anyway, and Great
# Expectations (about 10 s to import) is then imported once, not once per check.
nightly_job = define_asset_job(
    NIGHTLY_JOB,
    selection=AssetSelection.all(),
    executor_def=in_process_executor,
    description="Pull, clean, validate and model everything: the run that refreshes the warehouse.",
)


@schedule(
    name="nightly_at_two",
    job=nightly_job,
    cron_schedule="0 2 * * *",
    execution_timezone="Europe/London",
    default_status=DefaultScheduleStatus.RUNNING,
    description="The nightly run at two, skipped when nothing it reads has changed since the last healthy run.",
)
def nightly_schedule(context: ScheduleEvaluationContext) -> RunRequest | SkipReason:
    settings = Settings.from_environ()
    run_fingerprint = fingerprint(settings)
    last = unchanged_since(settings.data_dir, run_fingerprint, run_outputs(settings))
    if last is not None:
        return SkipReason(
            f"nothing has changed since healthy run {last['run_id']} ({last['finished_at']}): the same inputs, "
            "configuration, code and key; the warehouse, reports and docs are current"
        )
    return RunRequest(tags={FINGERPRINT_TAG: run_fingerprint} if run_fingerprint else {})


def failed_error_checks(instance: DagsterInstance, run_id: str) -> list[str]:
    """The asset checks of `run_id` that failed with severity ERROR, as `asset/check`."""
    records = instance.get_records_for_run(run_id, of_type=DagsterEventType.ASSET_CHECK_EVALUATION).records
    evaluations = [record.event_log_entry.dagster_event.event_specific_data for record in records]
    return sorted(
        f"{e.asset_key.to_user_string()}/{e.check_name}"
        for e in evaluations
        if not e.passed and e.severity == AssetCheckSeverity.ERROR
    )


@run_status_sensor(
    run_status=DagsterRunStatus.SUCCESS,
    name="record_healthy_scheduled_run",
    monitored_jobs=[nightly_job],
    default_status=DefaultSensorStatus.RUNNING,
    description="Records a healthy scheduled nightly run, so that the schedule skips a night with nothing changed.",
)
def record_healthy_scheduled_run(context: RunStatusSensorContext) -> SkipReason | None:
    run = context.dagster_run
    run_fingerprint = run.tags.get(FINGERPRINT_TAG)
    if not run_fingerprint:
        return SkipReason(f"run {run.run_id} was not started by the schedule with a fingerprint")
    # A re-execution inherits the tag (and may run only the failed steps); a subset is not the night.
    if run.parent_run_id or run.asset_selection or run.asset_check_selection:
        return SkipReason(f"run {run.run_id} re-executed or ran part of the job: not recorded")
    if failed := failed_error_checks(context.instance, run.run_id):
        return SkipReason(f"run {run.run_id} is not healthy: checks failed: {', '.join(failed)}")
    settings = Settings.from_environ()
    if last_publishing_run(settings.data_dir) != run.run_id:
        return SkipReason(f"run {run.run_id} is not the last run to publish the warehouse: not recorded")
    if fingerprint(settings) != run_fingerprint:
        return SkipReason(f"the inputs have changed since run {run.run_id} started: not recorded")
    record_healthy_run(settings.data_dir, run_fingerprint, run.run_id)
    context.log.info(f"recorded healthy scheduled run {run.run_id}")
    return None
