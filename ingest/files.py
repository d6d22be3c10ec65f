"""Reading input files as they come: encodings, delimiters, header rows, row numbers, checksums.

Every reader in `ingest/` starts here, so that an encoding problem or a ragged file is
reported the same way whatever the source.

Text files are read in a stream, a block of records at a time, so memory follows the
columns a reader keeps, not the file's bytes: a reader may pass `keep`, which sees the
header row and says which columns to keep (the others, such as free-text comments, are
never stored, whatever their size or bytes). Encodings: UTF-8 (with or without a byte
order mark), UTF-16 (Excel's "Unicode text", with or without a mark) and Windows-1252.
Delimiters: comma, or tab or semicolon where one splits the header row into far more columns.
Binary files (a workbook or image named .csv) are rejected with what they look like.
"""

from __future__ import annotations

import codecs
import csv
import functools
import hashlib
import re
import sys
import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from itertools import islice
from operator import itemgetter
from pathlib import Path

import polars as pl

from ingest import plain_csv

#: Row numbers we report are spreadsheet-style: the header is row 1, the first data row is 2.
FIRST_DATA_ROW = 2
#: Records turned into a polars frame at a time: bounds the Python objects alive at once.
BLOCK_RECORDS = 20_000
#: Rows after the header a `keep` function may look at (to explain a title row, say).
PREVIEW_RECORDS = 10

