"""The bad-input corpora: every file is either read with rows that reconcile exactly
(clean + quarantined = read) or rejected with an error naming the file. Never a silent
drop, never a bare traceback. Expectations: tests/bad_inputs/*/EXPECTED.yaml."""

import re
from pathlib import Path

import polars as pl
import pytest
import yaml
from conftest import CODEBOOK_DIR, SAMPLE_ODS

from ingest.codebook import load_codebooks
from ingest.diagnostic import combine_exports, read_diagnostic_export
from ingest.files import InputFileError
from ingest.monthly_ae import read_monthly_ae
from ingest.organisations import OrganisationMatcher, read_organisations
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

    def diagnostic(path: Path) -> IngestResult:
        """Read, then de-duplicated as the pipeline loads it (combine_exports)."""
        result = read_diagnostic_export(path, codebooks, b"corpus-key", matcher)
        tables, quarantine = combine_exports([result])
        return IngestResult(
            result.source_file, result.sha256, result.rows_read, tables, quarantine, result.ignored_columns
        )

    return {"diagnostic": diagnostic, "monthly_ae": read_monthly_ae}


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
