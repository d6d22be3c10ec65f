"""The synthetic sample generator is deterministic and the committed sample is its output."""

import pytest

from ingest.codebook import load_codebooks
from ingest.collaborations import load_collaborations
from ingest.synthetic import (
    DEFAULT_CODEBOOKS,
    DEFAULT_COLLABORATIONS,
    DEFAULT_OUTPUT,
    generate_exports,
    sample_org_names,
)

pytestmark = pytest.mark.unit


def test_generator_is_deterministic_and_matches_committed_sample():
    collaborations = load_collaborations(DEFAULT_COLLABORATIONS)
    codebook = load_codebooks(DEFAULT_CODEBOOKS)
    first = generate_exports(collaborations, codebook, org_names=sample_org_names())
    assert first == generate_exports(collaborations, codebook, org_names=sample_org_names())
    committed = {p.name: p.read_bytes() for p in DEFAULT_OUTPUT.glob("*.csv")}
    assert committed == first, "sample_data is stale: run `make sample` and commit the result"


def test_sample_has_the_promised_mess():
    files = generate_exports(
        load_collaborations(DEFAULT_COLLABORATIONS), load_codebooks(DEFAULT_CODEBOOKS), org_names=sample_org_names()
    )
    assert any(content.startswith(b"\xef\xbb\xbf") for content in files.values())  # a BOM
    assert any(b"Don\x92t know" in content for content in files.values())  # Windows-1252
    assert any(b"DON'T KNOW" in content for content in files.values())
    assert any(b",,,,,,,," in content for content in files.values())  # a blank row
    assert any(b"Barts Health Nhs Trust" in content for content in files.values())  # a name, not a code
