"""Dagster resources: where inputs and configuration live, and the DuckDB warehouse."""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path

import duckdb
import polars as pl
from dagster import ConfigurableResource

from ingest.sources import Source, is_url, load_sources
from orchestration.settings import PROJECT_ROOT, Settings

#: The bundled synthetic exports: the only input the public demo pseudonymisation key may hash.
SAMPLE_DIAGNOSTIC_EXPORTS = PROJECT_ROOT / "sample_data" / "diagnostic_exports"
IDENTIFIER = re.compile(r"[a-z_][a-z0-9_]*")


#: The warehouse connections shared by `DuckDBWarehouse.one_connection` (warehouse path ->
#: connection) in this thread of execution.
_SHARED_CONNECTIONS: ContextVar[dict[str, duckdb.DuckDBPyConnection] | None] = ContextVar("shared_duckdb", default=None)


def _check_identifier(name: str) -> None:
    if not IDENTIFIER.fullmatch(name):
        raise ValueError(f"not a safe SQL identifier: {name!r}")


def _resolved_location(value: str) -> str:
    value = value.strip()
    return value if not value or is_url(value) else str(Path(value).expanduser().resolve())


class ProjectPaths(ConfigurableResource):
    """Folders the pipeline reads and writes, and where each source's inputs come from
    (``config/sources.yaml``, each overridable by an environment variable)."""

    data_dir: str
    config_dir: str
    #: Source location overrides taken from the environment (variable -> value).
    source_overrides: dict[str, str] = {}  # noqa: RUF012 (pydantic copies field defaults)

    @classmethod
    def from_settings(cls, settings: Settings) -> ProjectPaths:
        return cls(
            data_dir=str(settings.data_dir),
            config_dir=str(settings.config_dir),
            source_overrides={
                variable: _resolved_location(value) for variable, value in settings.source_overrides.items()
            },
        )

    @property
    def folders(self) -> Settings:
        """Where things are under this resource's data and configuration folders."""
        return Settings(data_dir=Path(self.data_dir), config_dir=Path(self.config_dir))

    def source(self, name: str) -> Source:
        return load_sources(Path(self.config_dir), self.source_overrides)[name]

    def uses_sample_diagnostic_exports(self) -> bool:
        """True when the diagnostic exports are exactly the bundled synthetic sample."""
        locations = self.source("diagnostic_exports").locations
        return [Path(location).resolve() for location in locations if not is_url(location)] == [
            SAMPLE_DIAGNOSTIC_EXPORTS.resolve()
        ] and len(locations) == 1

    def landing(self, source: str) -> Path:
        return self.folders.landing(source)

    @property
    def warehouse_path(self) -> Path:
        """The published warehouse: the file analysts open, read-only. Replaced whole, atomically."""
        return self.folders.published_warehouse

    @property
    def reports_dir(self) -> Path:
        """The system leads' reports: one HTML file per collaboration and index.html."""
        return self.folders.reports_dir

    @property
    def build_path(self) -> Path:
        """The working warehouse the run builds into; never opened by analysts."""
        return self.folders.build_warehouse


def _parquet_files(folder: Path) -> str:
    """A SQL list of the Parquet files of `folder`, in name order: named one by one, since
    a glob would read `[`, `*` or `?` in the warehouse's own path as patterns."""
    paths = sorted(Path(folder).glob("*.parquet"))
    if not paths:
        raise FileNotFoundError(f"no Parquet files in {folder}")
    return "[" + ", ".join("'" + str(path).replace("'", "''") + "'" for path in paths) + "]"


