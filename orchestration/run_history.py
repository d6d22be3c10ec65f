"""The Dagster instance's run history on SQLite (dagster.yaml's ``storage``), with the event
log's database connections kept open.

Dagster's own SQLite event log (one database per run, plus an index of asset events) creates
a SQLAlchemy engine, opens the file and disposes of both for every event it stores: ~3 ms an
event before any row is written, and a nightly run stores ~1,300 events (a materialisation,
an output and a check evaluation for every dbt node), most of them while the dbt step holds
the warehouse. Here each database keeps one engine with SQLAlchemy's standard connection pool
(the few most recently used databases: the index and the running run), which stores the same
rows in the same files ~5× faster. Everything else, the folder layout included, is Dagster's
``DagsterSqliteStorage``: the UI, the daemon and the command line read the same history.

A process made by ``fork`` (never by Dagster's own executors, which spawn) does not share the
parent's open connections: it opens its own on first use.
"""

from __future__ import annotations

import os
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy
from dagster._core.storage.event_log.sqlite.sqlite_event_log import SqliteEventLogStorage
from dagster._core.storage.sqlite import SQLITE_BUSY_TIMEOUT_SECONDS
from dagster._core.storage.sqlite_storage import DagsterSqliteStorage, _event_logs_directory
from sqlalchemy.engine import Connection, Engine

#: Databases whose engine (and one pooled connection) stays open: the index and the runs being
#: written or read. An older one is closed when a newer one is opened.
OPEN_DATABASES = 4


class PooledSqliteEventLogStorage(SqliteEventLogStorage):
    """Dagster's SQLite event log, one pooled engine per database file instead of one engine
    per event. Connections are still used one at a time (the storage's lock), as Dagster's are."""

    def __init__(self, base_dir: str, inst_data=None) -> None:
        self._engines: OrderedDict[str, Engine] = OrderedDict()
        self._engines_pid = os.getpid()
        super().__init__(base_dir, inst_data)

    @classmethod
    def from_config_value(cls, inst_data, config_value) -> PooledSqliteEventLogStorage:
        return cls(inst_data=inst_data, **config_value)

    def _engine(self, shard: str) -> Engine:
        """The shard's engine, created (and its database initialised) on first use; called with
        the storage's lock held."""
        if self._engines_pid != os.getpid():  # a forked child: leave the parent's connections be
            for engine in self._engines.values():
                engine.dispose(close=False)
            self._engines.clear()
            self._engines_pid = os.getpid()
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

    @contextmanager
    def _connect(self, shard: str) -> Iterator[Connection]:
        with self._db_lock:
            with self._engine(shard).connect() as connection, connection.begin():
                yield connection

    def _close_engines(self) -> None:
        with self._db_lock:
            for engine in self._engines.values():
                engine.dispose()
            self._engines.clear()

    def wipe(self) -> None:
        self._close_engines()  # the run databases' files are deleted
        super().wipe()

    def upgrade(self) -> None:
        self._close_engines()
        super().upgrade()

    def dispose(self) -> None:
        self._close_engines()
        super().dispose()


class PooledSqliteStorage(DagsterSqliteStorage):
    """``DagsterSqliteStorage`` (runs, event logs and schedules under one folder) with the pooled
    event log. Configured in dagster.yaml as ``storage: custom:`` with the same ``base_dir``."""

    def __init__(self, base_dir: str, inst_data=None) -> None:
        super().__init__(base_dir, inst_data)
        self._event_log_storage = PooledSqliteEventLogStorage(_event_logs_directory(base_dir))

    @classmethod
    def from_config_value(cls, inst_data, config_value) -> PooledSqliteStorage:
        return cls.from_local(inst_data=inst_data, **config_value)
