"""The fast path for plain CSV (ingest.plain_csv): which files take it, and that polars reads
them exactly as the csv module does: the same tables, row numbers, shapes, quarantine and
errors, for hand-written files, random ones, every corpus and sample file, a generated
large export and the RTT zip. `slow` reads a file the way every file was read before."""

import io
import random
import sys
from pathlib import Path

import polars as pl
import pytest
import yaml
from conftest import CODEBOOK_DIR, LAYOUTS_DIR, PROJECT_ROOT, SAMPLE_ODS, TINY_COLLABORATIONS
from polars.testing import assert_frame_equal

from ingest import plain_csv
from ingest.batches import iter_text_tables
from ingest.codebook import load_codebooks
from ingest.collaborations import CollaborationsFile
from ingest.diagnostic import read_diagnostic_export
from ingest.files import ColumnSelection, read_text_table
from ingest.layouts import load_layout
from ingest.organisations import OrganisationMatcher, read_organisations
from ingest.publication import read_publication

pytestmark = pytest.mark.unit

CORPORA = PROJECT_ROOT / "tests" / "bad_inputs"
TEXT_SUFFIXES = (".csv", ".txt", ".tsv")
CORPUS_FILES = sorted(p for p in CORPORA.rglob("*") if p.suffix in TEXT_SUFFIXES and p.parent.name != "hostile_config")
SAMPLE_FILES = sorted(p for p in (PROJECT_ROOT / "sample_data").rglob("*") if p.suffix in TEXT_SUFFIXES)
RTT_ZIP = PROJECT_ROOT / "sample_data" / "nhs" / "rtt" / "20260430-RTT-April-2026-full-extract.csv.zip"


@pytest.fixture
def slow(monkeypatch):
    """`slow(read)`: what `read()` gives (or the error it raises) when no file is plain."""

    def read(reader):
        with monkeypatch.context() as patch:
            patch.setattr(plain_csv, "ENCODINGS", ())
            return outcome(reader)

    return read


@pytest.fixture
def fast_files(monkeypatch):
    """The names of the files parsed by polars from here on."""
    parsed = []
    parse = plain_csv.parse

    def spy(open_bytes, *args):
        with open_bytes() as handle:
            parsed.append(Path(getattr(handle, "name", "?")).name)
        return parse(open_bytes, *args)

    monkeypatch.setattr(plain_csv, "parse", spy)
    return parsed


def outcome(reader):
    try:
        return reader()
    except Exception as error:  # compared: both paths must fail alike
        return (type(error).__name__, str(error))


