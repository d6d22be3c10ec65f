"""The diagnostic exports combined a few collaborations at a time, out of memory, give what
combining them all at once gives: the same kept rows and the same quarantine."""

import shutil

import polars as pl
import pytest
from conftest import CODEBOOK_DIR, PROJECT_ROOT, SAMPLE_ODS
from polars.testing import assert_frame_equal

from ingest.codebook import load_codebooks
from ingest.collaborations import load_collaborations
from ingest.diagnostic import DIAGNOSTIC_ROW_ORDER, combine_exports, read_diagnostic_export
from ingest.organisations import OrganisationMatcher, read_organisations
from ingest.pseudonymise import DEMO_KEY
from orchestration import spill as spill_module
from orchestration.spill import Batched, Spill

pytestmark = pytest.mark.unit

QUARANTINE_ORDER = ["source_file", "source_row", "column_name", "reason", "value", "scope"]


def test_combining_in_batches_gives_what_combining_at_once_gives(tmp_path, monkeypatch):
    exports = tmp_path / "exports"
    shutil.copytree(PROJECT_ROOT / "sample_data" / "diagnostic_exports", exports)
    # A re-export of a whole wave under a name sorting later: every one of its respondents is
    # kept from the copy and superseded in the original, across files in the same batch.
    shutil.copy(exports / "bc_uec_wave2.csv", exports / "bc_uec_wave2_reexport.csv")
    files = sorted(exports.glob("*.csv"))
    codebooks = load_codebooks(CODEBOOK_DIR)
    collaborations = load_collaborations(PROJECT_ROOT / "config" / "collaborations.yaml")
    organisations = OrganisationMatcher(read_organisations(SAMPLE_ODS))

    def read():
        return [
            read_diagnostic_export(path, codebooks, DEMO_KEY.encode(), organisations, collaborations) for path in files
        ]

    def combine(results):
        return combine_exports(results, collaborations)

    at_once, at_once_quarantine = combine(read())

    monkeypatch.setattr(spill_module, "BATCH_ROWS", 300)  # a collaboration or two per batch
    spill = Spill(
        tmp_path / "spill",
        plain={"diagnostic_answers": "diagnostic_respondents", "raw.diagnostic_rows": None},
        batched=Batched("collaboration_id", DIAGNOSTIC_ROW_ORDER),
    )
    results = read()
    for index, result in enumerate(results, start=1):
        spill.take(index, result)
        assert all(frame.height == 0 for frame in result.tables.values())  # nothing held
    batches = list(spill.combine_in_batches(combine))

    assert len(batches) > 3
    for name, order in DIAGNOSTIC_ROW_ORDER.items():
        combined = pl.concat([pl.read_parquet(path) for path in sorted(spill.folder(name).glob("*.parquet"))])
        assert combined.height > 0
        assert_frame_equal(combined.sort(order, nulls_last=False, maintain_order=True), at_once[name])
    superseded = at_once_quarantine.filter(pl.col("reason").str.contains("bc_uec_wave2_reexport.csv row"))
    assert superseded.height > 0  # the case this test is for happened
    quarantine = pl.concat([r.quarantine for r in results] + spill.quarantine())
    assert_frame_equal(
        quarantine.sort(QUARANTINE_ORDER, nulls_last=False), at_once_quarantine.sort(QUARANTINE_ORDER, nulls_last=False)
    )
    # The plain tables are every file's rows, as read.
    raw = pl.concat([pl.read_parquet(p) for p in sorted(spill.folder("raw.diagnostic_rows").glob("*.parquet"))])
    assert_frame_equal(raw, at_once["raw.diagnostic_rows"])


def test_no_rows_at_all_still_gives_the_combined_tables(tmp_path):
    calls = []

    def combine(results):
        calls.append(results[0].tables["t"].height)
        return {"t": results[0].tables["t"].with_columns(kept=pl.lit(True))}, pl.DataFrame()

    spill = Spill(tmp_path, batched=Batched("group", {"t": ("row",)}))
    from ingest.quarantine import IngestResult

    spill.take(
        1, IngestResult("f.csv", "", 0, tables={"t": pl.DataFrame(schema={"group": pl.String, "row": pl.Int64})})
    )
    (combined,) = spill.combine_in_batches(combine)
    assert calls == [0]
    assert combined["t"].columns == ["group", "row", "kept"]


def test_a_thousand_distinct_values_make_at_most_one_bucket_each_of_a_few_hundred(tmp_path):
    from ingest.quarantine import IngestResult

    values = [f"typed by hand {i}" for i in range(1_000)] + [None]
    frame = pl.DataFrame({"group": values, "row": range(len(values))})
    spill = Spill(tmp_path, batched=Batched("group", {"t": ("row",)}))
    spill.take(1, IngestResult("f.csv", "", 0, tables={"t": frame}))
    written = list((tmp_path / "partitions" / "t").glob("*/*.parquet"))
    assert 1 < len(written) <= spill_module.BUCKETS
    (combined,) = spill.combine_in_batches(lambda results: (results[0].tables, pl.DataFrame()))
    assert sorted(combined["t"]["row"].to_list()) == list(range(len(values)))  # every row once
