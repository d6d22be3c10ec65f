"""`collab-health`: run the nightly job in one process and say what it left behind.

collab-health run [--force] [--verbose]
                      materialise every asset and check, one line per stage, then
                      summarise the checks, quarantine and marts (skipped, saying so,
                      when nothing changed since the last healthy run)
collab-health sql [SQL]
                      the DuckDB command line on the published warehouse, read-only
collab-health ui      the Dagster UI on this project (dg dev)
collab-health spc FILE [--convention NAME] [--output OUT.csv]
                      SPC of the series in a CSV with the nightly build's SPC model
                      (orchestration/spc_command.py; no Dagster)
"""

from __future__ import annotations

import argparse
import filecmp
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from filelock import FileLock, Timeout

from orchestration import spc_command
from orchestration.data_quality import REASON_KIND, step_failure_message
from orchestration.run_state import fingerprint, record_healthy_run, run_outputs, unchanged_since
from orchestration.settings import PROJECT_ROOT, Settings, SettingsError, telemetry_off

LAUNCHER_TAG = "collab_health/launched_by"
#: Dagster's tag naming a run's code location: with it the UI lists command-line runs under
#: the job (Jobs page, run history) like runs it launched itself.
REPOSITORY_TAG = ".dagster/repository"
DUCKDB_CLI = Path(sys.executable).parent / "duckdb"


def _use_project_instance(settings: Settings) -> None:
    """Point Dagster at this project's instance: DAGSTER_HOME defaults to
    ``<data folder>/dagster`` (``var/dagster``), holding a copy of the project's dagster.yaml,
    so that runs from the command line and the UI share one history."""
    telemetry_off()
    home = settings.instance_dir
    home.mkdir(parents=True, exist_ok=True)
    config = home / "dagster.yaml"
    if settings.dagster_home is None:
        if config.is_symlink() or not config.exists() or not filecmp.cmp(config, PROJECT_ROOT / "dagster.yaml"):
            config.unlink(missing_ok=True)
            shutil.copyfile(PROJECT_ROOT / "dagster.yaml", config)
    os.environ["DAGSTER_HOME"] = str(home)


def relax_sqlite_durability() -> None:
    """Dagster's local run history (SQLite, one transaction per event, ~1,300 events for a
    nightly run) is written without waiting for the disk on every commit in this process
    (``PRAGMA synchronous=OFF``): the run's bookkeeping then costs seconds, not tens of
    seconds. A killed process loses nothing (the operating system still writes the pages);
    a power cut during a run can damage the run history in ``var/dagster`` (never the
    warehouse, which is published with fsync). Deployments that need durable run history
    use Dagster's PostgreSQL storage (dagster.yaml)."""
    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    @event.listens_for(Engine, "connect")
    def _no_fsync(connection, _record) -> None:
        if type(connection).__module__.startswith("sqlite3"):
            cursor = connection.cursor()
            cursor.execute("PRAGMA synchronous=OFF")
            cursor.close()