def text(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.with_columns(pl.col(pl.Categorical).cast(pl.String))


def assert_same(fast, slow) -> None:
    """The same TextTable, list of them, IngestResult, or error."""
    if isinstance(slow, tuple) or isinstance(fast, tuple):
        assert fast == slow
    elif isinstance(slow, list):
        assert len(fast) == len(slow)
        for one, other in zip(fast, slow, strict=True):
            assert_same(one, other)
    elif hasattr(slow, "headers"):
        assert (fast.headers, fast.encoding, fast.delimiter) == (slow.headers, slow.encoding, slow.delimiter)
        assert fast.rows.schema == slow.rows.schema
        assert_frame_equal(text(fast.rows), text(slow.rows))
    else:
        assert (fast.source_file, fast.sha256, fast.rows_read, fast.ignored_columns) == (
            slow.source_file,
            slow.sha256,
            slow.rows_read,
            slow.ignored_columns,
        )
        assert fast.tables.keys() == slow.tables.keys()
        for name in slow.tables:
            assert fast.tables[name].schema == slow.tables[name].schema, name
            assert_frame_equal(text(fast.tables[name]), text(slow.tables[name]))
        assert_frame_equal(fast.quarantine, slow.quarantine)
        assert (fast.totals is None) == (slow.totals is None)
        if slow.totals is not None:
            assert_frame_equal(fast.totals, slow.totals)


def width(data: bytes, delimiter: str = ",", encoding: str = "utf-8") -> int | None:
    return plain_csv.plain_width(lambda: io.BytesIO(data), delimiter, encoding)


# --- The rule, by hand -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "delimiter", "encoding", "expected"),
    [
        (b"a,b\n1,2\n", ",", "utf-8", 2),
        (b'a,b\r\n"x, y","say ""hi"""\r\n"",3\r\n', ",", "utf-8", 2),  # quoted delimiter, doubled quotes
        (b"a,b,c\r\n1,2,3\n4,5,6", ",", "utf-8", 3),  # CR LF and LF mixed; no line end at the end
        (b'a\tb\n"x\ty"\t2\n', "\t", "utf-8", 2),
        (b'a;b\n"x;y";"2,5"\n', ";", "utf-8", 2),
        (b"\xef\xbb\xbfa,b\n1,2\n", ",", "utf-8-sig", 2),  # the leading byte-order mark
        (b"a,b\n\x80 caf\xe9,2\n", ",", "cp1252", 2),
        (b"a,b\n", ",", "utf-8", 2),  # a header alone
    ],
)
def test_plain_files(data, delimiter, encoding, expected):
    assert width(data, delimiter, encoding) == expected


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(b'a,b\n5" screen,2\n', id="quote inside a field"),
        pytest.param(b'a,b\n "x",2\n', id="quote after a space"),
        pytest.param(b'a,b\n"x"y,2\n', id="text after the closing quote"),
        pytest.param(b'a,b\n"x,2\n3,4\n', id="odd number of quotes"),
        pytest.param(b'a,b\n"x\ny",2\n', id="cell over two lines"),
        pytest.param(b'a,b\n"x\r\ny",2\n', id="cell over two lines, CR LF"),
        pytest.param(b'a,b\n""x,2\n', id="text after an empty quoted field"),
        pytest.param(b"a,b,c\n1,2\n", id="short row"),
        pytest.param(b"a,b\n1,2,3\n", id="extra field"),
        pytest.param(b"a,b\n1,2\n\n3,4\n", id="blank line"),
        pytest.param(b"a,b\n1,2\n\n", id="blank last line"),
        pytest.param(b"a,b\r1,2\r", id="lone carriage returns"),
        pytest.param(b"a,b\n1,2\r", id="lone carriage return at the end"),
        pytest.param(b"a,b\n1,\x002\n", id="NUL byte"),
        pytest.param(b'a,b\n"x\x01",2\n', id="control character in quotes"),
        pytest.param(b"a,b\n\xef\xbb\xbfx,2\n", id="byte-order mark inside"),
        pytest.param(b"a\n1\n", id="one column"),
        pytest.param(b'"a\nb",c\n1,2\n', id="header cell over two lines"),
    ],
)
def test_files_that_are_not_plain(data):
    assert width(data) is None


def test_a_byte_windows_1252_leaves_undefined_is_the_slow_paths_error(tmp_path, slow):
    """Batches guess Windows-1252 for any text that is not UTF-8 without checking every
    byte: 0x81 has no character, and the error is the hardened reader's, not a decoder's."""
    path = tmp_path / "undefined.csv"
    path.write_bytes(b"a,b\n\xe9x,\x81y\n")
    assert width(path.read_bytes(), encoding="cp1252") is None
    read = lambda: list(iter_text_tables(path, ("csv",)))  # noqa: E731
    fast = outcome(read)
    assert fast == ("InputFileError", "undefined.csv: not UTF-8 or Windows-1252 text")
    assert fast == slow(read)


def test_the_slow_path_reads_files_that_are_not_plain(tmp_path, fast_files):
    (tmp_path / "plain.csv").write_bytes(b"a,b\n1,2\n")
    (tmp_path / "ragged.csv").write_bytes(b"a,b\n1,2\n3\n")
    plain, ragged = read_text_table(tmp_path / "plain.csv"), read_text_table(tmp_path / "ragged.csv")
    assert fast_files == ["plain.csv"]
    assert plain.rows["n_fields"].to_list() == [2]
    assert ragged.rows.select("source_row", "n_fields").rows() == [(2, 2), (3, 1)]


