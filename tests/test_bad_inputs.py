"""The bad-input corpora: every file is either read with rows that reconcile exactly
(clean + quarantined = read) or rejected with an error naming the file. Never a silent
drop, never a bare traceback. Expectations: tests/bad_inputs/*/EXPECTED.yaml."""

import re
from pathlib import Path

import polars as pl
import pytest
import yaml
from conftest import CODEBOOK_DIR, LAYOUTS_DIR, SAMPLE_ODS

from ingest.codebook import load_codebooks
from ingest.diagnostic import combine_exports, read_diagnostic_export
from ingest.files import InputFileError
from ingest.layouts import load_layout
from ingest.organisations import OrganisationMatcher, read_organisations
from ingest.publication import read_publication
from ingest.quarantine import IngestResult

pytestmark = pytest.mark.unit

CORPORA = Path(__file__).parent / "bad_inputs"
ROW_TABLE = {"diagnostic": "diagnostic_respondents", "monthly_ae": "monthly_ae"}
EXPECTED = {name: yaml.safe_load((CORPORA / name / "EXPECTED.yaml").read_text()) for name in ROW_TABLE}
FILES = sorted(p for name in ROW_TABLE for p in (CORPORA / name).iterdir() if p.name != "EXPECTED.yaml")


@pytest.mark.parametrize(("corpus", "least"), [("diagnostic", 20), ("monthly_ae", 5)])
def test_corpus_is_complete(corpus, least):
    files = {p.name for p in (CORPORA / corpus).iterdir() if p.name != "EXPECTED.yaml"}
    assert len(files) >= least
    assert files == set(EXPECTED[corpus]), "every corpus file needs an expectation, and only those"


@pytest.fixture(scope="module")
def readers():
    codebooks = load_codebooks(CODEBOOK_DIR)
    matcher = OrganisationMatcher(read_organisations(SAMPLE_ODS))
    monthly_ae = load_layout(LAYOUTS_DIR / "monthly_ae.yaml")

    def diagnostic(path: Path) -> IngestResult:
        """Read, then de-duplicated as the pipeline loads it (combine_exports)."""
        result = read_diagnostic_export(path, codebooks, b"corpus-key", matcher)
        tables, quarantine = combine_exports([result])
        return IngestResult(
            result.source_file, result.sha256, result.rows_read, tables, quarantine, result.ignored_columns
        )

    return {"diagnostic": diagnostic, "monthly_ae": lambda path: read_publication(path, monthly_ae)}


