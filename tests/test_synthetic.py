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


def test_sample_partner_ratings_name_real_trusts_and_one_drifts_to_the_edge(tmp_path):
    """Partner ratings for the demo: wide columns (partners by name or by ODS code) and long
    files for nel_uec, all naming member trusts; in ncl_acute, RAP's partners rate it less
    close from wave 1 to wave 2 while RAP goes on rating them closely."""
    import polars as pl

    from ingest.diagnostic import combine_exports, read_diagnostic_export
    from ingest.organisations import OrganisationMatcher, read_organisations
    from ingest.partner_ratings import TABLE
    from ingest.synthetic import DEFAULT_ORGANISATIONS

    collaborations = load_collaborations(DEFAULT_COLLABORATIONS)
    codebooks = load_codebooks(DEFAULT_CODEBOOKS)
    files = generate_exports(collaborations, codebooks, org_names=sample_org_names())
    assert {"nel_uec_wave1_partners.csv", "nel_uec_wave2_partners.csv"} <= set(files)
    assert b"[Royal Free London Nhs Foundation Trust]" in files["ncl_acute_wave1.csv"]  # a partner by name
    assert b"[RFF]" in files["syb_uec_wave1.csv"]  # and by code
    organisations = OrganisationMatcher(read_organisations(DEFAULT_ORGANISATIONS))
    results = []
    for name, content in sorted(files.items()):
        if name.startswith(("ncl_acute", "nel_uec")):
            (tmp_path / name).write_bytes(content)
            results.append(read_diagnostic_export(tmp_path / name, codebooks, b"k", organisations, collaborations))
    tables, quarantine = combine_exports(results, collaborations)
    ratings = tables[TABLE]
    members = {c.id: {m.org for m in c.members} for c in collaborations.collaborations}
    assert set(ratings["layout"]) == {"wide", "long"}
    for (cid,), group in ratings.group_by("collaboration_id"):
        assert set(group["partner_code"]) | set(group["organisation_code"]) <= members[cid]
    closeness = (
        ratings.filter((pl.col("collaboration_id") == "ncl_acute") & (pl.col("dimension") == "closeness"))
        .group_by("wave", rated=pl.col("partner_code") == "RAP", rater=pl.col("organisation_code") == "RAP")
        .agg(pl.col("answer_value").mean())
    )
    mean = {(w, rated, rater): v for w, rated, rater, v in closeness.rows()}
    assert mean[(2, True, False)] < mean[(1, True, False)] - 0.5  # others draw away from RAP
    assert mean[(2, False, True)] >= 2.5  # while RAP rates them as close as ever
    assert quarantine.filter(pl.col("reason") == "rates the respondent's own organisation: ignored").height == 2
