"""Referral to Treatment from NHS England's real April 2026 full extract, added by
configuration alone (config/layouts/rtt.yaml, two metrics in config/metrics.yaml, a suite,
dbt tests in YAML): the whole job on the bundled zip, and the marts checked against figures
computed here, independently, from the raw file.

The file's own totals are its treatment function C_999 rows (one per provider,
commissioner and RTT part). Computed from them for incomplete pathways (Part_2), April 2026:
  England: 7,123,980 waiting, 4,623,405 of them 18 weeks or less (64.90%), 100,665 over 52 weeks;
  528 providers in 36 ICBs.
"""

from __future__ import annotations

import re
import zipfile

import polars as pl
import pytest
from conftest import PROJECT_ROOT
from test_nightly_job import connect, run_nightly

pytestmark = pytest.mark.e2e

RTT_ZIP = PROJECT_ROOT / "sample_data" / "nhs" / "rtt" / "20260430-RTT-April-2026-full-extract.csv.zip"
SHARE, OVER_52 = "rtt_incomplete_within_18_weeks", "rtt_incomplete_over_52_weeks"


def raw_part_2() -> pl.DataFrame:
    """The Part_2 rows of the raw extract, read straight from the zip (not with the layout):
    provider, parent ICB, whether the row is a C_999 total, waiting up to 18 weeks, over 52
    weeks, and Total All."""
    with zipfile.ZipFile(RTT_ZIP) as archive:
        (member,) = [n for n in archive.namelist() if n.endswith(".csv") and "__MACOSX" not in n]
        raw = pl.read_csv(archive.read(member), infer_schema=False)
    up_to_18, over_52 = [], []
    for header in raw.columns:
        band = re.fullmatch(r"Gt (\d+)(?: To (\d+))? Weeks SUM 1", header)
        if band and band[2] is not None and int(band[2]) <= 18:
            up_to_18.append(header)
        elif band and int(band[1]) >= 52:
            over_52.append(header)
    assert (len(up_to_18), len(over_52)) == (18, 53)
    return raw.filter(pl.col("RTT Part Type") == "Part_2").select(
        pl.col("Provider Org Code").alias("provider"),
        pl.col("Provider Parent Org Code").alias("icb"),
        (pl.col("Treatment Function Code") == "C_999").alias("is_total"),
        pl.sum_horizontal(pl.col(up_to_18).cast(pl.Int64)).alias("up_to_18"),
        pl.sum_horizontal(pl.col(over_52).cast(pl.Int64)).alias("over_52"),
        pl.col("Total All").cast(pl.Int64).alias("waiting"),
    )


def sums(frame: pl.DataFrame, by: str) -> dict[str, tuple[float, float, float]]:
    grouped = frame.group_by(by).agg(pl.col("up_to_18", "waiting", "over_52").sum())
    return {row[0]: tuple(float(v) for v in row[1:]) for row in grouped.iter_rows()}


def mart(db, entity_type: str) -> dict[str, tuple[float, float, float]]:
    rows = db.execute(
        "select entity_id, metric_id, numerator, denominator from marts.system_metrics "
        "where entity_type = ? and metric_id like 'rtt_%' and period_month = date '2026-04-01'",
        [entity_type],
    ).fetchall()
    share = {e: (n, d) for e, m, n, d in rows if m == SHARE}
    over = {e: n for e, m, n, _ in rows if m == OVER_52}
    assert set(share) == set(over)
    return {e: (*share[e], over[e]) for e in share}


def test_rtt_april_2026_from_the_real_extract(tiny_project, monkeypatch):
    monkeypatch.setenv("COLLAB_HEALTH_RTT_SOURCE", str(RTT_ZIP.parent))
    result = run_nightly()
    assert result.success
    checks = {(c.asset_key.to_user_string(), c.check_name): c for c in result.get_asset_check_evaluations()}
    for name in ("rows_reconcile", "files_accepted", "totals_reconcile", "ge_clean_rtt"):
        assert checks[("clean/rtt", name)].passed, name
    # Every C_999 total in the file, in every measure, equals the sum of the rows it totals.
    assert (
        checks[("clean/rtt", "totals_reconcile")].metadata["totals_compared"].value == 40_102 * 4 + 11_735 * 2
    )  # 40,102 totals x (3 spans + Total All); 11,735 give Total and unknown starts

    part_2 = raw_part_2()
    totals, rows = part_2.filter(pl.col("is_total")), part_2.filter(~pl.col("is_total"))
    # The file's own totals and its function rows agree, provider by provider.
    assert sums(totals, "provider") == sums(rows, "provider")
    national = totals.select(pl.col("up_to_18", "waiting", "over_52").sum()).row(0)
    assert national == (4_623_405, 7_123_980, 100_665)
    assert round(national[0] / national[1], 4) == 0.6490

    with connect(tiny_project) as db:
        loads = db.execute(
            "select rows_read, rows_clean, rows_quarantined from audit.file_loads where source = 'rtt'"
        ).fetchall()
        assert loads == [(180_781, 140_679, 40_102)]  # the 40,102 quarantined are the C_999 totals
        organisations = mart(db, "organisation")
        # Every provider, as the file's C_999 totals give it; England is their sum.
        assert organisations == sums(totals, "provider")
        assert tuple(sum(v[i] for v in organisations.values()) for i in range(3)) == (4_623_405, 7_123_980, 100_665)
        # ICBs pool their providers' numerators and denominators: as the file's totals by parent ICB.
        assert mart(db, "icb") == sums(totals, "icb")
        # The tiny collaboration pools its two members.
        r1h, rf4 = organisations["R1H"], organisations["RF4"]
        assert mart(db, "collaboration")["tiny"] == tuple(a + b for a, b in zip(r1h, rf4, strict=True))
        value = db.execute(
            "select value from marts.system_metrics where metric_id = ? and entity_id = 'tiny'", [SHARE]
        ).fetchone()[0]
        assert value == (r1h[0] + rf4[0]) / (r1h[1] + rf4[1])
