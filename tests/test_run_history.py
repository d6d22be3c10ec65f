"""The instance's run history (orchestration/run_history.py): the project's dagster.yaml selects
the pooled SQLite storage, runs stored through it read the same with Dagster's own SQLite
storage, and open databases stay bounded."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from dagster import AssetCheckResult, DagsterInstance, asset, asset_check, materialize

from orchestration.run_history import OPEN_DATABASES, PooledSqliteEventLogStorage, PooledSqliteStorage

pytestmark = pytest.mark.integration

PROJECT_ROOT = Path(__file__).resolve().parent.parent


@asset
def numbers() -> list[int]:
    return [1, 2, 3]


@asset
def total(numbers: list[int]) -> int:
    return sum(numbers)


@asset_check(asset=total)
def total_is_six(total: int) -> AssetCheckResult:
    return AssetCheckResult(passed=total == 6)


@pytest.fixture
def dagster_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "dagster"
    home.mkdir()
    shutil.copyfile(PROJECT_ROOT / "dagster.yaml", home / "dagster.yaml")
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    return home


def test_project_instance_uses_pooled_storage_readable_by_dagster_default(dagster_home: Path) -> None:
    with DagsterInstance.get() as instance:
        assert instance.get_ref().storage_data.class_name == PooledSqliteStorage.__name__
        assert isinstance(instance.event_log_storage, PooledSqliteEventLogStorage)
        result = materialize([numbers, total, total_is_six], instance=instance)
        assert result.success
        run_id = result.run_id
        stored = [entry.dagster_event_type for entry in instance.all_logs(run_id)]

    # The same folder opened with Dagster's stock SQLite storage (no storage configured): what
    # the UI would read without this project's module.
    (dagster_home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    with DagsterInstance.get() as stock:
        assert type(stock.event_log_storage).__name__ == "SqliteEventLogStorage"
        assert [entry.dagster_event_type for entry in stock.all_logs(run_id)] == stored
        assert len(stored) > 10
        latest = stock.get_latest_materialization_event(total.key)
        assert latest is not None and latest.run_id == run_id
        check = stock.event_log_storage.get_latest_asset_check_execution_by_key([total_is_six.check_key])
        assert check[total_is_six.check_key].run_id == run_id


def test_open_databases_stay_bounded(dagster_home: Path) -> None:
    with DagsterInstance.get() as instance:
        storage = instance.event_log_storage
        run_ids = [materialize([numbers, total], instance=instance).run_id for _ in range(OPEN_DATABASES + 2)]
        assert len(storage._engines) <= OPEN_DATABASES
        # A run whose database was closed is read (and reopened) again without trouble.
        assert instance.all_logs(run_ids[0])
        assert len(storage._engines) <= OPEN_DATABASES


@pytest.mark.skipif(not hasattr(os, "fork"), reason="fork is POSIX only")
def test_forked_child_opens_its_own_connections(dagster_home: Path) -> None:
    with DagsterInstance.get() as instance:
        run_id = materialize([numbers], instance=instance).run_id
        before = len(instance.all_logs(run_id))
        parent_engines = dict(instance.event_log_storage._engines)
        pid = os.fork()
        if pid == 0:  # the child: reads through connections of its own, then leaves at once
            ok = len(instance.all_logs(run_id)) == before and all(
                engine is not parent_engines.get(shard) for shard, engine in instance.event_log_storage._engines.items()
            )
            os._exit(0 if ok else 1)
        _, status = os.waitpid(pid, 0)
        assert os.waitstatus_to_exitcode(status) == 0
        # The parent's pooled connections still work after the child has gone.
        assert len(instance.all_logs(run_id)) == before
        assert instance.event_log_storage._engines.keys() >= parent_engines.keys() - {None}


def test_a_watcher_sees_events_while_the_writer_keeps_its_connection(tmp_path: Path) -> None:
    """The UI follows a running run by watching its files: with the connection kept open the
    events sit in the write-ahead log, which is watched too."""
    import time

    from dagster._core.events.log import EventLogEntry

    storage = PooledSqliteEventLogStorage(str(tmp_path / "runs"))
    seen: list[str] = []

    def entry(message: str) -> EventLogEntry:
        return EventLogEntry(
            error_info=None, level=20, user_message=message, run_id="run1", timestamp=time.time(), job_name="j"
        )

    try:
        storage.store_event(entry("before watching"))
        storage.watch("run1", None, lambda event, _cursor: seen.append(event.user_message))
        for i in range(5):
            storage.store_event(entry(f"event {i}"))
        deadline = time.monotonic() + 10
        while len(seen) < 6 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert "run1" in storage._engines  # the writer's connection is still open
        assert seen == ["before watching", *[f"event {i}" for i in range(5)]]
    finally:
        storage.dispose()


def test_a_table_once_found_is_not_looked_up_again(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from dagster._core.storage.event_log.sqlite.sqlite_event_log import SqliteEventLogStorage

    storage = PooledSqliteEventLogStorage(str(tmp_path / "runs"))
    looked_up: list[str] = []
    dagsters = SqliteEventLogStorage.has_table
    monkeypatch.setattr(
        SqliteEventLogStorage, "has_table", lambda self, name: looked_up.append(name) or dagsters(self, name)
    )
    try:
        assert all(storage.supports_asset_checks for _ in range(3))
        assert not storage.has_table("no_such_table")
        assert not storage.has_table("no_such_table")  # a missing table is asked again: `upgrade` may add it
        assert looked_up == ["asset_check_executions", "no_such_table", "no_such_table"]
    finally:
        storage.dispose()
