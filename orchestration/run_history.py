"""The Dagster instance's run history on SQLite (dagster.yaml's ``storage``), with the event
log's database connections kept open.

Dagster's own SQLite event log (one database per run, plus an index of asset events) creates
a SQLAlchemy engine, opens the file and disposes of both for every event it stores: ~3 ms an
event before any row is written, and a nightly run stores ~1,300 events (a materialisation,
an output and a check evaluation for every dbt node), most of them while the dbt step holds
the warehouse. Here each database keeps one engine with SQLAlchemy's standard connection pool
(the few most recently used databases: the index and the running run), which stores the same
rows in the same files: on the sample run, 3.7 s for its events instead of 7.7 s (0.7 ms an
event instead of 3 ms in isolation). Everything else, the folder layout included, is
Dagster's ``DagsterSqliteStorage``: the UI, the daemon and the command line read the same
history.

An open connection leaves new events in the database's write-ahead log (``<run>.db-wal``)
until SQLite checkpoints it, where Dagster's storage, closing its connection after each
event, moved them into ``<run>.db`` at once. The UI follows a running run by watching the
run's files for changes: here it watches the write-ahead log too.

A process made by ``fork`` (never by Dagster's own executors, which spawn) does not share the
parent's open connections: it opens its own on first use, and leaves the parent's open.
"""

from __future__ import annotations

import os
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy
from dagster._core.storage.event_log.sqlite.sqlite_event_log import (
    SqliteEventLogStorage,
    SqliteEventLogStorageWatchdog,
)
from dagster._core.storage.sqlite import SQLITE_BUSY_TIMEOUT_SECONDS
from dagster._core.storage.sqlite_storage import DagsterSqliteStorage, _event_logs_directory
from sqlalchemy.engine import Connection, Engine
from watchdog.events import PatternMatchingEventHandler
from watchdog.observers import Observer

#: Databases whose engine (and one pooled connection) stays open: the index and the runs being
#: written or read. An older one is closed when a newer one is opened.
OPEN_DATABASES = 4


class PooledSqliteEventLogStorage(SqliteEventLogStorage):
    """Dagster's SQLite event log, one pooled engine per database file instead of one engine
    per event. Connections are still used one at a time (the storage's lock), as Dagster's are."""

    def __init__(self, base_dir: str, inst_data=None) -> None:
        self._engines: OrderedDict[str, Engine] = OrderedDict()
        self._engines_pid = os.getpid()
        self._inherited: list[Engine] = []  # a forked child's copies of the parent's: never closed
        self._tables_found: set[str] = set()
        super().__init__(base_dir, inst_data)

    @classmethod
    def from_config_value(cls, inst_data, config_value) -> PooledSqliteEventLogStorage:
        return cls(inst_data=inst_data, **config_value)

    def _engine(self, shard: str) -> Engine:
        """The shard's engine, created (and its database initialised) on first use; called with
        the storage's lock held."""
        self._leave_parents_engines()
        engine = self._engines.pop(shard, None)
        if engine is None:
            engine = sqlalchemy.create_engine(
                self.conn_string_for_shard(shard),
                pool_size=1,
                connect_args={"timeout": SQLITE_BUSY_TIMEOUT_SECONDS, "check_same_thread": False},
            )
            if shard not in self._initialized_dbs:
                self._initdb(engine)
                self._initialized_dbs.add(shard)
        self._engines[shard] = engine
        while len(self._engines) > OPEN_DATABASES:
            self._engines.popitem(last=False)[1].dispose()
        return engine

    def _leave_parents_engines(self) -> None:
        """In a forked child, forget the parent's engines without closing their connections
        (SQLite's files must not be closed by a process that did not open them)."""
        if self._engines_pid != os.getpid():
            for engine in self._engines.values():
                engine.dispose(close=False)
            self._inherited.extend(self._engines.values())
            self._engines.clear()
            self._engines_pid = os.getpid()

    @contextmanager
    def _connect(self, shard: str) -> Iterator[Connection]:
        with self._db_lock:
            with self._engine(shard).connect() as connection, connection.begin():
                yield connection

    def has_table(self, table_name: str) -> bool:
        """As Dagster's (which opens an engine of its own, outside the lock: it is called with a
        connection held), remembering a table once found: tables are only added, by `upgrade`.
        Dagster asks before storing every check evaluation and asset event's tags."""
        if table_name in self._tables_found:
            return True
        found = super().has_table(table_name)
        if found:
            self._tables_found.add(table_name)
        return found

    def _close_engines(self) -> None:
        with self._db_lock:
            self._leave_parents_engines()
            for engine in self._engines.values():
                engine.dispose()
            self._engines.clear()

    def wipe(self) -> None:
        self._close_engines()  # the run databases' files are deleted
        self._tables_found.clear()
        super().wipe()
        self._close_engines()  # any opened meanwhile, on a deleted file

    def watch(self, run_id: str, cursor: str | None, callback) -> None:
        """As Dagster's, watching the run's write-ahead log as well as its database."""
        if not self._obs:
            self._obs = Observer()
            self._obs.start()
        watchdog = _WriteAheadLogWatchdog(self, run_id, callback, cursor)
        self._watchers[run_id][callback] = (watchdog, self._obs.schedule(watchdog, self._base_dir, recursive=True))

    def upgrade(self) -> None:
        self._close_engines()
        self._tables_found.clear()
        super().upgrade()

    def dispose(self) -> None:
        self._close_engines()
        super().dispose()


class _WriteAheadLogWatchdog(SqliteEventLogStorageWatchdog):
    """Dagster's watcher of a run's events, on the run's database and its write-ahead log."""

    def __init__(self, event_log_storage, run_id, callback, cursor) -> None:
        super().__init__(event_log_storage, run_id, callback, cursor)
        self._paths = (self._log_path, f"{self._log_path}-wal")
        PatternMatchingEventHandler.__init__(self, patterns=list(self._paths))

    def on_modified(self, event) -> None:
        if event.src_path in self._paths:
            self._process_log()


class PooledSqliteStorage(DagsterSqliteStorage):
    """``DagsterSqliteStorage`` (runs, event logs and schedules under one folder) with the pooled
    event log. Configured in dagster.yaml as ``storage: custom:`` with the same ``base_dir``."""

    def __init__(self, base_dir: str, inst_data=None) -> None:
        super().__init__(base_dir, inst_data)
        self._event_log_storage = PooledSqliteEventLogStorage(_event_logs_directory(base_dir))

    @classmethod
    def from_config_value(cls, inst_data, config_value) -> PooledSqliteStorage:
        return cls.from_local(inst_data=inst_data, **config_value)
