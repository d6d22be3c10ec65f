"""Reading a publication in batches of rows: a CSV (alone or inside a zip) or an XLSX sheet.

A CSV is streamed: it is never held whole in memory (the RTT full extract is 81 MB of
text inside a 3.5 MB zip). A plain CSV (`ingest.plain_csv`) is parsed by polars, any
other by Python's csv module. Each batch is a `TextTable` (every cell as text, spreadsheet
row numbers, each record's shape) as `ingest.files` makes for a whole file, so a reader
applies the same rules to each batch.
"""

from __future__ import annotations

import codecs
import csv
import fnmatch
import io
import lzma
import tempfile
import zipfile
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path, PurePosixPath
from typing import IO

import polars as pl

from ingest.files import InputFileError, TextTable, _read_records, plain_tables, read_text_xlsx

#: Rows per batch: about 25 MB of Python strings for a 120-column file.
BATCH_ROWS = 20_000
_CHUNK = 1 << 20
#: The largest zip member inflated to a temporary file (larger ones are streamed from the zip).
EXTRACT_AT_MOST = 256 << 20
#: What reading a damaged zip member raises: a bad CRC, truncated or corrupt compressed data
#: (deflate, LZMA; bzip2's is an OSError).
DAMAGED_ZIP = (zipfile.BadZipFile, EOFError, zlib.error, lzma.LZMAError, OSError)
#: Zip methods Python reads: stored, deflate, bzip2, LZMA.
READABLE_COMPRESSION = {zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED, zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA}


def _is_metadata(name: str) -> bool:
    """macOS and hidden entries of a zip (``__MACOSX/._x.csv``, ``.DS_Store``)."""
    parts = PurePosixPath(name).parts
    return "__MACOSX" in parts or any(part.startswith(".") for part in parts)


def zip_member(path: Path, pattern: str) -> str:
    """The one member of a zip that matches `pattern` (metadata entries skipped)."""
    try:
        with zipfile.ZipFile(path) as archive:
            names = [i.filename for i in archive.infolist() if not i.is_dir()]
    except (zipfile.BadZipFile, OSError) as error:
        raise InputFileError(f"{path.name}: not a readable zip archive ({error})") from error
    candidates = [n for n in names if not _is_metadata(n)]
    matching = [n for n in candidates if fnmatch.fnmatch(PurePosixPath(n).name.lower(), pattern.lower())]
    if len(matching) != 1:
        found = ", ".join(candidates) or "nothing"
        what = "no member" if not matching else f"{len(matching)} members"
        raise InputFileError(f"{path.name}: {what} matching {pattern!r} in the zip (it holds {found})")
    return matching[0]


@contextmanager
def _opener(path: Path, member: str | None) -> Iterator[Callable[[], IO[bytes]]]:
    """A function opening the file (or the zip member) as bytes, any number of times. A CSV
    is read three times through (its encoding, its field count, its rows): a zip member of
    up to EXTRACT_AT_MOST bytes is inflated once, to a file in the system's temporary
    folder, rather than three times (the RTT extract: 81 MB, 0.3 s a time); a larger one is
    read from the zip each time, so no "zip bomb" lands on disk. An encrypted member, or one
    compressed in a way Python cannot read, is refused by name."""
    if member is None:
        yield lambda: open(path, "rb")
        return
    with zipfile.ZipFile(path) as archive:
        info = archive.getinfo(member)
        if info.flag_bits & 0x1:
            raise InputFileError(f"{path.name}: the zip member {member!r} is encrypted; save it without a password")
        if info.compress_type not in READABLE_COMPRESSION:
            raise InputFileError(
                f"{path.name}: the zip member {member!r} is compressed with a method this reader "
                f"cannot open (zip method {info.compress_type}); re-zip it with the usual (deflate) method"
            )
        if info.file_size > EXTRACT_AT_MOST:
            yield lambda: archive.open(member)
            return
        with tempfile.TemporaryDirectory(prefix="collab-health-zip-") as folder:
            extracted = Path(folder) / "member.csv"
            with open(extracted, "wb") as target, archive.open(member) as source:
                while True:
                    try:
                        block = source.read(_CHUNK)
                    except DAMAGED_ZIP as error:
                        raise InputFileError(f"{path.name}: the zip member {member!r} is damaged ({error})") from error
                    if not block:
                        break
                    target.write(block)  # a full disk is no fault of the file: it fails the step, saying so
            yield lambda: open(extracted, "rb")


