"""A source's big tables kept out of memory while it loads.

Reading a folder of files, the rows of a source's big tables go to Parquet as each file is
read, beside the warehouse, and DuckDB writes the tables from there (it spills rather than
holds). Two kinds:

- *plain* tables (the diagnostic answers, the raw row profiles) need nothing from the
  other files: DuckDB writes them straight from the Parquet files;
- *batched* tables (the respondents and partner ratings) are combined across files, for
  example to keep each respondent's latest submission. Their rows are split by a column
  whose rows never meet rows of another value in the combining (the collaboration: each
  rule's key contains it), and combined a batch of values at a time. Memory is then
  bounded by a batch (and the largest collaboration: one value's rows are never split),
  not by the source: at national scale a million respondents took 1.2 GB combined at once.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from ingest.quarantine import IngestResult

#: Rows of the batched tables combined at once: a few collaborations' worth, well within
#: memory, and enough that the fixed cost of a combine (a few milliseconds) stays small.
BATCH_ROWS = 200_000

#: Partitions are buckets of the column's values (by hash), not the values themselves: a
#: file of a thousand distinct collaboration strings (a wrong column, a hostile file) then
#: makes at most this many small Parquet files, not one per value. Rows of one value are
#: always in one bucket, which is all the combining needs.
BUCKETS = 256

QUARANTINE = "_quarantine"


@dataclass(frozen=True)
class Batched:
    """Tables combined `column` value by `column` value, a batch of values at a time.

    `order` gives each batched table's row order in the warehouse: the order the source's
    `combine` gives all rows at once (polars sorts nulls first)."""

    column: str
    order: dict[str, tuple[str, ...]]


class Spill:
    """The Parquet files of one load, under `root` (a temporary folder beside the warehouse)."""

    def __init__(self, root: Path, plain: dict[str, str | None] | None = None, batched: Batched | None = None):
        #: plain table -> the table whose kept (source_file, source_row) it keeps (None: all rows)
        self.plain = dict(plain or {})
        self.root, self.batched = root, batched
        self._values: dict[tuple, int] = {}  # a bucket of the batched column -> its partition number
        self._rows: list[int] = []  # rows held per partition (all batched tables)
        self._schemas: dict[str, dict[tuple, pl.Schema]] = {}  # distinct schemas, in file order
        self._templates: dict[str, pl.DataFrame] = {}  # each spilled table, empty

    @property
    def tables(self) -> tuple[str, ...]:
        return (*self.plain, *(self.batched.order if self.batched else ()))

    def folder(self, name: str) -> Path:
        """The folder DuckDB reads a plain table, or a batched table's combined rows, from."""
        return self.root / "tables" / name

    def take(self, index: int, result: IngestResult) -> None:
        """Write the spilled tables of the `index`th file to Parquet; `result` keeps them empty."""
        for name in self.tables:
            frame = result.tables[name]
            self._templates.setdefault(name, frame.clear())
            if name in self.plain:
                self._write(frame, self.folder(name) / f"{index:06d}.parquet")
            else:
                self._schemas.setdefault(name, {}).setdefault(tuple(frame.schema.items()), frame.schema)
                buckets = frame.with_columns(_bucket=pl.col(self.batched.column).cast(pl.String).hash(seed=0) % BUCKETS)
                for bucket, part in buckets.partition_by("_bucket", as_dict=True, maintain_order=True).items():
                    part = part.drop("_bucket")
                    number = self._values.setdefault(bucket, len(self._values))
                    if number == len(self._rows):
                        self._rows.append(0)
                    self._rows[number] += part.height
                    self._write(part, self._partition(name, number) / f"{index:06d}.parquet")
            result.tables[name] = frame.clear()

    def combine_in_batches(
        self, combine: Callable[[list[IngestResult]], tuple[dict[str, pl.DataFrame], pl.DataFrame]]
    ) -> Iterator[dict[str, pl.DataFrame]]:
        """Run `combine` on each batch of partitions; write its batched tables' rows and its
        quarantine to Parquet, and yield its tables (for what is counted per batch)."""
        for number, partitions in enumerate(self._batches()):
            tables = {name: self._read(name, partitions) for name in self.batched.order}
            empty = {name: frame for name, frame in self._templates.items() if name not in tables}
            combined, quarantine = combine([IngestResult("", "", 0, tables={**empty, **tables})])
            del tables
            for name in self.batched.order:
                self._write(combined[name], self.folder(name) / f"{number:06d}.parquet")
            self._write(quarantine, self.folder(QUARANTINE) / f"{number:06d}.parquet")
            yield combined

    def templates(self) -> dict[str, pl.DataFrame]:
        """Each spilled table, empty (its schema)."""
        return dict(self._templates)

    def quarantine(self) -> list[pl.DataFrame]:
        """What the batches' combining quarantined."""
        folder = self.folder(QUARANTINE)
        return [pl.read_parquet(path) for path in sorted(folder.glob("*.parquet"))] if folder.is_dir() else []

    def _batches(self) -> Iterator[list[int]]:
        if not self._rows:
            yield []  # no rows at all: `combine` still gives the tables' schemas
            return
        batch: list[int] = []
        rows = 0
        for number, held in enumerate(self._rows):
            if batch and rows + held > BATCH_ROWS:
                yield batch
                batch, rows = [], 0
            batch.append(number)
            rows += held
        if batch:
            yield batch

    def _read(self, name: str, partitions: list[int]) -> pl.DataFrame:
        # Every file's schema first (none of their rows): the columns, their order and their
        # types are those of all the files read at once, whichever files the batch holds.
        everything = pl.concat(
            [pl.DataFrame(schema=schema) for schema in self._schemas[name].values()], how="diagonal_relaxed"
        )
        paths = sorted(
            (path for number in partitions for path in self._partition(name, number).glob("*.parquet")),
            key=lambda path: (path.name, path.parent.name),  # file order, as all at once
        )
        return pl.concat([everything, *(pl.read_parquet(path) for path in paths)], how="diagonal_relaxed")

    def _partition(self, name: str, number: int) -> Path:
        return self.root / "partitions" / name / f"{number:06d}"

    @staticmethod
    def _write(frame: pl.DataFrame, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        frame.write_parquet(path)
