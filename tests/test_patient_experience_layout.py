"""Issue 22: a patient-experience publication is configuration only. No Friends and Family
Test (FFT) or GP Patient Survey file is bundled; this test writes a small FFT extract in
the monthly layout NHS England publishes (organisation, period, responses by rating, total
responses, total eligible), a layout and a metric for it in YAML, and reads it with the
project's own reader and metric catalogue: no code.

Hand-worked, share of responses "very good" or "good" (FFT's "percentage positive"):
  R1H, January 2025: (120 + 60) / 200 = 0.9;   February: (100 + 50) / 250 = 0.6
  RF4, January 2025: (30 + 10) / 50 = 0.8
The ENGLAND row is the file's total (responses 250 = 200 + 50 in January, checked and not
stored); RQX's February row has a rating that is not a number and is quarantined; the
response rate (responses / eligible) is a second metric from the same columns.
"""

from __future__ import annotations

import pytest

from ingest.layouts import load_layout
from ingest.metric_catalogue import catalogue_tables, load_metric_catalogue, metric_values
from ingest.publication import combine_publications, read_publication

pytestmark = pytest.mark.unit

FFT_LAYOUT = """
title: a Friends and Family Test file (A&E, monthly)
description: NHS Friends and Family Test responses by organisation and month, A&E.
period: {format: ['%b-%Y', '%B %Y'], grain: month, describe: a month such as Jan-2025}
columns:
  period: {header: Period, role: period}
  org_code: {header: [Org code, Organisation code], role: organisation}
  org_name: {header: Org name, role: text}
  total_responses: {header: Total Responses, required: true}
  total_eligible: {header: Total Eligible}
  very_good: {header: Very Good, required: true}
  good: {header: Good, required: true}
  neither: {header: [Neither Good nor Poor, Neither good nor poor]}
  poor: {header: Poor}
  very_poor: {header: Very Poor}
  dont_know: {header: [Dont Know, Don't know]}
measures: {type: count, other_columns: ignore}
totals:
  rows: [{label: england, columns: [org_code]}]
  reason: "national total row: derived from the organisation rows, not stored"
  within: [period]
"""

FFT_METRICS = """
metrics:
  - id: fft_ae_positive
    name: A&E patients rating their experience good or very good (FFT)
    domain: patient_experience
    unit: proportion
    polarity: higher_is_better
    description: Share of Friends and Family Test responses in A&E that are very good or good.
    sources:
      fft_ae:
        numerator: very_good + good
        denominator: total_responses
  - id: fft_ae_response_rate
    name: FFT response rate, A&E
    domain: patient_experience
    unit: proportion
    polarity: neutral
    description: Responses as a share of the patients eligible to respond.
    sources:
      fft_ae:
        numerator: total_responses
        denominator: total_eligible
"""

HEADER = "Period,Org code,Org name,Total Responses,Total Eligible,Very Good,Good,Neither Good nor Poor,Poor,Very Poor,Dont Know"
ROWS = [
    "Jan-2025,R1H,BARTS HEALTH NHS TRUST,200,1000,120,60,10,5,3,2",
    "Jan-2025,RF4,BARKING HAVERING AND REDBRIDGE,50,400,30,10,5,3,2,0",
    "Jan-2025,ENGLAND,ENGLAND,250,1400,150,70,15,8,5,2",
    "Feb-2025,R1H,BARTS HEALTH NHS TRUST,250,1000,100,50,50,30,15,5",
    "Feb-2025,RQX,HOMERTON HEALTHCARE,40,300,twenty,10,5,3,2,0",
    "Feb-2025,ENGLAND,ENGLAND,250,1000,100,50,50,30,15,5",
]


def test_a_friends_and_family_test_extract_is_configuration_only(tmp_path):
    layout_path = tmp_path / "layouts" / "fft_ae.yaml"
    layout_path.parent.mkdir()
    layout_path.write_text(FFT_LAYOUT, encoding="utf-8")
    metrics_path = tmp_path / "metrics.yaml"
    metrics_path.write_text(FFT_METRICS, encoding="utf-8")
    data = tmp_path / "FFT_AE_2025.csv"
    data.write_text("\n".join([HEADER, *ROWS]) + "\n", encoding="utf-8")

    layout = load_layout(layout_path)
    assert layout.period.grain == "month"
    result = read_publication(data, layout)
    tables, quarantine = combine_publications(layout)([result])
    clean = tables["fft_ae"]
    # Nothing lost: 6 rows read = 3 clean + 2 totals + 1 bad row.
    rows_quarantined = quarantine.filter(quarantine["scope"] == "row")["source_row"].n_unique()
    assert (result.rows_read, clean.height, rows_quarantined) == (6, 3, 3)
    reasons = dict(zip(quarantine["source_row"].to_list(), quarantine["reason"].to_list(), strict=True))
    assert reasons[4] == reasons[7] == "national total row: derived from the organisation rows, not stored"
    assert "RQX" not in clean["org_code"].to_list() and 6 in reasons

    catalogue = load_metric_catalogue(metrics_path, {"fft_ae"})
    values, _ = metric_values({"fft_ae": clean}, catalogue)
    got = {
        (row["metric_id"], row["org_code"], row["period_start"].isoformat()): row["value"]
        for row in values.iter_rows(named=True)
    }
    assert got == {
        ("fft_ae_positive", "R1H", "2025-01-01"): 0.9,
        ("fft_ae_positive", "RF4", "2025-01-01"): 0.8,
        ("fft_ae_positive", "R1H", "2025-02-01"): 0.6,
        ("fft_ae_response_rate", "R1H", "2025-01-01"): 0.2,
        ("fft_ae_response_rate", "RF4", "2025-01-01"): 0.125,
        ("fft_ae_response_rate", "R1H", "2025-02-01"): 0.25,
    }
    described = catalogue_tables(catalogue, {"fft_ae": layout.period.grain})["metric_catalogue"]
    assert described.select("metric_id", "domain", "period_grain", "is_poolable").rows() == [
        ("fft_ae_positive", "patient_experience", "month", True),
        ("fft_ae_response_rate", "patient_experience", "month", True),
    ]