@contextmanager
def run_lock(settings: Settings) -> Iterator[None]:
    """One run at a time per data folder: the lock is taken before anything touches Dagster's
    instance or a warehouse, and released when the process ends however it ends (the
    operating system drops the lock of a killed process). Works on Linux, macOS and Windows."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    lock = FileLock(settings.lock_file, timeout=0)
    try:
        lock.acquire()
    except Timeout:
        raise SystemExit(
            f"collab-health: another run is in progress on {settings.data_dir} (lock held on "
            f"{settings.lock_file}); not starting a second one."
        ) from None
    try:
        yield
    finally:
        lock.release()


def fail_dead_runs(instance) -> None:
    """With the data folder's lock held, no other command-line run is alive: any still marked
    as started was killed (SIGKILL, a power cut) and could not tidy up. Mark it failed and
    free its DuckDB pool slot, or every later run would wait for that slot for ever."""
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


def mart_summary(warehouse_path: Path) -> list[tuple[str, int]]:
    import duckdb

    with duckdb.connect(str(warehouse_path), read_only=True) as connection:
        tables = connection.execute(
            "select table_name from information_schema.tables where table_schema = 'marts' order by 1"
        ).fetchall()
        return [(name, connection.execute(f'select count(*) from marts."{name}"').fetchone()[0]) for (name,) in tables]


def quarantine_summary(warehouse_path: Path, top: int = 3) -> list[tuple[str, int, int, list[tuple[str, int]]]]:
    """Per source: rows quarantined, files rejected whole, and the most frequent kinds of reason."""
    import duckdb

    summary = []
    with duckdb.connect(str(warehouse_path), read_only=True) as connection:
        tables = connection.execute(
            "select table_name from information_schema.tables where table_schema = 'quarantine' order by 1"
        ).fetchall()
        for (source,) in tables:
            rows, files = connection.execute(
                f"select count(distinct (source_file, source_row)) filter (where scope = 'row'), "
                f"count(*) filter (where scope = 'file') from quarantine.\"{source}\""
            ).fetchone()
            reasons = connection.execute(
                # A file rejected whole is one line with its own message; row reasons by kind.
                f"select case when scope = 'file' then reason else {REASON_KIND} end as kind, count(*) as n "
                f'from quarantine."{source}" '
                "where scope in ('row', 'file') group by kind order by n desc, kind limit ?",
                [top],
            ).fetchall()
            if rows or files:
                summary.append((source, rows, files, reasons))
    return summary


def print_quarantine(warehouse_path: Path) -> None:
    import duckdb

    if not warehouse_path.exists():
        return
    try:
        summary = quarantine_summary(warehouse_path)
    except duckdb.Error as error:
        print(f"Quarantine: cannot be summarised ({str(error).splitlines()[0]}); see the quarantine schema")
        return
    if not summary:
        print("Quarantine: no rows set aside")
        return
    print("Quarantine (rows set aside with a reason: the quarantine schema of the warehouse):")
    for source, rows, files, reasons in summary:
        rejected = f", {files} files rejected whole" if files else ""
        print(f"  {source}: {rows:,} rows{rejected}")
        for reason, n in reasons:
            print(f"    {n:>6,}  {reason}")


def run_nightly(force: bool = False, verbose: bool = False) -> int:
    started = time.monotonic()
    try:
        settings = Settings.from_environ()
    except SettingsError as error:
        print(f"collab-health: {error}", file=sys.stderr)
        return 2
    if problem := settings.engine_problem():
        print(f"collab-health: {problem}", file=sys.stderr)
        return 2
    with run_lock(settings):
        _use_project_instance(settings)
        # Before paying for Dagster and dbt: has anything changed since the last healthy run?
        run_fingerprint = fingerprint(settings)
        last = None if force else unchanged_since(settings.data_dir, run_fingerprint, run_outputs(settings))
        if last is not None:
            print(
                f"collab-health: nothing has changed since healthy run {last['run_id']} ({last['finished_at']}): "
                "the same inputs, configuration, code and key. The warehouse, reports and docs are current; "
                f"not running again ({time.monotonic() - started:.1f} s). Use `collab-health run --force` to run anyway."
            )
            return 0
        print("collab-health: loading definitions (Dagster, dbt manifest) ...", flush=True)
        return _run(settings, run_fingerprint, started, verbose)


def _run(settings: Settings, run_fingerprint: str | None, started: float, verbose: bool) -> int:
    from uuid import uuid4

    from dagster import DagsterInstance

    from expectations.suites import prepare_in_background
    from orchestration.dbt import LAYERS
    from orchestration.definitions import CODE_LOCATION, build_definitions
    from orchestration.nightly import NIGHTLY_JOB
    from orchestration.progress import RunConsole

    prepare_in_background()  # the checks need it after the files are read: import it meanwhile
    relax_sqlite_durability()
    from orchestration.assets import CONFIGURATION_ERRORS

    try:
        defs = build_definitions(settings)  # reads sources.yaml and the layouts
    except CONFIGURATION_ERRORS as error:  # said at once, with the whole message; nothing runs
        print(f"collab-health: configuration error: {error}", file=sys.stderr)
        return 2
    job = defs.resolve_job_def(NIGHTLY_JOB)
    graph = defs.resolve_asset_graph()
    run_id = str(uuid4())
    console = RunConsole(
        step_keys=list(job.graph.node_dict),
        dbt_models=sum(graph.get(key).group_name in LAYERS for key in graph.get_all_asset_keys()),
        log_path=settings.logs_dir / f"{run_id}.log",
        verbose=verbose,
    )
    job = job.with_logger_defs({"progress": console.logger_definition()})
    print(
        f"collab-health: running job '{NIGHTLY_JOB}' as run {run_id} ({time.monotonic() - started:.0f} s so far; "
        f"log: {console.log_path})",
        flush=True,
    )
    with DagsterInstance.get() as instance:
        fail_dead_runs(instance)
        try:
            with console.capturing_stdout():
                result = job.execute_in_process(
                    instance=instance,
                    raise_on_error=False,
                    run_id=run_id,
                    tags={LAUNCHER_TAG: "cli", REPOSITORY_TAG: f"__repository__@{CODE_LOCATION}"},
                    run_config={"loggers": {"progress": {}}},
                )
        finally:
            console.finish()
    elapsed = time.monotonic() - started
    checks = result.get_asset_check_evaluations()
    failed_checks = [c for c in checks if not c.passed]
    failed_steps = [e for e in result.all_events if e.is_step_failure]
    errors = [c for c in failed_checks if c.severity.value == "ERROR"]
    healthy = result.success and not errors
    record_healthy_run(settings.data_dir, run_fingerprint if healthy else None, result.run_id)
    print()
    print(f"Run {result.run_id}: {'SUCCESS' if healthy else 'FAILED'} in {elapsed:.0f} s")
    by_message: dict[str, list[str]] = {}
    for event in failed_steps:  # a configuration error fails every step that reads it: said once
        by_message.setdefault(step_failure_message(event), []).append(event.step_key)
    for message, steps in by_message.items():
        print(f"  step{'s' if len(steps) > 1 else ''} {', '.join(steps)} failed: {message}")
    print(f"Asset checks: {len(checks) - len(failed_checks)} passed, {len(failed_checks)} failed")
    for check in failed_checks:
        said = f": {check.description}" if check.description else ""
        print(f"  FAILED {check.asset_key.to_user_string()} / {check.check_name} ({check.severity.value}){said}")
    # This run's quarantine: published with the marts when the run was healthy (a file no
    # writer holds), else in the working warehouse it built.
    print_quarantine(settings.published_warehouse if healthy else settings.build_warehouse)
    warehouse_path = settings.published_warehouse
    if warehouse_path.exists():
        note = "" if healthy else " (some may not have been rebuilt by this run)"
        print(f"Marts{note}:")
        for name, rows in mart_summary(warehouse_path):
            print(f"  marts.{name:<48} {rows:>8,} rows")
        print(f"Warehouse for analysts: {warehouse_path}")
        print("  open it read-only: .venv/bin/collab-health sql")
    if (settings.reports_dir / "index.html").exists():
        print(f"Reports for system leads: {settings.reports_dir / 'index.html'}")
    if settings.docs_file.exists():
        print(f"Documentation (dbt docs, one file): {settings.docs_file}")
    print(f"Run log: {console.log_path}")
    return 0 if healthy else 1


def open_sql(statements: list[str]) -> int:
    """The DuckDB command line on the published warehouse, read-only (a statement given on the
    command line runs and exits)."""
    settings = Settings.from_environ()
    warehouse = settings.published_warehouse
    if not warehouse.exists():
        print(f"collab-health: no published warehouse yet at {warehouse}; run `collab-health run` first.")
        return 1
    command = [str(DUCKDB_CLI), "-readonly", str(warehouse)]
    if statements:
        command += ["-c", " ".join(statements)]
    return subprocess.call(command)


def open_ui() -> int:
    """`dg dev` (webserver and daemon) on this project's instance. It starts in the instance's
    folder, made a dg workspace holding this one project, so Dagster reads its configuration
    only where DAGSTER_HOME says, and with this virtual environment named as the active one."""
    from orchestration.dbt import prepare_manifest

    settings = Settings.from_environ()
    _use_project_instance(settings)
    prepare_manifest(settings)
    home = settings.instance_dir
    (home / "dg.toml").write_text(
        "# Written by `collab-health ui`: a dg workspace of this one project.\n"
        'directory_type = "workspace"\n\n'
        "[workspace]\n\n"
        "[[workspace.projects]]\n"
        f"path = {json.dumps(str(PROJECT_ROOT))}\n",
        encoding="utf-8",
    )
    environment = {**os.environ, "VIRTUAL_ENV": str(Path(sys.executable).parent.parent)}
    return subprocess.call([str(Path(sys.executable).parent / "dg"), "dev"], cwd=home, env=environment)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="collab-health", description="Collaboration health warehouse.")
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="run the nightly job now, in this process, and summarise the marts")
    run.add_argument(
        "--force", action="store_true", help="run even when nothing has changed since the last healthy run"
    )
    run.add_argument("--verbose", action="store_true", help="print every log line (dbt's too), not one per stage")
    sql = commands.add_parser("sql", help="open the published warehouse read-only in the DuckDB command line")
    sql.add_argument("statement", nargs="*", help="SQL to run and exit (default: an interactive prompt)")
    commands.add_parser("ui", help="start the Dagster UI and daemon (dg dev) on this project")
    spc_command.add_subcommand(commands)
    args = parser.parse_args(argv)
    if args.command == "spc":
        sys.exit(spc_command.run(args))
    if args.command == "run":
        sys.exit(run_nightly(args.force, args.verbose))
    sys.exit(open_sql(args.statement) if args.command == "sql" else open_ui())


if __name__ == "__main__":
    main()