# --- Random files: both paths, blocks of a few bytes -----------------------------------------

FIELDS = ["", "x", " y ", "1,5", 'say "hi"', "caf\u00e9 \u20ac", "tab\there", "semi;colon", "two\nlines", "  "]


def random_file(rng: random.Random) -> tuple[bytes, str]:
    """A small delimited file: mostly well formed, sometimes with a stray quote, a ragged or
    blank row, a cell over two lines, a lone carriage return or a missing last line end."""
    delimiter = rng.choice([",", ",", ";", "\t"])
    columns = rng.randint(2, 5)
    ending = rng.choice(["\n", "\r\n", "mixed"])

    def field(value: str) -> str:
        roll = rng.random()
        if roll < 0.02:
            return value + '"'  # a stray quote
        if any(c in value for c in (delimiter, '"', "\n")) or roll < 0.2:
            return '"' + value.replace('"', '""') + '"'
        return value

    lines = [delimiter.join(f"h{i}" for i in range(columns))]
    for _ in range(rng.randint(0, 12)):
        roll = rng.random()
        count = columns + (rng.choice([-1, 1]) if roll < 0.03 else 0)
        values = [rng.choice(FIELDS if rng.random() < 0.3 else FIELDS[:3]) for _ in range(count)]
        if rng.random() < 0.7:
            values = [v.replace("\n", " ") for v in values]
        lines.append("" if roll > 0.98 else delimiter.join(field(v) for v in values))
    ends = [rng.choice(["\n", "\r\n"]) if ending == "mixed" else ending for _ in lines]
    body = "".join(line + end for line, end in zip(lines, ends, strict=True))
    if rng.random() < 0.2:
        body = body.rstrip("\r\n")
    if rng.random() < 0.02:
        body = body.replace("\n", "\r", 1)
    encoding = rng.choice(["utf-8", "utf-8-sig", "cp1252"])
    return body.encode(encoding), delimiter


def test_random_files_read_alike(tmp_path, slow, fast_files, monkeypatch):
    monkeypatch.setattr(plain_csv, "BLOCK_BYTES", 16)  # a few lines per block, and lines split
    rng = random.Random(16)
    names = []
    for n in range(300):
        data, delimiter = random_file(rng)
        path = tmp_path / f"random_{n}{'.tsv' if delimiter == chr(9) else '.csv'}"
        path.write_bytes(data)
        names.append(path.name)

        def keep(headers, preview):
            return ColumnSelection(keep=[0, len(headers) - 1], free_text=[1], categorical=[len(headers) - 1])

        for read in (lambda p=path: read_text_table(p), lambda p=path: read_text_table(p, keep)):
            assert_same(outcome(read), slow(read))
        if delimiter == ",":
            batches = lambda p=path: list(iter_text_tables(p, ("csv",), batch_rows=3))  # noqa: E731
            assert_same(outcome(batches), slow(batches))
    # Both paths were taken often (the rule is neither always nor never met).
    fast = set(fast_files)
    assert 120 < len(fast) < 280, len(fast)


# --- Every corpus and sample file ---------------------------------------------------------------


@pytest.fixture(scope="module")
def diagnostic_reader():
    codebooks = load_codebooks(CODEBOOK_DIR)
    matcher = OrganisationMatcher(read_organisations(SAMPLE_ODS))
    collaborations = CollaborationsFile.model_validate(yaml.safe_load(TINY_COLLABORATIONS))
    return lambda path: read_diagnostic_export(path, codebooks, b"corpus-key", matcher, collaborations)


LAYOUT_OF_FOLDER = {
    "monthly_ae": "monthly_ae",
    "ae_tidy": "ae_tidy",
    "staff_survey": "staff_survey",
    "shmi": "shmi",
}


