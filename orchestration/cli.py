"""`collab-health`: run the nightly job in one process and say what it left behind.

collab-health run        materialise every asset and check, then summarise the marts
                         (skipped, saying so, when nothing changed since the last
                         healthy run; --force runs anyway)
collab-health ui         open the Dagster UI on this project (dg dev)
"""

from __future__ import annotations

import argparse
import fcntl
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from orchestration.run_state import fingerprint, project_dirs, record_healthy_run, unchanged_since

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def _use_project_instance() -> None:
    """Point Dagster at this project's instance: DAGSTER_HOME defaults to
    ``$COLLAB_HEALTH_DATA_DIR/dagster`` (``var/dagster``), holding a link to the project's
    dagster.yaml, so runs from the command line and the UI share one history."""
    os.environ.setdefault("DAGSTER_DISABLE_TELEMETRY", "1")
    os.environ.setdefault("DO_NOT_TRACK", "1")
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    if os.environ.get("DAGSTER_HOME"):
        return
    data_dir, _ = project_dirs()
    home = data_dir / "dagster"
    home.mkdir(parents=True, exist_ok=True)
    config = home / "dagster.yaml"
    if not config.is_symlink() or config.resolve() != (PROJECT_ROOT / "dagster.yaml").resolve():
        config.unlink(missing_ok=True)
        config.symlink_to(PROJECT_ROOT / "dagster.yaml")
    os.environ["DAGSTER_HOME"] = str(home)


LAUNCHER_TAG = "collab_health/launched_by"
LOCK_NAME = "collab-health-run.lock"


@contextmanager
def exclusive_run(instance) -> Iterator[None]:
    """Hold the project's run lock for the length of a command-line run.

    A run killed outright (SIGKILL, a power cut) cannot tidy up: Dagster still shows it as
    started and its DuckDB pool slot stays claimed, so every later run would wait for that
    slot for ever. Holding the lock proves no other command-line run is alive, so any
    command-line run still marked as started is dead: it is marked failed and its slots freed.
    """
    lock_path = Path(os.environ["DAGSTER_HOME"]) / LOCK_NAME
    with open(lock_path, "w") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise SystemExit(
                f"collab-health: another run is in progress (lock held on {lock_path}); not starting a second one."
            ) from None
        from dagster import DagsterRunStatus, RunsFilter

        unfinished = instance.get_runs(
            RunsFilter(
                tags={LAUNCHER_TAG: "cli"},
                statuses=[DagsterRunStatus.STARTED, DagsterRunStatus.STARTING, DagsterRunStatus.NOT_STARTED],
            )
        )
        for run in unfinished:
            instance.report_run_failed(run, "The process running it ended without finishing (killed or crashed).")
            instance.event_log_storage.free_concurrency_slots_for_run(run.run_id)
            print(f"collab-health: run {run.run_id} had been killed; marked failed and its pool slots freed.")
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def mart_summary(warehouse_path: Path) -> list[tuple[str, int]]:
    import duckdb

    with duckdb.connect(str(warehouse_path), read_only=True) as connection:
        tables = connection.execute(
            "select table_name from information_schema.tables where table_schema = 'marts' order by 1"
        ).fetchall()
        return [(name, connection.execute(f'select count(*) from marts."{name}"').fetchone()[0]) for (name,) in tables]