def _encoding(open_bytes: Callable[[], IO[bytes]], name: str) -> str:
    """UTF-8 (with or without a byte-order mark) or, failing that, Windows-1252; read once
    through in blocks. A file that is empty or holds NUL bytes is rejected."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    utf8, seen = True, False
    with open_bytes() as handle:
        for block in iter(lambda: handle.read(_CHUNK), b""):
            if b"\x00" in block:
                raise InputFileError(f"{name}: contains NUL bytes; not a text CSV file")
            seen = seen or bool(block.strip())
            if utf8:
                try:
                    decoder.decode(block)
                except UnicodeDecodeError:
                    utf8 = False
    if not seen:
        raise InputFileError(f"{name}: the file is empty")
    if utf8:
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            utf8 = False
    return "utf-8-sig" if utf8 else "cp1252"


def _csv_batches(path: Path, open_bytes: Callable[[], IO[bytes]], batch_rows: int) -> Iterator[TextTable]:
    name = path.name
    encoding = _encoding(open_bytes, name)
    tables = plain_tables(path, open_bytes, encoding, batch_rows=batch_rows)
    if tables is not None:  # the common case: polars parses (ingest.plain_csv)
        yield from tables
        return
    with open_bytes() as raw:
        text = io.TextIOWrapper(raw, encoding=encoding, newline="")
        # strict: an unclosed quote at the end of the file is an error, not a silent merge.
        reader = csv.reader(text, strict=True)
        try:
            header = next(reader, None)
            if header is None:
                raise InputFileError(f"{name}: the file is empty")
            offset = 0
            while True:
                records = []
                for record in reader:
                    records.append(record)
                    if len(records) >= batch_rows:
                        break
                table = _read_records(path, iter([header, *records]), encoding, keep=None)
                if offset:
                    table = TextTable(
                        path, encoding, table.headers, table.rows.with_columns(pl.col("source_row") + offset)
                    )
                yield table
                offset += len(records)
                if len(records) < batch_rows:
                    return
        except csv.Error as error:
            raise InputFileError(f"{name}: not a readable CSV file ({error}; an unclosed quote?)") from error
        except UnicodeDecodeError as error:
            raise InputFileError(f"{name}: not UTF-8 or Windows-1252 text") from error


def iter_text_tables(
    path: Path, types: tuple[str, ...], sheet: str | int = 0, member: str = "*.csv", batch_rows: int = BATCH_ROWS
) -> Iterator[TextTable]:
    """The file's rows in batches (`source_row` numbered through the whole file, the header
    being row 1). `types` are the file types allowed (csv, xlsx, zip)."""
    path = Path(path)
    suffix = path.suffix.lower().lstrip(".")
    if suffix not in types:
        raise InputFileError(f"{path.name}: unsupported file type {path.suffix!r} (expected {', '.join(types)})")
    if suffix == "xlsx":
        yield read_text_xlsx(path, sheet_name=sheet)
        return
    inner = zip_member(path, member) if suffix == "zip" else None
    if inner is not None and not inner.lower().endswith(".csv"):
        raise InputFileError(f"{path.name}: the zip member {inner!r} is not a CSV file")
    with _opener(path, inner) as open_bytes:
        if inner is None:
            yield from _csv_batches(path, open_bytes, batch_rows)
            return
        try:
            yield from _csv_batches(path, open_bytes, batch_rows)
        except DAMAGED_ZIP as error:  # a large member, read from the zip as it goes
            raise InputFileError(f"{path.name}: the zip member {inner!r} is damaged ({error})") from error
