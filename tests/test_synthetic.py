"""The synthetic sample generator is deterministic and the committed sample is its output."""

from ingest.synthetic import DEFAULT_CODEBOOK, DEFAULT_COLLABORATIONS, DEFAULT_OUTPUT, generate_exports
from ingest.codebook import load_codebook
from ingest.collaborations import load_collaborations


def test_generator_is_deterministic_and_matches_committed_sample():
    collaborations = load_collaborations(DEFAULT_COLLABORATIONS)
    codebook = load_codebook(DEFAULT_CODEBOOK)
    first = generate_exports(collaborations, codebook)
    assert first == generate_exports(collaborations, codebook)
    committed = {p.name: p.read_bytes() for p in DEFAULT_OUTPUT.glob("*.csv")}
    assert committed == first, "sample_data is stale: run `make sample` and commit the result"


def test_sample_has_the_promised_mess():
    files = generate_exports(load_collaborations(DEFAULT_COLLABORATIONS), load_codebook(DEFAULT_CODEBOOK))
    assert any(content.startswith(b"\xef\xbb\xbf") for content in files.values())  # a BOM
    assert any(b"Don\x92t know" in content for content in files.values())  # Windows-1252
    assert any(b"DON'T KNOW" in content for content in files.values())
    assert any(b",,,,,,,," in content for content in files.values())  # a blank row
