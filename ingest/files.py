"""Reading input files as they come: encodings, header rows, row numbers, checksums.

Every reader in `ingest/` starts here, so that an encoding problem or a ragged file is
reported the same way whatever the source.
"""

from __future__ import annotations

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

    def column_for(self, position: int) -> str:
        return f"c{position}"


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


def read_text_csv(path: Path) -> TextTable:
    """Read a CSV with all cells as text; the first row is the header row."""
    path = Path(path)
    text, encoding = decode_bytes(path.read_bytes(), path)
    if not text.strip():
        raise InputFileError(f"{path.name}: the file is empty")
    try:
        frame = pl.read_csv(
            io.BytesIO(text.encode("utf-8")),
            has_header=False,
            infer_schema=False,
            row_index_name="source_row",
            row_index_offset=1,
        )
    except pl.exceptions.PolarsError as error:
        raise InputFileError(f"{path.name}: not a readable CSV file ({error})") from error
    width = frame.width - 1
    frame = frame.rename({name: f"c{i}" for i, name in enumerate(frame.columns[1:])})
    header_row = frame.row(0, named=True)
    headers = [header_row[f"c{i}"] or "" for i in range(width)]
    rows = frame.slice(1).with_columns(pl.col("source_row").cast(pl.Int64))
    return TextTable(path=path, encoding=encoding, headers=headers, rows=rows)


def blank_row_mask(frame: pl.DataFrame, columns: list[str]) -> pl.Expr:
    """True where every one of `columns` is empty or whitespace."""
    return pl.all_horizontal(
        [pl.col(c).is_null() | (pl.col(c).str.strip_chars() == "") for c in columns]
    )
