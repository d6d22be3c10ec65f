"""The fast path for delimited text: a *plain* file is parsed by polars' own CSV reader.

A file is plain when polars must read it exactly as Python's `csv` module does (the slow
path, `ingest.files`), and when every record's shape is known without looking at it:
UTF-8 (or Windows-1252, transcoded a block at a time); no control character other than tab, line feed and carriage return; every carriage
return followed by a line feed; no byte-order mark but the file's first; quotes only around
whole fields, doubled inside and never holding a line break; and every line, the header's
included, holding the header's number of fields (two or more). Then a record is a line (a
row number is a line number), and no record is ragged, blank or swallowed by a stray quote.
Most exports are plain; any other file (an odd number of quotes, a comment over several
lines, a short last line, UTF-16 text) is read by the slow path, which judges each
record's shape.

The bytes are read in blocks of whole lines, twice: once to decide, once to parse. Neither
pass holds the file whole, so a zip member is read the same way as a file.
"""

from __future__ import annotations

import codecs
import csv
import functools
import io
from collections.abc import Callable, Iterator
from itertools import islice
from typing import IO

import polars as pl

#: Encodings (as `ingest.files` and `ingest.batches` name them) the fast path reads.
ENCODINGS = ("utf-8", "utf-8-sig", "cp1252")
#: Bytes read at a time: a block of whole lines is parsed by polars in one call.
BLOCK_BYTES = 8 << 20

OpenBytes = Callable[[], IO[bytes]]

#: Control characters other than tab, line feed and carriage return.
_CONTROLS = bytes(b for b in range(0x20) if b not in b"\t\n\r")


@functools.cache
def _not_line_break_or_control() -> bytes:
    """Every byte but line ends and control characters other than tab."""
    return bytes(b for b in range(256) if b not in (*b"\n\r", *_CONTROLS))


@functools.cache
def _not_structure(delimiter: bytes) -> bytes:
    """The bytes deleted to leave a block's skeleton: all but the delimiter, line ends and
    control characters."""
    kept = {delimiter[0], *b"\n\r", *_CONTROLS}
    return bytes(b for b in range(256) if b not in kept)


def line_blocks(open_bytes: OpenBytes, encoding: str) -> Iterator[bytes]:
    """The text as UTF-8 in blocks of whole lines (the last may lack its line end): without
    the leading byte-order mark for `utf-8-sig`, transcoded from Windows-1252 (a line feed
    is the same byte in all three)."""
    rest = b""
    with open_bytes() as handle:
        first = True
        while block := handle.read(BLOCK_BYTES):
            if first and encoding == "utf-8-sig" and block.startswith(codecs.BOM_UTF8):
                block = block[len(codecs.BOM_UTF8) :]
            first = False
            block = rest + block if rest else block
            end = block.rfind(b"\n") + 1
            if end:
                yield _utf8(block[:end], encoding)
            rest = block[end:]
    if rest:
        yield _utf8(rest, encoding)


def _utf8(block: bytes, encoding: str) -> bytes:
    return block.decode(encoding).encode("utf-8") if encoding == "cp1252" else block


def _outside_quotes(block: bytes, delimiter: bytes) -> list[bytes] | None:
    """The block's text outside quoted fields, or None when a quote is not around a whole
    field on one line (a stray quote, a cell over several lines, a control character).

    Split at the quotes, the block alternates between text outside quotes and inside them.
    Around a whole field, the text before an opening quote ends a line or a field, and the
    text after a closing quote starts one; a doubled quote inside a field leaves empty
    text between two quotes. This is how the `csv` module reads quotes, and polars too."""
    parts = block.split(b'"')
    last = len(parts) - 1
    if last % 2 or b"".join(parts[1::2]).translate(None, _not_line_break_or_control()):
        return None  # an odd number of quotes, or a line break or control character inside
    starts, ends = (delimiter, b"\r", b"\n"), (delimiter, b"\n")
    for index in range(0, last + 1, 2):
        text = parts[index]  # empty: the block's start or end, or a doubled quote
        if text and ((index and not text.startswith(starts)) or (index < last and not text.endswith(ends))):
            return None
    return parts[0::2]


def plain_width(open_bytes: OpenBytes, delimiter: str, encoding: str) -> int | None:
    """The number of fields on every line of a plain file (see the module), else None."""
    try:
        return _width(open_bytes, delimiter, encoding)
    except UnicodeDecodeError:  # a byte Windows-1252 leaves undefined: the slow path's error
        return None


def _width(open_bytes: OpenBytes, delimiter: str, encoding: str) -> int | None:
    d = delimiter.encode()
    drop = _not_structure(d)
    width, line = None, b""
    for block in line_blocks(open_bytes, encoding):
        if codecs.BOM_UTF8 in block:
            return None
        outside = _outside_quotes(block, d) if b'"' in block else [block]
        if outside is None:
            return None
        # What is left of each line: its delimiters and line end (any control character or
        # lone carriage return spoils the pattern).
        skeleton = b"".join([text.translate(None, drop) for text in outside]).replace(b"\r\n", b"\n")
        if not skeleton.endswith(b"\n"):
            skeleton += b"\n"  # the file's last line, without its line end
        if width is None:
            width = skeleton.index(b"\n") + 1
            line = d * (width - 1) + b"\n"
        if skeleton != line * (len(skeleton) // len(line)):
            return None
    return width if width is not None and width >= 2 else None


def first_records(open_bytes: OpenBytes, encoding: str, delimiter: str, count: int) -> list[list[str]]:
    """The first `count` records, read by the `csv` module exactly as the slow path reads them."""
    with open_bytes() as raw:
        text = io.TextIOWrapper(raw, encoding=encoding, newline="")
        return list(islice(csv.reader(text, delimiter=delimiter, strict=True), count))


def parse(
    open_bytes: OpenBytes, delimiter: str, width: int, positions: list[int], encoding: str
) -> Iterator[pl.DataFrame]:
    """The data lines of a plain file (`width` fields each) as frames of text columns
    `c{position}`, a block of lines at a time; the header line is skipped."""
    names = [f"c{p}" for p in range(width)]
    header = True
    for block in line_blocks(open_bytes, encoding):
        if header:
            block = block[block.find(b"\n") + 1 :] if b"\n" in block else b""
            header = False
        if not block:
            continue
        frame = pl.read_csv(
            block,
            has_header=False,
            separator=delimiter,
            columns=positions,
            new_columns=names,
            infer_schema=False,
            empty_string_is_null=False,
            raise_if_empty=False,
        )
        lines = block.count(b"\n") + (not block.endswith(b"\n"))
        if frame.height != lines:  # cannot happen for a plain file: never a silent drop
            raise RuntimeError(f"polars read {frame.height} records from {lines} plain lines")
        yield frame


def in_batches(frames: Iterator[pl.DataFrame], rows: int) -> Iterator[pl.DataFrame]:
    """The frames' rows again, `rows` at a time; the last batch is the rest, perhaps empty
    (nothing at all when there are no frames)."""
    pending: pl.DataFrame | None = None
    for frame in frames:
        pending = frame if pending is None else pl.concat([pending, frame])
        while pending.height >= rows:
            yield pending.slice(0, rows)
            pending = pending.slice(rows)
    if pending is not None:
        yield pending
