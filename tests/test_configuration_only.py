"""Proof that a new publication, metric and instrument are configuration only: a layout, a
metric and a codebook written here in YAML (no code), the whole job run on small
hand-made files, and the marts checked against figures worked by hand.

Community waits (a long layout: one row per provider, month and service, and an
"All services" total row per provider), share seen within 2 weeks, pooled:
  July 2024:      R1H physio 30/40 + podiatry 10/20, RF4 physio 20/40 -> 60/100 = 0.6
  September 2024: R1H physio 45/50, RF4 physio 35/50                  -> 80/100 = 0.8

Ward partnership survey (one file per trust; organisation, collaboration and wave from the
file's name; T2 and T3 on a 3-point scale rescaled to 1-5: 1, 2, 3 -> 1, 3, 5; T3
reverse-keyed). Trust, respondent means:
  R1H: a (4, 5, 5) 4.667; b (2, 3, 3) 2.667; c (3, 5, 3) 3.667 -> 3.667
  RF4: d (5, 5, 5) 5.0;   e (4, 3, 1) 2.667; f (2, 1, 1) 1.333 -> 3.0
  Collaboration (each organisation weighted equally): (3.667 + 3.0) / 2 = 3.33, borderline.
"""

from __future__ import annotations

import datetime as dt

import pytest
from test_nightly_job import connect, run_nightly

pytestmark = pytest.mark.e2e

LAYOUT = """
title: a community waits file
description: Community service waits, one row per provider, month and service.
period: {format: '%b %Y', grain: month, describe: a month such as Jul 2024}
grain: long
columns:
  period: {header: Month, role: period}
  org_code: {header: Provider, role: organisation}
  service: {header: Service, role: category}
  within_2_weeks: {header: Seen within 2 weeks, required: true}
  waiting: {header: Waiting, required: true}
measures: {type: count, other_columns: ignore}
totals:
  rows: [{label: All services, columns: [service]}]
  reason: "all-services row: the total of the provider's services"
  within: [period, org_code]
"""

METRIC = """
  - id: community_seen_2_weeks
    name: Community patients seen within 2 weeks
    domain: access
    unit: proportion
    polarity: higher_is_better
    description: Share of patients waiting for a community service who were seen within 2 weeks.
    sources:
      community_waits:
        filter: service <> 'Wheelchairs'
        numerator: within_2_weeks
        denominator: waiting
"""

INSTRUMENT = r"""
instrument_id: ward_likert
version: "1"
name: Ward partnership survey
scale:
  min: 1
  max: 5
  labels: {Strongly disagree: 1, Disagree: 2, Neutral: 3, Agree: 4, Strongly agree: 5}
scales:
  three_point: {min: 1, max: 3, labels: {No: 1, Partly: 2, Yes: 3}}
fields:
  respondent_id: {header: ID}
  submitted_at: {header: Completed}
  organisation: {from_filename: '_(?P<value>[A-Z0-9]{3,6})\.csv$'}
  collaboration: {from_filename: '^(?P<value>[a-z_]+)_wave\d+'}
  wave: {from_filename: '_wave(?P<value>\d+)_'}
characteristics:
  trust: {name: Trust between partners}
items:
  - {id: T1, characteristic: trust, header: I trust partners}
  - {id: T2, characteristic: trust, header: Partners keep promises, scale: three_point}
  - {id: T3, characteristic: trust, header: Partners hide problems, scale: three_point, reverse: true}
"""

COLLABORATION = """
  - id: ward
    name: Ward partnership
    icb: QMF
    instrument: ward_likert
    purpose: See community patients sooner.
    targets:
      - {metric: community_seen_2_weeks, direction: increase, value: 0.75}
    members:
      - {org: R1H, joined: 2023-04-01}
      - {org: RF4, joined: 2023-04-01}
    waves:
      - {wave: 1, fieldwork_start: 2024-08-05, fieldwork_end: 2024-08-30}
"""

WAITS = """Month,Provider,Service,Seen within 2 weeks,Waiting
Jul 2024,R1H,Physio,30,40
Jul 2024,R1H,Podiatry,10,20
Jul 2024,R1H,All services,40,60
Jul 2024,RF4,Physio,20,40
Jul 2024,RF4,Wheelchairs,1,9
Jul 2024,RF4,All services,21,49
Sep 2024,R1H,Physio,45,50
Sep 2024,RF4,Physio,35,50
"""