def run_nightly(force: bool = False) -> int:
    _use_project_instance()
    started = time.monotonic()
    data_dir, config_dir = project_dirs()
    # Before paying for Dagster and dbt: has anything changed since the last healthy run?
    run_fingerprint = fingerprint(config_dir)
    outputs = [
        data_dir / "warehouse" / "collab_health.duckdb",
        data_dir / "reports" / "index.html",
        data_dir / "docs" / "collab_health_dbt_docs.html",
    ]
    last = None if force else unchanged_since(data_dir, run_fingerprint, outputs)
    if last is not None:
        print(
            f"collab-health: nothing has changed since healthy run {last['run_id']} ({last['finished_at']}): "
            "the same inputs, configuration, code and key. The warehouse, reports and docs are current; "
            f"not running again ({time.monotonic() - started:.1f} s). Use `collab-health run --force` to run anyway."
        )
        return 0
    print("collab-health: loading definitions (Dagster, dbt manifest) ...", flush=True)
    from dagster import DagsterInstance

    from orchestration.data_quality import step_failure_message, summary_lines
    from orchestration.dbt import docs_path
    from orchestration.definitions import defs
    from orchestration.resources import ProjectPaths

    job = defs.resolve_job_def("nightly")
    paths = ProjectPaths.from_env()
    warehouse_path = paths.warehouse_path
    print(f"collab-health: running job 'nightly' ({time.monotonic() - started:.0f} s so far)", flush=True)
    from expectations.suites import prepare_in_background

    prepare_in_background()  # the checks need it after the files are read: import it meanwhile
    with DagsterInstance.get() as instance, exclusive_run(instance):
        result = job.execute_in_process(
            instance=instance,
            raise_on_error=False,
            tags={LAUNCHER_TAG: "cli"},
            run_config={"loggers": {"console": {"config": {"log_level": "INFO"}}}},
        )
    elapsed = time.monotonic() - started
    checks = result.get_asset_check_evaluations()
    failed_checks = [c for c in checks if not c.passed]
    failed_steps = [e for e in result.all_events if e.is_step_failure]
    errors = [c for c in failed_checks if c.severity.value == "ERROR"]
    healthy = result.success and not errors
    record_healthy_run(data_dir, run_fingerprint if healthy else None, result.run_id)
    print()
    print(f"Run {result.run_id}: {'SUCCESS' if healthy else 'FAILED'} in {elapsed:.0f} s")
    by_message: dict[str, list[str]] = {}
    for event in failed_steps:
        by_message.setdefault(step_failure_message(event), []).append(event.step_key)
    for message, steps in by_message.items():
        print(f"  step{'s' if len(steps) > 1 else ''} {', '.join(steps)} failed: {message}")
    print(f"Asset checks: {len(checks) - len(failed_checks)} passed, {len(failed_checks)} failed")
    for check in failed_checks:
        said = f": {check.description}" if check.description else ""
        print(f"  FAILED {check.asset_key.to_user_string()} / {check.check_name} ({check.severity.value}){said}")
    if paths.build_path.exists():
        import duckdb

        with duckdb.connect(str(paths.build_path), read_only=True) as connection:
            for line in summary_lines(connection):
                print(f"  {line}")
    if warehouse_path.exists():
        note = "" if healthy else " (some may not have been rebuilt by this run)"
        print(f"Marts{note}:")
        for name, rows in mart_summary(warehouse_path):
            print(f"  marts.{name:<48} {rows:>8,} rows")
        print(f"Warehouse for analysts: {warehouse_path}")
        print(f"  open it read-only: duckdb -readonly {warehouse_path}")
    if (paths.reports_dir / "index.html").exists():
        print(f"Reports for system leads: {paths.reports_dir / 'index.html'}")
    if docs_path(paths).exists():
        print(f"Documentation (dbt docs, one file): {docs_path(paths)}")
    return 0 if healthy else 1


def open_ui() -> int:
    _use_project_instance()
    command = [str(Path(sys.executable).parent / "dg"), "dev"]
    return subprocess.call(command, cwd=PROJECT_ROOT)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="collab-health", description="Collaboration health warehouse.")
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="run the nightly job now, in this process, and summarise the marts")
    run.add_argument(
        "--force", action="store_true", help="run even when nothing has changed since the last healthy run"
    )
    commands.add_parser("ui", help="start the Dagster UI (dg dev) on this project")
    args = parser.parse_args(argv)
    sys.exit(run_nightly(args.force) if args.command == "run" else open_ui())


if __name__ == "__main__":
    main()