@pytest.mark.parametrize("path", FILES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_corpus_file(readers, path):
    corpus = path.parent.name
    reader = readers[corpus]
    expected = EXPECTED[corpus][path.name]
    if "error" in expected:
        with pytest.raises(InputFileError) as raised:
            reader(path)
        assert raised.value.args[0].startswith(path.name)
        assert re.search(expected["error"], raised.value.args[0], flags=re.S)
        return
    result = reader(path)
    respondents = result.tables[ROW_TABLE[corpus]]
    assert (result.rows_read, respondents.height, result.rows_quarantined) == (
        expected["rows"],
        expected["clean"],
        expected["quarantined"],
    )
    # Reconciles exactly, row by row: every input row is clean or quarantined, never both.
    quarantined = set(result.quarantine.filter(pl.col("scope") == "row")["source_row"].to_list())
    clean = set(respondents["source_row"].to_list())
    assert not quarantined & clean
    assert quarantined | clean == set(range(2, 2 + result.rows_read))
    reasons = result.quarantine["reason"].to_list()
    for wanted in expected.get("reasons", []):
        assert any(wanted in reason for reason in reasons), (wanted, reasons)
    assert all(any(w in r for w in expected.get("reasons", [])) for r in reasons), reasons
    assert sorted(result.ignored_columns) == sorted(expected.get("ignored", []))
    if corpus == "diagnostic":
        # The quarantine locates a problem (file, row, column, reason); it never copies a
        # cell, which in a shifted export may hold an email address or free text.
        assert result.quarantine["value"].null_count() == result.quarantine.height


# --- The hostile corpus (issue 21): read with the collaborations, then combined ---------------

HOSTILE = CORPORA / "hostile"
HOSTILE_CONFIG = CORPORA / "hostile_config"
HOSTILE_EXPECTED = yaml.safe_load((HOSTILE / "EXPECTED.yaml").read_text())
HOSTILE_FILES = sorted(p for p in HOSTILE.iterdir() if p.name != "EXPECTED.yaml")
HOSTILE_CONFIG_EXPECTED = yaml.safe_load((HOSTILE_CONFIG / "EXPECTED.yaml").read_text())


def planted() -> tuple[str, ...]:
    import importlib.util

    spec = importlib.util.spec_from_file_location("make_corpus", CORPORA / "make_corpus.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.PLANTED


PLANTED = planted()


def test_hostile_corpus_is_complete():
    files = {p.name for p in HOSTILE_FILES}
    configs = {p.name for p in HOSTILE_CONFIG.iterdir() if p.name != "EXPECTED.yaml"}
    assert len(files) + len(configs) >= 40
    assert files == set(HOSTILE_EXPECTED), "every corpus file needs an expectation, and only those"
    assert configs == set(HOSTILE_CONFIG_EXPECTED)
    assert all(entry.get("plants") for entry in [*HOSTILE_EXPECTED.values(), *HOSTILE_CONFIG_EXPECTED.values()])


@pytest.fixture(scope="module")
def hostile_reader():
    from conftest import TINY_COLLABORATIONS

    from ingest.collaborations import CollaborationsFile
    from ingest.diagnostic import combine_exports

    codebooks = load_codebooks(CODEBOOK_DIR)
    matcher = OrganisationMatcher(read_organisations(SAMPLE_ODS))
    collaborations = CollaborationsFile.model_validate(yaml.safe_load(TINY_COLLABORATIONS))

    def read(path):
        result = read_diagnostic_export(path, codebooks, b"corpus-key", matcher, collaborations)
        tables, quarantine = combine_exports([result], collaborations)
        return result, tables, quarantine

    return read


def assert_nothing_planted(*texts: str) -> None:
    for text in texts:
        for secret in PLANTED:
            assert secret not in text, f"planted {secret!r} leaked"


@pytest.mark.parametrize("path", HOSTILE_FILES, ids=lambda p: p.name)
def test_hostile_corpus_file(hostile_reader, path):
    expected = HOSTILE_EXPECTED[path.name]
    if "error" in expected:
        with pytest.raises(InputFileError) as raised:
            hostile_reader(path)
        message = raised.value.args[0]
        assert message.startswith(path.name)
        assert re.search(expected["error"], message, flags=re.S), message
        assert "\n" not in message
        assert_nothing_planted(message)
        return
    result, tables, quarantine = hostile_reader(path)
    respondents = tables["diagnostic_respondents"]
    rows = quarantine.filter(pl.col("scope") == "row")
    cells = quarantine.filter(pl.col("scope") == "cell")
    assert (result.rows_read, respondents.height, rows["source_row"].n_unique(), cells.height) == (
        expected["rows"],
        expected["clean"],
        expected["quarantined"],
        expected.get("cells", 0),
    )
    # Reconciled row by row: every input row clean or quarantined, never both.
    assert not set(rows["source_row"]) & set(respondents["source_row"])
    assert set(rows["source_row"]) | set(respondents["source_row"]) == set(range(2, 2 + result.rows_read))
    reasons = quarantine["reason"].to_list()
    for wanted in expected.get("reasons", []):
        assert any(wanted in reason for reason in reasons), (wanted, reasons)
    assert all(any(w in r for w in expected.get("reasons", [])) for r in reasons), reasons
    if "ignored" in expected:
        assert result.ignored_columns == expected["ignored"]
    # Nothing planted in what is stored (the combined tables, the quarantine, the raw
    # profile) or logged (the ignored columns), and no cell copied.
    assert quarantine["value"].null_count() == quarantine.height
    assert_nothing_planted(
        *(frame.write_csv() for frame in [*tables.values(), quarantine]), repr(result.ignored_columns)
    )


def test_free_text_is_never_stored_by_the_reader(tmp_path):
    """The reader keeps only the columns the codebook names: a 200 KiB comment with a NUL
    byte is not in the table it reads, not even as a column."""
    from ingest.diagnostic import recognise_instrument
    from ingest.files import ColumnSelection, read_text_table

    codebooks = load_codebooks(CODEBOOK_DIR)

    def keep(headers, preview):
        layout = recognise_instrument(codebooks, headers, HOSTILE / "comment_200k.csv", preview)
        return ColumnSelection(keep=[*layout.fields.values(), *layout.items.values()], free_text=layout.free_text)

    table = read_text_table(HOSTILE / "comment_200k.csv", keep)
    assert table.headers[-1] == "Any other comments"
    assert f"c{len(table.headers) - 1}" not in table.rows.columns
    assert_nothing_planted(table.rows.write_csv())


def test_a_newline_in_a_file_name_cannot_forge_a_log_line(hostile_reader, tmp_path):
    path = tmp_path / "export\n2024-08-06 INFO all files accepted.csv"
    path.write_bytes((HOSTILE / "semicolon_delimited.csv").read_bytes())
    with pytest.raises(InputFileError) as raised:
        hostile_reader(path)
    message = str(raised.value)
    assert "\n" not in message
    assert message.startswith("export\\n2024-08-06 INFO all files accepted.csv: the file name holds control characters")


@pytest.mark.parametrize("name", sorted(HOSTILE_CONFIG_EXPECTED))
def test_hostile_configuration_is_refused_clearly(tmp_path, name):
    from ingest.collaborations import load_collaborations
    from ingest.metric_catalogue import load_metric_catalogue
    from ingest.sources import load_sources

    expected = HOSTILE_CONFIG_EXPECTED[name]
    path = HOSTILE_CONFIG / name
    if expected["loader"] == "sources":
        (tmp_path / "sources.yaml").write_bytes(path.read_bytes())
        load = lambda: load_sources(tmp_path, {})  # noqa: E731
    else:
        loader = {"metrics": load_metric_catalogue, "collaborations": load_collaborations}[expected["loader"]]
        load = lambda: loader(path)  # noqa: E731
    with pytest.raises(ValueError) as raised:
        load()
    assert re.search(expected["error"], str(raised.value), flags=re.S), str(raised.value)
    assert "root:" not in str(raised.value)  # no file was read