class DuckDBWarehouse(ConfigurableResource):
    """The working DuckDB warehouse the run builds into (not the published copy analysts
    read). Writers are serialised by the `duckdb` concurrency pool."""

    path: str
    #: When set (COLLAB_HEALTH_ENGINE=spark), every table written through `replace_tables` is
    #: also written as Parquet to ``<parquet_dir>/<schema>/<table>/data.parquet``: the inputs
    #: the dbt spark target reads (macros/input_tables.sql).
    parquet_dir: str = ""
    #: DuckDB's memory limit for this process's connections (COLLAB_HEALTH_DUCKDB_MEMORY_LIMIT,
    #: as for the dbt build): beyond it DuckDB spills to ``<warehouse>.tmp``. Empty: DuckDB's
    #: default (80% of the machine's memory), with which writing 40 million answers from
    #: Parquet alone took 1.3 GB.
    memory_limit: str = ""

    @contextmanager
    def connect(self, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
        """A connection to the warehouse, closed after use; inside `one_connection`, a cursor
        of its connection (read-write whatever `read_only` says)."""
        shared = (_SHARED_CONNECTIONS.get() or {}).get(self.path)
        if shared is not None:
            cursor = shared.cursor()
            try:
                yield cursor
            finally:
                cursor.close()
            return
        Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        connection = duckdb.connect(
            self.path, read_only=read_only, config={"memory_limit": self.memory_limit} if self.memory_limit else {}
        )
        try:
            yield connection
        finally:
            connection.close()

    @contextmanager
    def one_connection(self) -> Iterator[None]:
        """Within it, every `connect` (and so every method here) in this thread uses one open
        warehouse, read-write: a step that reads or writes several times opens and closes the
        file once. DuckDB opens a database in ~16 ms and closes it in ~8 ms, whatever its
        size; a run connected 107 times. Used around a step's small reads and writes only: the
        file is closed (its memory given back, its lock released for dbt) when the block ends,
        and a big table is written on a connection of its own, whose memory goes back at once.
        A stream from `read_batches` must be closed inside the block."""
        if self.path in (_SHARED_CONNECTIONS.get() or {}):
            yield
            return
        with self.connect() as connection:
            token = _SHARED_CONNECTIONS.set({**(_SHARED_CONNECTIONS.get() or {}), self.path: connection})
            try:
                yield
            finally:
                _SHARED_CONNECTIONS.reset(token)

    def replace_tables(self, schema: str, tables: dict[str, pl.DataFrame]) -> None:
        """Replace each table of `schema` with a frame, all in one transaction."""
        for identifier in [schema, *tables]:
            _check_identifier(identifier)
        with self.connect() as connection:
            connection.execute("begin transaction")
            connection.execute(f'create schema if not exists "{schema}"')
            for name, frame in tables.items():
                connection.register("incoming", frame.to_arrow())
                connection.execute(f'create or replace table "{schema}"."{name}" as select * from incoming')
                connection.unregister("incoming")
            connection.execute("commit")
            for name in tables:
                self._write_parquet(connection, schema, name)

    def replace_table_from_parquet(
        self,
        schema: str,
        name: str,
        folder: Path,
        keep: pl.DataFrame | Path | None = None,
        on: list[str] | tuple[str, ...] = (),
        order_by: tuple[str, ...] = (),
    ) -> int:
        """Replace `schema.name` with the rows of the Parquet files in `folder` whose `on`
        columns match a row of `keep` (a frame, or a folder of Parquet files; None: every
        row), in `order_by` order (nulls first) if given; else, without `keep`, in the files'
        own order (with `keep`, in no set order: a semi join does not keep it). DuckDB reads
        the files itself, spilling rather than holding them. Returns the row count."""
        for identifier in [schema, name, *on, *order_by]:
            _check_identifier(identifier)
        files = _parquet_files(folder)
        columns = ", ".join(f'"{column}"' for column in on)
        query = f"select * from read_parquet({files}, union_by_name = true)"
        with self.connect() as connection:
            if isinstance(keep, pl.DataFrame):
                connection.register("keep", keep.select(on).unique().to_arrow())
                query += f" semi join keep using ({columns})"
            elif keep is not None:
                query += f" semi join (select distinct {columns} from read_parquet({_parquet_files(keep)})) kept using ({columns})"
            if order_by:
                query += " order by " + ", ".join(f'"{column}" nulls first' for column in order_by)
            connection.execute("begin transaction")
            connection.execute(f'create schema if not exists "{schema}"')
            connection.execute(f'create or replace table "{schema}"."{name}" as {query}')
            connection.execute("commit")
            self._write_parquet(connection, schema, name)
            return connection.execute(f'select count(*) from "{schema}"."{name}"').fetchone()[0]

    def write_parquet(self, schema: str, name: str) -> None:
        """Write one table as Parquet for the Spark engine (nothing when `parquet_dir` is unset)."""
        _check_identifier(schema)
        _check_identifier(name)
        with self.connect(read_only=True) as connection:
            self._write_parquet(connection, schema, name)

    def _write_parquet(self, connection: duckdb.DuckDBPyConnection, schema: str, name: str) -> None:
        if not self.parquet_dir:
            return
        folder = Path(self.parquet_dir) / schema / name
        writing, old = folder.with_name(f".{name}.writing"), folder.with_name(f".{name}.old")
        for leftover in (writing, old):
            shutil.rmtree(leftover, ignore_errors=True)
        writing.mkdir(parents=True)
        target = str(writing / "data.parquet").replace("'", "''")
        connection.execute(f"""copy "{schema}"."{name}" to '{target}' (format parquet)""")
        # Swap the folder whole: a reader sees last night's table or tonight's, never a mix.
        if folder.exists():
            os.replace(folder, old)
        os.replace(writing, folder)
        shutil.rmtree(old, ignore_errors=True)

    def read_table(self, schema: str, name: str, columns: tuple[str, ...] = ()) -> pl.DataFrame:
        """A table (or only some of its columns) as a polars frame."""
        for identifier in (schema, name, *columns):
            _check_identifier(identifier)
        selected = ", ".join(f'"{c}"' for c in columns) if columns else "*"
        with self.connect(read_only=True) as connection:
            return connection.sql(f'select {selected} from "{schema}"."{name}"').pl()

    def count_rows(self, schema: str, name: str) -> int:
        for identifier in (schema, name):
            _check_identifier(identifier)
        return self.query(f'select count(*) from "{schema}"."{name}"')[0][0]

    def read_batches(
        self,
        schema: str,
        name: str,
        columns: tuple[str, ...] = (),
        rows: int = 1_000_000,
        max_bytes: int = 0,
        counted: str = "",
    ) -> Iterator[pl.DataFrame]:
        """A table (or some of its columns) as polars frames of at most `rows` rows and, when
        `max_bytes` is set, about that many bytes (in Arrow: a wide table's batches have fewer
        rows), in bounded memory: DuckDB streams the batches (at least one, empty for an
        empty table). With `counted`, the distinct rows instead, in order, each with its
        number of rows in a column of that name."""
        import pyarrow as pa  # only here: not on the start-up path

        for identifier in (schema, name, *columns, *([counted] if counted else [])):
            _check_identifier(identifier)
        selected = ", ".join(f'"{c}"' for c in columns) if columns else "*"
        query = f'select {selected} from "{schema}"."{name}"'
        if counted:
            query = f'select {selected}, count(*) as "{counted}" from "{schema}"."{name}" group by all order by all'
        with self.connect(read_only=True) as connection:
            reader = connection.sql(query).to_arrow_reader(rows)
            # DuckDB streams record batches of its own size (about 120,000 rows, whatever
            # `rows` says): they are gathered into batches of `rows` (or `max_bytes`), since
            # each batch costs its consumer (a Great Expectations validation) a fixed overhead.
            pending: list[pa.RecordBatch] = []
            held = held_bytes = 0
            yielded = False
            for batch in reader:
                pending.append(batch)
                held += batch.num_rows
                held_bytes += batch.nbytes
                while held >= rows or (held and max_bytes and held_bytes >= max_bytes):
                    gathered = pa.Table.from_batches(pending, schema=reader.schema)
                    yield pl.from_arrow(gathered.slice(0, rows))
                    rest = gathered.slice(rows)
                    # (a slice's nbytes counts a dictionary column's whole dictionary, rows or not)
                    pending, held, yielded = rest.to_batches(), rest.num_rows, True
                    held_bytes = rest.nbytes if held else 0
            if held or not yielded:
                yield pl.from_arrow(pa.Table.from_batches(pending, schema=reader.schema))

    def query(self, sql: str, parameters: list | None = None) -> list[tuple]:
        with self.connect(read_only=True) as connection:
            return connection.execute(sql, parameters or []).fetchall()
