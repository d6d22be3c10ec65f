"""The bad-input corpus: every file is either read with rows that reconcile exactly
(clean + quarantined = read) or rejected with an error naming the file. Never a silent
drop, never a bare traceback. Expectations: tests/bad_inputs/diagnostic/EXPECTED.yaml."""

import re
from pathlib import Path

import polars as pl
import pytest
import yaml

from conftest import CODEBOOK_DIR, SAMPLE_ODS
from ingest.codebook import load_codebooks
from ingest.diagnostic import read_diagnostic_export
from ingest.files import InputFileError
from ingest.organisations import OrganisationMatcher, read_organisations

CORPUS = Path(__file__).parent / "bad_inputs" / "diagnostic"
EXPECTED = yaml.safe_load((CORPUS / "EXPECTED.yaml").read_text())
FILES = sorted(p for p in CORPUS.iterdir() if p.name != "EXPECTED.yaml")


def test_corpus_is_complete():
    assert len(FILES) >= 20
    assert {p.name for p in FILES} == set(EXPECTED), "every corpus file needs an expectation, and only those"


@pytest.fixture(scope="module")
def reader():
    codebooks = load_codebooks(CODEBOOK_DIR)
    matcher = OrganisationMatcher(read_organisations(SAMPLE_ODS))
    return lambda path: read_diagnostic_export(path, codebooks, b"corpus-key", matcher)


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_corpus_file(reader, path):
    expected = EXPECTED[path.name]
    if "error" in expected:
        with pytest.raises(InputFileError) as raised:
            reader(path)
        assert raised.value.args[0].startswith(path.name)
        assert re.search(expected["error"], raised.value.args[0], flags=re.S)
        return
    result = reader(path)
    respondents = result.tables["diagnostic_respondents"]
    assert (result.rows_read, respondents.height, result.rows_quarantined) == (
        expected["rows"], expected["clean"], expected["quarantined"]
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
    # The quarantine locates a problem (file, row, column, reason); it never copies a cell,
    # which in a shifted export may hold an email address or free text.
    assert result.quarantine["value"].null_count() == result.quarantine.height