@pytest.mark.parametrize("path", CORPUS_FILES + SAMPLE_FILES, ids=lambda p: str(p.relative_to(PROJECT_ROOT)))
def test_every_corpus_and_sample_file_reads_alike(path, slow, diagnostic_reader):
    read = lambda: read_text_table(path)  # noqa: E731
    assert_same(outcome(read), slow(read))
    if path.parent.name in LAYOUT_OF_FOLDER:
        layout = load_layout(LAYOUTS_DIR / f"{LAYOUT_OF_FOLDER[path.parent.name]}.yaml")
        read = lambda: read_publication(path, layout)  # noqa: E731
    elif path.parent.name in ("diagnostic", "hostile", "diagnostic_exports"):
        read = lambda: diagnostic_reader(path)  # noqa: E731
    else:
        return
    assert_same(outcome(read), slow(read))


def test_which_corpus_files_are_plain(fast_files):
    for path in CORPUS_FILES:
        outcome(lambda path=path: read_text_table(path))
    fast = set(fast_files)
    assert {
        "utf8.csv",
        "utf8_bom.csv",
        "windows_1252.csv",
        "header_only.csv",
        "semicolon_delimited.csv",
        "tab_delimited.tsv",
        "mixed_line_endings.csv",
        "comment_200k.csv",
        "Monthly-AE-June-2024-reordered.csv",
    } <= fast
    assert not fast & {
        "stray_quote.csv",
        "unclosed_quote.csv",
        "truncated_last_line.csv",
        "extra_fields.csv",
        "blank_rows.csv",
        "multiline_comment_with_commas.csv",
        "stray_quote_in_comment.csv",
        "comment_nul_byte.csv",
        "comment_control_bytes.csv",
        "utf16_le_without_mark.csv",
        "Monthly-AE-March-2024-bad-rows.csv",
    }


def test_every_sample_file_is_plain_and_reads(fast_files, diagnostic_reader):
    """The equivalence above is no accident of both paths failing: every sample CSV (the
    diagnostic exports, partner ratings included, and the NHS publications) takes the fast
    path and reads without error, exports into respondents and answers."""
    for path in SAMPLE_FILES:
        assert not isinstance(outcome(lambda path=path: read_text_table(path)), tuple), path.name
    assert sorted(fast_files) == sorted(p.name for p in SAMPLE_FILES)
    exports = sorted((PROJECT_ROOT / "sample_data" / "diagnostic_exports").glob("*.csv"))
    assert len(exports) >= 30
    for path in exports:
        result = diagnostic_reader(path)
        assert result.rows_read > 0, path.name
        assert result.tables["raw.diagnostic_rows"].height == result.rows_read
        answers = "diagnostic_partner_ratings" if path.stem.endswith("_partners") else "diagnostic_answers"
        assert result.tables[answers].height > 0, path.name


# --- Large files: a generated export, and the RTT extract in its zip -----------------------------


def test_a_generated_large_export_reads_alike(tmp_path, slow, fast_files, monkeypatch, diagnostic_reader):
    sys.path.insert(0, str(PROJECT_ROOT))
    from benchmarks.diagnostic_ingest import large_export

    monkeypatch.setattr(plain_csv, "BLOCK_BYTES", 100_000)  # about 300 rows a block
    path = tmp_path / "bench_wave1.csv"
    large_export(path, 5_000)
    read = lambda: diagnostic_reader(path)  # noqa: E731
    fast = outcome(read)
    assert fast_files == [path.name]
    assert fast.rows_read == 5_000
    assert_same(fast, slow(read))


def test_the_rtt_zip_reads_alike_batch_by_batch(slow, fast_files):
    layout = load_layout(LAYOUTS_DIR / "rtt.yaml")
    read = lambda: list(iter_text_tables(RTT_ZIP, tuple(layout.files.types), member=layout.files.member))  # noqa: E731
    fast = outcome(read)
    assert len(fast_files) == 1
    assert [t.rows.height for t in fast] == [20_000] * 9 + [781]
    assert fast[-1].rows["source_row"].max() == 180_782
    assert_same(fast, slow(read))