SURVEY_HEADER = "ID,Completed,I trust partners,Partners keep promises,Partners hide problems\n"
SURVEYS = {
    "ward_wave1_R1H.csv": [
        "a,06/08/2024 09:00,Agree,Yes,No",
        "b,06/08/2024 10:00,Disagree,Partly,Partly",
        "c,07/08/2024 11:00,Neutral,Yes,Partly",
    ],
    "ward_wave1_RF4.csv": [
        "d,08/08/2024 09:00,Strongly agree,Yes,No",
        "e,08/08/2024 10:00,Agree,Partly,Yes",
        "f,09/08/2024 11:00,Disagree,No,Yes",
    ],
}


def test_a_publication_a_metric_and_an_instrument_from_yaml_alone(tiny_project, monkeypatch):
    config = tiny_project / "config"
    (config / "layouts" / "community_waits.yaml").write_text(LAYOUT, encoding="utf-8")
    with open(config / "metrics.yaml", "a", encoding="utf-8") as catalogue:
        catalogue.write(METRIC)
    (config / "instruments" / "ward_likert.yaml").write_text(INSTRUMENT, encoding="utf-8")
    with open(config / "collaborations.yaml", "a", encoding="utf-8") as collaborations:
        collaborations.write(COLLABORATION)
    waits = tiny_project / "sources" / "community_waits"
    waits.mkdir()
    (waits / "community_waits_2024.csv").write_text(WAITS, encoding="utf-8")
    monkeypatch.setenv("COLLAB_HEALTH_COMMUNITY_WAITS_SOURCE", str(waits))
    for name, rows in SURVEYS.items():
        (tiny_project / "sources" / "diagnostic" / name).write_text(SURVEY_HEADER + "\n".join(rows) + "\n")

    result = run_nightly()
    assert result.success
    checks = {(c.asset_key.to_user_string(), c.check_name): c for c in result.get_asset_check_evaluations()}
    # The new source has its own checks, and they pass: nothing lost, totals add up.
    for name in ("rows_reconcile", "files_accepted", "totals_reconcile"):
        assert checks[("clean/community_waits", name)].passed, name

    with connect(tiny_project) as db:
        series = db.execute(
            "select entity_type, entity_id, period_month, numerator, denominator, value, n_organisations "
            "from marts.system_metrics where metric_id = 'community_seen_2_weeks' and entity_type <> 'icb' "
            "order by 1, 2, 3"
        ).fetchall()
        assert series == [
            ("collaboration", "tiny", dt.date(2024, 7, 1), 60.0, 100.0, 0.6, 2),
            ("collaboration", "tiny", dt.date(2024, 9, 1), 80.0, 100.0, 0.8, 2),
            ("collaboration", "tiny_wilder", dt.date(2024, 7, 1), 40.0, 60.0, 40 / 60, 1),  # R1H and RQX
            ("collaboration", "tiny_wilder", dt.date(2024, 9, 1), 45.0, 50.0, 0.9, 1),
            ("collaboration", "ward", dt.date(2024, 7, 1), 60.0, 100.0, 0.6, 2),
            ("collaboration", "ward", dt.date(2024, 9, 1), 80.0, 100.0, 0.8, 2),
            ("organisation", "R1H", dt.date(2024, 7, 1), 40.0, 60.0, 40 / 60, 1),
            ("organisation", "R1H", dt.date(2024, 9, 1), 45.0, 50.0, 0.9, 1),
            ("organisation", "RF4", dt.date(2024, 7, 1), 20.0, 40.0, 0.5, 1),
            ("organisation", "RF4", dt.date(2024, 9, 1), 35.0, 50.0, 0.7, 1),
        ]
        outcome = db.execute(
            "select health_score, baseline_value, followup_value, change, is_improvement, target_met "
            "from marts.outcome_linked_collaboration where collaboration_id = 'ward'"
        ).fetchall()
        assert outcome == [(3.33, 0.6, 0.8, 0.2, True, True)]
        health = db.execute(
            "select instrument_id, characteristic, score, n_respondents, n_organisations, band, is_suppressed "
            "from marts.collaboration_health where collaboration_id = 'ward'"
        ).fetchall()
        assert health == [("ward_likert", "trust", 3.33, 6, 2, "borderline", False)]
        metric = db.execute(
            "select unit, polarity from marts.dim_metrics where metric_id = 'community_seen_2_weeks'"
        ).fetchall()
        assert metric == [("proportion", "higher_is_better")]
        # Every input row is clean or quarantined: 8 rows read = 6 stored + 2 total rows.
        loads = db.execute(
            "select rows_read, rows_clean, rows_quarantined from audit.file_loads where source = 'community_waits'"
        ).fetchall()
        assert loads == [(8, 6, 2)]