_SPACES = re.compile(r"\s+")
_QUOTES = str.maketrans({"\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"'})
_DELIMITERS = (",", "\t", ";")
_SAMPLE_BYTES = 1 << 16
# A cell may be as large as the file (a long comment is dropped, not an error); the size
# guard is the source's max_megabytes (config/sources.yaml).
csv.field_size_limit(min(sys.maxsize, 2**31 - 1))


class InputFileError(ValueError):
    """An input file that cannot be read at all; the message names the file."""


@dataclass(frozen=True)
class TextTable:
    """A CSV read with every cell as text.

    `headers` are as found in the file (trailing spaces kept); `rows` has one column per
    kept header position (`c0`, `c1`, ...: every position unless the reader chose) plus
    `source_row`, the spreadsheet row number, and the shape columns (`SHAPE_COLUMNS`).
    """

    path: Path
    encoding: str
    headers: list[str]
    rows: pl.DataFrame
    delimiter: str = ","


@dataclass(frozen=True)
class ColumnSelection:
    """What a reader keeps of a file: the header positions stored as text columns. Cells of
    the other positions are looked at only for their shape (a quoted cell swallowing rows)."""

    keep: list[int]
    #: Kept or not, positions that may hold free text across lines (comments).
    free_text: list[int] = field(default_factory=list)
    #: Kept positions stored as categorical text: a few labels repeated on every row (answers).
    categorical: list[int] = field(default_factory=list)


Keep = Callable[[list[str], list[list[str]]], ColumnSelection]


def printable(text: str) -> str:
    """`text` with control characters escaped (a newline in a file name cannot start a new log line)."""
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode("ascii") for c in text)


def clean_header(text: str) -> str:
    """A header without invisible format characters (zero-width spaces, byte-order marks) or outer spaces."""
    return "".join(c for c in text if unicodedata.category(c) != "Cf").strip()


@functools.lru_cache(maxsize=65_536)
def normalise_label(text: str | None) -> str:
    """Fold a header or answer label for matching: case, spacing, curly quotes, accents,
    invisible format characters. Remembered: the same headers and labels are folded for
    every file and every column of a layout."""
    if text is None:
        return ""
    text = clean_header(unicodedata.normalize("NFKC", text).translate(_QUOTES))
    return _SPACES.sub(" ", text).strip().casefold()


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


#: File types the readers read.
READABLE_SUFFIXES = (".csv", ".txt", ".tsv", ".xlsx")
#: Spreadsheet types that are landed so that a reader can name them and say what to do.
NAMED_SUFFIXES = (".xls", ".xlsm", ".xlsb", ".ods")
#: File types a pull lands and a load reads or rejects by name.
SUPPORTED_SUFFIXES = READABLE_SUFFIXES + NAMED_SUFFIXES

_MAGIC = (
    (b"PK\x03\x04", "a zip archive, such as an XLSX workbook under another name"),
    (b"\xd0\xcf\x11\xe0", "an Excel 97-2003 (.xls) workbook or another Office file"),
    (b"%PDF", "a PDF document"),
    (b"\x89PNG", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"\x1f\x8b", "a gzip archive"),
)


def check_file_name(path: Path) -> None:
    """A file name with control characters (a newline, say) could forge log lines: refused."""
    if not path.name.isprintable():
        raise InputFileError(
            f"{printable(path.name)}: the file name holds control characters (a newline?); rename the file"
        )


def read_text_table(path: Path, keep: Keep | None = None) -> TextTable:
    """Read a CSV (or tab-separated text) or XLSX file with every cell as text; the first
    row is the header row. `keep` chooses the columns stored (default: all)."""
    path = Path(path)
    check_file_name(path)
    suffix = path.suffix.lower()
    if suffix in (".csv", ".txt", ".tsv"):
        return read_text_csv(path, keep)
    if suffix == ".xlsx":
        return read_text_xlsx(path, keep)
    if suffix in NAMED_SUFFIXES:
        raise InputFileError(
            f"{path.name}: a {suffix} spreadsheet, which is not read: save it as .xlsx (Excel Workbook) "
            "or as CSV (UTF-8) and drop that in instead"
        )
    raise InputFileError(f"{path.name}: unsupported file type {suffix!r} (expected {', '.join(READABLE_SUFFIXES)})")


def sniff_encoding(path: Path) -> str:
    """The text encoding of a file, or `InputFileError` for an empty or binary file."""
    with open(path, "rb") as handle:
        sample = handle.read(_SAMPLE_BYTES)
    if not sample.strip():
        raise InputFileError(f"{path.name}: the file is empty")
    if sample.startswith(codecs.BOM_UTF8):
        encoding = "utf-8-sig"
    elif sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        encoding = "utf-16"
    else:
        encoding = _utf16_without_mark(sample) or ""
    if not encoding:
        _refuse_binary(sample, path)
        encoding = "utf-8" if _decodes(path, "utf-8") else "cp1252" if _decodes(path, "cp1252") else ""
        if not encoding:
            raise InputFileError(f"{path.name}: not UTF-8, UTF-16 or Windows-1252 text")
    elif not _decodes(path, encoding):
        raise InputFileError(f"{path.name}: not valid {encoding.upper()} text")
    return encoding


def _utf16_without_mark(sample: bytes) -> str | None:
    """UTF-16 without a byte-order mark: text that is mostly ASCII has a NUL in every other byte."""
    even, odd = sample[0::2], sample[1::2]
    if len(sample) < 8:
        return None
    if odd.count(0) > 0.4 * len(odd) and even.count(0) < 0.05 * len(even):
        return "utf-16-le"
    if even.count(0) > 0.4 * len(even) and odd.count(0) < 0.05 * len(odd):
        return "utf-16-be"
    return None


def _refuse_binary(sample: bytes, path: Path) -> None:
    """A file that is not text: a known file type, or many control characters."""
    kind = next((what for magic, what in _MAGIC if sample.startswith(magic)), None)
    controls = sum(1 for byte in sample if byte < 0x20 and byte not in b"\t\n\r\x0c")
    if kind is None and controls <= max(16, len(sample) // 50):
        return  # text, perhaps with a few control characters in a cell (dropped or quarantined)
    nul = "contains NUL bytes" if 0 in sample else "contains binary data"
    raise InputFileError(f"{path.name}: {nul} ({kind or 'control characters'}); not a text CSV file")


def _decodes(path: Path, encoding: str) -> bool:
    decoder = codecs.getincrementaldecoder(encoding)()
    try:
        with open(path, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                decoder.decode(block)
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    return True


def _delimiter(first_line: str) -> str:
    """Comma, unless tab or semicolon splits the header row into more than twice as many
    fields (a header holding a comma or two does not make a semicolon file comma-separated)."""
    counts = {d: len(next(csv.reader([first_line], delimiter=d), [])) for d in _DELIMITERS}
    best = max(_DELIMITERS, key=lambda d: (counts[d], d == ","))
    return "," if counts[","] > 1 and 2 * counts[","] >= counts[best] else best


def _swallowed(cell: str, delimiter: str, least: int) -> bool:
    """A quoted cell running over several lines holding at least `least` delimiters on one
    line (or, with `least` negative, in all): a stray quote swallowed the rows after it."""
    if "\n" not in cell:
        return False
    if least < 0:
        return cell.count(delimiter) >= -least
    return any(line.count(delimiter) >= least for line in cell.split("\n")[1:])


class _Blocks:
    """Records turned into polars frames a block at a time, with each record's shape."""

    def __init__(self, path: Path, headers: list[str], selection: ColumnSelection, delimiter: str):
        self.path, self.headers, self.delimiter = path, headers, delimiter
        self.width = len(headers)
        self.keep = sorted(set(selection.keep))
        self.categorical = {f"c{p}" for p in selection.categorical if p in self.keep}
        free = set(selection.free_text)
        # A kept column other than free text never holds a line break with a row's worth of
        # delimiters; free text may (a real comment), unless a line holds nearly a whole row.
        self.strict = [p for p in self.keep if p not in free]
        self.loose = [p for p in range(self.width) if p in free or p not in self.keep]
        self.strict_least = -max(2, self.width // 2)
        self.loose_least = max(2, self.width - 2)
        self.frames: list[pl.DataFrame] = []
        self.count = 0

    def add(self, records: list[list[str]]) -> None:
        width, padding = self.width, [""] * self.width
        shaped = [r if len(r) == width else (r + padding)[:width] for r in records]
        delimiter = self.delimiter
        swallowed = [
            "\n" in "".join(r)  # cheap first: most records hold no line break at all
            and (
                any(_swallowed(r[p], delimiter, self.strict_least) for p in self.strict)
                or any(_swallowed(r[p], delimiter, self.loose_least) for p in self.loose)
            )
            for r in shaped
        ]
        if self.keep:
            getter = itemgetter(*self.keep)
            picked = [getter(r) for r in shaped]
            columns = list(zip(*picked, strict=True)) if len(self.keep) > 1 else [tuple(picked)]
            if not shaped:
                columns = [()] * len(self.keep)
        else:
            columns = []
        names = [f"c{p}" for p in self.keep]
        frame = pl.DataFrame(
            {
                "source_row": range(FIRST_DATA_ROW + self.count, FIRST_DATA_ROW + self.count + len(records)),
                **{name: list(values) for name, values in zip(names, columns, strict=True)},
                "n_fields": [len(r) for r in records],
                "extra_fields": [len(r) > width and any(c.strip() for c in r[width:] if c) for r in records],
                "swallowed_rows": swallowed,
            },
            schema={
                "source_row": pl.Int64,
                **{name: pl.String for name in names},
                "n_fields": pl.Int64,
                "extra_fields": pl.Boolean,
                "swallowed_rows": pl.Boolean,
            },
        )
        self._append(frame)

    def add_plain(self, columns: pl.DataFrame) -> None:
        """Records of a plain file (`ingest.plain_csv`) as polars read them: text columns
        `c{position}` (at least the kept ones); each record has the header's width and no
        line break in any cell."""
        start = FIRST_DATA_ROW + self.count
        frame = columns.select(
            pl.int_range(start, start + columns.height, dtype=pl.Int64).alias("source_row"),
            *[pl.col(f"c{p}") for p in self.keep],
            pl.lit(self.width, dtype=pl.Int64).alias("n_fields"),
            pl.lit(False).alias("extra_fields"),
            pl.lit(False).alias("swallowed_rows"),
        )
        self._append(frame)

    def _append(self, frame: pl.DataFrame) -> None:
        """A block's frame: empty cells null, answers categorical."""
        frame = frame.with_columns(pl.col([f"c{p}" for p in self.keep]).replace("", None))
        if self.categorical:
            frame = frame.with_columns(pl.col(sorted(self.categorical)).cast(pl.Categorical))
        self.frames.append(frame)
        self.count += frame.height

    def table(self, encoding: str) -> TextTable:
        if not self.frames:
            self.add([])
        rows = pl.concat(self.frames, rechunk=False)
        self.frames = []
        return TextTable(path=self.path, encoding=encoding, headers=self.headers, rows=rows, delimiter=self.delimiter)


def _headers(path: Path, header: list | None) -> list[str]:
    """The header row's cells, or `InputFileError` when there is none."""
    if header is None or not any((cell or "").strip() for cell in header):
        raise InputFileError(f"{path.name}: the file is empty (no header row)")
    return [cell or "" for cell in header]


def _blocks(path: Path, headers: list[str], preview: list[list[str]], keep: Keep | None, delimiter: str) -> _Blocks:
    """The block builder keeping the columns `keep` chooses, seeing the header row and
    the `preview` records after it."""
    selection = keep(headers, preview) if keep else ColumnSelection(keep=list(range(len(headers))))
    return _Blocks(path, headers, selection, delimiter)


def _read_records(
    path: Path, records: Iterator[list], encoding: str, keep: Keep | None, delimiter: str = ","
) -> TextTable:
    """The header row, then the data records a block at a time, into a `TextTable`."""
    headers = _headers(path, next(records, None))
    preview = list(islice(records, PREVIEW_RECORDS))
    blocks = _blocks(path, headers, preview, keep, delimiter)
    pending = preview
    for record in records:
        pending.append(record)
        if len(pending) >= BLOCK_RECORDS:
            blocks.add(pending)
            pending = []
    blocks.add(pending)
    return blocks.table(encoding)


def plain_tables(
    path: Path,
    open_bytes: plain_csv.OpenBytes,
    encoding: str,
    delimiter: str = ",",
    keep: Keep | None = None,
    batch_rows: int | None = None,
) -> Iterator[TextTable] | None:
    """The file read by polars' own CSV reader when it is plain (`ingest.plain_csv`), else
    None (for the `csv` module to read): one `TextTable`, or with `batch_rows` that many
    rows at a time (the last batch is the rest, perhaps empty), numbered through the file."""
    if encoding not in plain_csv.ENCODINGS:
        return None
    width = plain_csv.plain_width(open_bytes, delimiter, encoding)
    if width is None:
        return None
    header, *preview = plain_csv.first_records(open_bytes, encoding, delimiter, 1 + PREVIEW_RECORDS)
    blocks = _blocks(path, _headers(path, header), preview, keep, delimiter)
    frames = plain_csv.parse(open_bytes, delimiter, width, blocks.keep or [0], encoding)
    return _plain_tables(blocks, frames, encoding, batch_rows)


def _plain_tables(
    blocks: _Blocks, frames: Iterator[pl.DataFrame], encoding: str, batch_rows: int | None
) -> Iterator[TextTable]:
    if batch_rows is None:
        for frame in frames:
            blocks.add_plain(frame)
        yield blocks.table(encoding)
        return
    batches = 0
    for frame in plain_csv.in_batches(frames, batch_rows):
        blocks.add_plain(frame)
        batches += 1
        yield blocks.table(encoding)
    if not batches:  # a header and no data
        yield blocks.table(encoding)


def read_text_csv(path: Path, keep: Keep | None = None) -> TextTable:
    """Read delimited text with all cells as text, keeping each record's field count.

    A plain file (`ingest.plain_csv`: the common case) is parsed by polars; any other by
    Python's csv module, which reports ragged and truncated records exactly. Row numbers
    count records: the header is row 1.
    """
    path = Path(path)
    encoding = sniff_encoding(path)
    with open(path, encoding=encoding, newline="") as handle:
        first_line = handle.readline()
        if not first_line.strip():
            raise InputFileError(f"{path.name}: the file is empty (no header row)")
        delimiter = _delimiter(first_line)
        tables = plain_tables(path, lambda: open(path, "rb"), encoding, delimiter, keep)
        if tables is not None:
            return next(tables)
        handle.seek(0)
        # strict: an unclosed quote at the end of the file is an error, not a silent merge.
        reader = csv.reader(handle, delimiter=delimiter, strict=True)
        try:
            return _read_records(path, reader, encoding, keep, delimiter)
        except csv.Error as error:
            raise InputFileError(
                f"{path.name}: not a readable CSV file ({error}; an unclosed quote?) near line {reader.line_num}"
            ) from error


def read_text_xlsx(path: Path, keep: Keep | None = None, sheet_name: str | int | None = None) -> TextTable:
    """Read a worksheet with all cells as text: the one named or numbered (from 0) by
    `sheet_name`, else the first with data (an empty first sheet with data on exactly one
    other sheet reads that sheet; data on several is an error)."""
    import fastexcel

    path = Path(path)
    try:
        workbook = fastexcel.read_excel(str(path))
        frame = None
        filled = []
        if sheet_name is not None:
            frame = workbook.load_sheet(sheet_name, header_row=None, dtypes="string").to_polars()
        for index, name in enumerate(workbook.sheet_names if sheet_name is None else ()):
            sheet = workbook.load_sheet(index, header_row=None, dtypes="string").to_polars()
            if sheet.height and sheet.select(pl.any_horizontal(pl.all().is_not_null()).any()).item():
                filled.append(printable(name)[:40])
                if frame is None:
                    frame = sheet
                if index == 0:
                    break
    except Exception as error:  # fastexcel raises its own error types for every kind of bad file
        detail = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise InputFileError(f"{path.name}: not a readable XLSX workbook ({printable(detail)[:200]})") from error
    if frame is None:
        raise InputFileError(f"{path.name}: the file is empty (no worksheet holds any cell)")
    if len(filled) > 1:
        raise InputFileError(
            f"{path.name}: the first worksheet is empty and several others hold data ({', '.join(filled)}); "
            "put the export on the first worksheet"
        )
    records = ([cell or "" for cell in row] for row in frame.iter_rows())
    # Trailing empty cells of a row are not data: a workbook row has no "field count".
    return _read_records(path, records, "xlsx", keep)


def structural_problems(table: TextTable) -> list[tuple[pl.Expr, str]]:
    """Masks and reasons for records whose shape does not match the header row."""
    width = len(table.headers)
    return [
        (
            (pl.col("n_fields") < width) & (pl.col("n_fields") > 0),
            f"row has fewer fields than the header ({width}): a truncated or broken line",
        ),
        (pl.col("extra_fields"), f"row has values beyond the header's {width} columns"),
        (
            pl.col("swallowed_rows"),
            "a quoted cell runs over several lines holding what look like further rows: a stray quote?",
        ),
    ]


#: The columns `_table` adds to every row to describe its shape (see `structural_problems`).
SHAPE_COLUMNS = ("source_row", "n_fields", "extra_fields", "swallowed_rows")


def named_columns(
    table: TextTable, positions: dict[str, int], absent: list[str] | tuple[str, ...] = ()
) -> pl.DataFrame:
    """The table's rows with each wanted column by name (text, outer spaces stripped), the
    shape columns, and a null column for each name in `absent` (an optional column the
    file does not have)."""
    return table.rows.select(
        *SHAPE_COLUMNS,
        *[pl.col(f"c{position}").str.strip_chars().alias(name) for name, position in positions.items()],
    ).with_columns([pl.lit(None, dtype=pl.String).alias(name) for name in absent])


def blank_row_mask(frame: pl.DataFrame, columns: list[str]) -> pl.Expr:
    """True where every one of `columns` is empty or whitespace."""
    return pl.all_horizontal([pl.col(c).is_null() | (pl.col(c).str.strip_chars() == "") for c in columns])
