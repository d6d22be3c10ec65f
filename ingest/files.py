"""Reading input files as they come: encodings, header rows, row numbers, checksums.

Every reader in `ingest/` starts here, so that an encoding problem or a ragged file is
reported the same way whatever the source.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path

import polars as pl

#: Row numbers we report are spreadsheet-style: the header is row 1, the first data row is 2.
FIRST_DATA_ROW = 2

_SPACES = re.compile(r"\s+")
_QUOTES = str.maketrans({"\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"'})


class InputFileError(ValueError):
    """An input file that cannot be read at all; the message names the file."""


@dataclass(frozen=True)
class TextTable:
    """A CSV read with every cell as text.

    `headers` are as found in the file (trailing spaces kept); `rows` has one column per
    header position (`c0`, `c1`, ...) plus `source_row`, the spreadsheet row number.
    """

    path: Path
    encoding: str
    headers: list[str]
    rows: pl.DataFrame


def normalise_label(text: str | None) -> str:
    """Fold a header or answer label for matching: case, spacing, curly quotes, accents."""
    if text is None:
        return ""
    text = unicodedata.normalize("NFKC", text).translate(_QUOTES)
    return _SPACES.sub(" ", text).strip().casefold()


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def decode_bytes(raw: bytes, path: Path) -> tuple[str, str]:
    """Decode UTF-8 (with or without a byte-order mark), falling back to Windows-1252."""
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            return raw.decode(encoding), encoding
        except UnicodeDecodeError:
            continue
    raise InputFileError(f"{path.name}: not UTF-8 or Windows-1252 text")


#: File types the readers accept.
SUPPORTED_SUFFIXES = (".csv", ".xlsx")


def read_text_table(path: Path) -> TextTable:
    """Read a CSV or XLSX file with every cell as text; the first row is the header row."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return read_text_csv(path)
    if suffix == ".xlsx":
        return read_text_xlsx(path)
    raise InputFileError(f"{path.name}: unsupported file type {suffix!r} (expected {', '.join(SUPPORTED_SUFFIXES)})")


def _swallowed(record: list[str], width: int) -> bool:
    """A quoted cell running over several lines and holding a row's worth of commas: a
    stray quote that swallowed the rows after it."""
    return any("\n" in cell and cell.count(",") >= max(2, width // 2) for cell in record if cell)


def _table(path: Path, encoding: str, records: list[list[str | None]], multiline: bool = False) -> TextTable:
    """Rows as text columns ``c0..cN`` (one per header cell; "" becomes null), with each
    record's field count, whether it had values beyond the header and (when some cell runs
    over several lines) whether it swallowed what look like further rows."""
    if not records or not any((cell or "").strip() for cell in records[0]):
        raise InputFileError(f"{path.name}: the file is empty (no header row)")
    headers = [cell or "" for cell in records[0]]
    width = len(headers)
    data = records[1:]
    padding = [None] * width
    shaped = [r if len(r) == width else (r + padding)[:width] for r in data]
    columns = list(zip(*shaped, strict=True)) if shaped else [()] * width
    names = [f"c{i}" for i in range(width)]
    rows = pl.DataFrame(
        {
            "source_row": range(FIRST_DATA_ROW, FIRST_DATA_ROW + len(data)),
            **{name: list(values) for name, values in zip(names, columns, strict=True)},
            "n_fields": [len(r) for r in data],
            "extra_fields": [len(r) > width and any((c or "").strip() for c in r[width:]) for r in data],
            "swallowed_rows": [multiline and _swallowed(r, width) for r in data],
        },
        schema={
            "source_row": pl.Int64,
            **{name: pl.String for name in names},
            "n_fields": pl.Int64,
            "extra_fields": pl.Boolean,
            "swallowed_rows": pl.Boolean,
        },
    ).with_columns(pl.col(names).replace("", None))
    return TextTable(path=path, encoding=encoding, headers=headers, rows=rows)


def read_text_csv(path: Path) -> TextTable:
    """Read a CSV with all cells as text, keeping each record's field count.

    Python's csv module tokenises (it reports ragged and truncated records exactly);
    polars does the cleaning. Row numbers count records: the header is row 1.
    """
    path = Path(path)
    text, encoding = decode_bytes(path.read_bytes(), path)
    if not text.strip():
        raise InputFileError(f"{path.name}: the file is empty")
    if "\x00" in text:
        raise InputFileError(f"{path.name}: contains NUL bytes; not a text CSV file")
    try:
        # strict: an unclosed quote at the end of the file is an error, not a silent merge.
        records = list(csv.reader(io.StringIO(text, newline=""), strict=True))
    except csv.Error as error:
        raise InputFileError(f"{path.name}: not a readable CSV file ({error}; an unclosed quote?)") from error
    lines = text.count("\n") + (not text.endswith("\n"))
    return _table(path, encoding, records, multiline=lines > len(records))


def read_text_xlsx(path: Path, sheet_name: str | int = 0) -> TextTable:
    """Read a worksheet (the first, or one named or numbered from 0) of an XLSX workbook with all cells as text."""
    import fastexcel

    path = Path(path)
    try:
        sheet = fastexcel.read_excel(str(path)).load_sheet(sheet_name, header_row=None, dtypes="string")
    except Exception as error:  # fastexcel raises its own error types for every kind of bad file
        detail = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise InputFileError(f"{path.name}: not a readable XLSX workbook ({detail})") from error
    frame = sheet.to_polars()
    records = [list(row) for row in frame.iter_rows()]
    # Trailing empty cells of a row are not data: a workbook row has no "field count".
    return _table(path, "xlsx", records)


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
