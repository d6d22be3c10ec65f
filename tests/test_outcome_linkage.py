"""Outcome-linked metrics end to end: eight small collaborations whose before/after values
and rank correlation are worked by hand, run through the whole nightly job.

Every collaboration k has two member trusts (A, B), one wave with fieldwork 5-30 August
2024, and five respondents per trust who answer both shared-purpose items with the same
label: trust A gives a_k, trust B gives b_k, so the collaboration's shared-purpose score is
(a_k + b_k) / 2 (each organisation weighs the same):

    k      1    2    3    4    5    6    7    8
    a, b   1,2  2,2  2,3  3,3  3,4  4,4  4,5  5,4
    score  1.5  2.0  2.5  3.0  3.5  4.0  4.5  4.5

A&E (type 1 only; 100 attendances per trust per month): in May-July (the baseline months
before fieldwork) each trust has 30 over 4 hours, so every baseline is 0.70. In
September-November (the follow-up) each trust has 30 - x_k over 4 hours, so the follow-up
is 0.70 + x_k / 100 (three months each: a firm, not provisional, comparison):

    x_k    5    2    8    4    10   6    12   3

Collaboration 2's trust B left on 15 August, in the middle of the span: the comparison is
like for like, so B is left out of both windows (its deliberately awful 90 over 4 hours
after leaving must never count): baseline 0.70 and follow-up 0.72 from trust A alone.

Spearman's rho, shared purpose x four-hour change, over the eight collaborations:
  score ranks  1, 2, 3, 4, 5, 6, 7.5, 7.5   (the two 4.5s share ranks 7 and 8)
  change ranks 4, 1, 6, 3, 7, 5, 8,   2
  deviations from 4.5: dx = -3.5 -2.5 -1.5 -0.5 0.5 1.5 3 3; dy = -0.5 -3.5 1.5 -1.5 2.5 0.5 3.5 -2.5
  Σ dx·dy = 14, Σ dx² = 41.5, Σ dy² = 42 -> rho = 14 / sqrt(41.5 × 42) = 0.3353.

Lower is better: collaboration 3 also targets 12-hour waits from decision to admit
(decrease, target 30). Each baseline month 20 + 20 = 40; each follow-up month 10 + 15 = 25: change -15, directed +15,
an improvement, target met (25 <= 30). One collaboration only: not reportable as an association.

Suppressed wave: collaboration 1 has a second wave (November) with four respondents: its
health score is withheld and it is left out of the association. Suppressed group:
collaboration 9 (no A&E data, so no pair in the association) has a trust with 3 respondents.
"""

from __future__ import annotations

import csv
import json
import math
import os
import re
import shutil
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from conftest import AE_HEADER, CODEBOOK_DIR, LAYOUTS_DIR, PROJECT_ROOT, SAMPLE_ODS
from test_nightly_job import connect, run_nightly

pytestmark = pytest.mark.e2e

TRUSTS = [
    "RTX",
    "RXL",
    "RXN",
    "RXR",
    "RCU",
    "RFF",
    "RP5",
    "RR7",
    "RTD",
    "RXP",
    "RA9",
    "RH8",
    "RK9",
    "RJ1",
    "RJ2",
    "RJZ",
    "RCB",
    "RCD",
]
LEVELS = [(1, 2), (2, 2), (2, 3), (3, 3), (3, 4), (4, 4), (4, 5), (5, 4)]
X = [5, 2, 8, 4, 10, 6, 12, 3]
LABELS = {1: "Strongly disagree", 2: "Disagree", 3: "Neither agree nor disagree", 4: "Agree", 5: "Strongly agree"}


def members(k: int) -> tuple[str, str]:
    return TRUSTS[2 * k], TRUSTS[2 * k + 1]


def collaborations_yaml() -> str:
    lines = ["collaborations:"]
    for k in range(9):
        a, b = members(k)
        left = ", left: 2024-08-15" if k == 1 else ""
        lines += [
            f"  - id: c{k + 1}",
            f"    name: Collaboration {k + 1}",
            "    icb: QMF",
            "    instrument: collab_health_core",
            "    purpose: Test the outcome linkage by hand.",
            "    targets:",
            "      - {metric: ae_4h_all, direction: increase}",
        ]
        if k == 2:
            lines.append("      - {metric: dta_12h_waits, direction: decrease, value: 30}")
        lines += [
            "    members:",
            f"      - {{org: {a}, joined: 2023-04-01}}",
            f"      - {{org: {b}, joined: 2023-04-01{left}}}",
            "    waves:",
            "      - {wave: 1, fieldwork_start: 2024-08-05, fieldwork_end: 2024-08-30}",
        ]
        if k == 0:
            lines.append("      - {wave: 2, fieldwork_start: 2024-11-04, fieldwork_end: 2024-11-29}")
    return "\n".join(lines) + "\n"


def write_export(path: Path) -> None:
    from ingest.codebook import load_codebook

    codebook = load_codebook(CODEBOOK_DIR / "collab_health_core.yaml")
    headers = ["Respondent ID", "Submitted", "Organisation", "Role group", "Collaboration", "Wave"]
    headers += [f"{item.id}. {item.text}" for item in codebook.items]
    at = {item.id: 6 + i for i, item in enumerate(codebook.items)}
    rows = []
    for k, (level_a, level_b) in enumerate(LEVELS):
        for org, level in zip(members(k), (level_a, level_b), strict=True):
            for n in range(5):
                row = [f"c{k + 1}-{org}-{n}", "06/08/2024 10:00", org, "Manager", f"c{k + 1}", "1"] + [""] * len(
                    codebook.items
                )
                row[at["SP1"]] = row[at["SP2"]] = LABELS[level]
                rows.append(row)
    # Collaboration 9: RCB has 5 respondents (answering 4), RCD only 3 (answering 2): the
    # collaboration's score (4 + 2) / 2 = 3.0 is shown, but neither trust's own score is
    # (RCD is under 5, and RCB is withheld with it so RCD's cannot be worked out).
    for org, level, count in (("RCB", 4, 5), ("RCD", 2, 3)):
        for n in range(count):
            row = [f"c9-{org}-{n}", "06/08/2024 10:00", org, "Manager", "c9", "1"] + [""] * len(codebook.items)
            row[at["SP1"]] = row[at["SP2"]] = LABELS[level]
            rows.append(row)
    for org in members(0):  # wave 2 of collaboration 1: four respondents, suppressed
        for n in range(2):
            row = [f"c1w2-{org}-{n}", "05/11/2024 10:00", org, "Manager", "c1", "2"] + [""] * len(codebook.items)
            row[at["SP1"]] = row[at["SP2"]] = LABELS[4]
            rows.append(row)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(headers)
        writer.writerows(rows)


def ae_line(month: str, org: str, over_4h: int, dta_12h: int = 0) -> str:
    counts = [100, 0, 0, 0, 0, 0, over_4h, 0, 0, 0, 0, 0, 0, dta_12h, 0, 0, 0, 0]
    return f"MSitAE-{month}-2024,{org},NHS ENGLAND,TEST TRUST," + ",".join(map(str, counts))


def write_ae(folder: Path) -> None:
    """May-July: the baseline months; September-November: the follow-up months (the same
    figures each month, so each window's value is one month's)."""
    folder.mkdir(parents=True, exist_ok=True)
    for month in ("MAY", "JUNE", "JULY"):
        rows = [AE_HEADER]
        for k in range(8):
            a, b = members(k)
            dta = (20, 20) if k == 2 else (0, 0)
            rows += [ae_line(month, a, 30, dta[0]), ae_line(month, b, 30, dta[1])]
        (folder / f"Monthly-AE-{month.title()}-2024.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    for month in ("SEPTEMBER", "OCTOBER", "NOVEMBER"):
        rows = [AE_HEADER]
        for k in range(8):
            a, b = members(k)
            dta = (10, 15) if k == 2 else (0, 0)
            over = 90 if k == 1 else 30 - X[k]  # collaboration 2's trust B has left by now
            rows += [ae_line(month, a, 30 - X[k], dta[0]), ae_line(month, b, over, dta[1])]
        (folder / f"Monthly-AE-{month.title()}-2024.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")


@pytest.fixture(scope="module")
def linkage_run(tmp_path_factory: pytest.TempPathFactory):
    """The eight collaborations laid out in a temporary folder, and one nightly run on them
    (shared by the tests of this module)."""
    root = tmp_path_factory.mktemp("linkage")
    config = root / "config"
    shutil.copytree(CODEBOOK_DIR, config / "instruments")
    shutil.copytree(LAYOUTS_DIR, config / "layouts")
    shutil.copy(PROJECT_ROOT / "config" / "metrics.yaml", config / "metrics.yaml")
    (config / "collaborations.yaml").write_text(collaborations_yaml(), encoding="utf-8")
    write_export(root / "sources" / "diagnostic" / "linkage.csv")
    write_ae(root / "sources" / "monthly_ae")
    environment = {
        "COLLAB_HEALTH_DATA_DIR": str(root / "var"),
        "COLLAB_HEALTH_CONFIG_DIR": str(config),
        "COLLAB_HEALTH_DIAGNOSTIC_SOURCE": str(root / "sources" / "diagnostic"),
        "COLLAB_HEALTH_MONTHLY_AE_SOURCE": str(root / "sources" / "monthly_ae"),
        "COLLAB_HEALTH_ORGANISATIONS_SOURCE": str(SAMPLE_ODS),
        "COLLAB_HEALTH_WAREHOUSE": str(root / "var" / "warehouse" / "build" / "collab_health.duckdb"),
        "COLLAB_HEALTH_PSEUDONYM_KEY": "outcome-linkage-test-key",
    }
    with pytest.MonkeyPatch.context() as patch:
        for name, value in environment.items():
            patch.setenv(name, value)
        patch.delenv("COLLAB_HEALTH_MODE", raising=False)
        result = run_nightly()
        yield root, result


def test_outcome_linkage_and_association_match_the_hand_worked_values(linkage_run):
    project, result = linkage_run
    assert result.success
    with connect(project) as db:
        scores = dict(
            db.execute(
                "select collaboration_id, score from marts.collaboration_health "
                "where characteristic = 'shared_purpose' and wave = 1"
            ).fetchall()
        )
        assert scores == {f"c{k + 1}": (a + b) / 2 for k, (a, b) in enumerate(LEVELS)} | {"c9": 3.0}

        four_hour = {
            row[0]: row[1:]
            for row in db.execute(
                "select collaboration_id, baseline_value, baseline_months, followup_value, followup_months, "
                "change, directed_change, is_improvement from marts.outcome_linked_collaboration "
                "where metric_id = 'ae_4h_all' and wave = 1"
            ).fetchall()
        }
        for k in range(8):
            follow = 0.72 if k == 1 else round(0.70 + X[k] / 100, 4)
            change = round(follow - 0.70, 4)
            assert four_hour[f"c{k + 1}"] == (0.70, 3, follow, 3, change, change, True), f"c{k + 1}"
        steady = db.execute(
            "select organisations_compared, membership_changed, is_provisional from marts.outcome_linked_collaboration "
            "where collaboration_id = 'c2' and metric_id = 'ae_4h_all'"
        ).fetchall()
        assert steady == [(1, True, False)]

        waits = db.execute(
            "select baseline_value, followup_value, change, directed_change, is_improvement, target_value, target_met "
            "from marts.outcome_linked_collaboration where collaboration_id = 'c3' and metric_id = 'dta_12h_waits'"
        ).fetchall()
        assert waits == [(40.0, 25.0, -15.0, 15.0, True, 30.0, True)]

        suppressed = db.execute(
            "select health_score from marts.outcome_linked_collaboration where collaboration_id = 'c1' and wave = 2"
        ).fetchall()
        assert suppressed == [(None,)]
        assert db.execute(
            "select is_suppressed, health_score from marts.outcome_linked_collaboration_by_characteristic "
            "where collaboration_id = 'c1' and wave = 2 and characteristic = 'shared_purpose'"
        ).fetchall() == [(True, None)]

        association = {
            row[0]: row[1:]
            for row in db.execute(
                "select metric_id, n_pairs, n_collaborations, rank_correlation, ci_low, ci_high, is_reportable "
                "from marts.health_outcome_association where characteristic = 'shared_purpose'"
            ).fetchall()
        }
        n_pairs, n_collaborations, rho, ci_low, ci_high, reportable = association["ae_4h_all"]
        assert (n_pairs, n_collaborations, reportable) == (8, 8, True)
        assert rho == round(14 / math.sqrt(41.5 * 42), 4) == 0.3353
        assert -1 <= ci_low <= rho <= ci_high <= 1
        assert association["dta_12h_waits"][1:] == (1, None, None, None, False)


def report_text(path: Path) -> str:
    return path.read_text(encoding="utf-8")


def test_reports_show_every_collaboration_and_the_marts_numbers_and_never_a_small_group(linkage_run):
    project, result = linkage_run
    assert result.success
    folder = project / "var" / "reports"
    index = report_text(folder / "index.html")
    for k in range(9):
        assert f'href="c{k + 1}.html"' in index and (folder / f"c{k + 1}.html").exists()

    # Collaboration 2 (one wave): shared purpose 2.00, in the concern band, as in the mart.
    c2 = report_text(folder / "c2.html")
    assert "Test the outcome linkage by hand." in c2
    assert ">2.00<" in c2 and "band-concern" in c2
    # Both of its trusts had 5 respondents: named with their scores beside the perception gap.
    assert "0.00" in c2  # a = b = 2: no gap
    # Progress against the four-hour target, as in the mart: 70.0% before, 72.0% after.
    assert "70.0%" in c2 and "72.0%" in c2
    # The association is reportable (8 collaborations) and called an association.
    assert "This is an association, not an effect." in c2 and "+0.34" in c2

    # Collaboration 1's latest wave has four respondents: the page says so and shows wave 1.
    c1 = report_text(folder / "c1.html")
    assert "Wave 2 had too few respondents to report" in c1 and "(wave 1)</h2>" in c1

    # Collaboration 9: its score is shown, but neither trust is named with a score (RCD has
    # 3 respondents; RCB is withheld with it).
    c9 = report_text(folder / "c9.html")
    assert ">3.00<" in c9
    perception = c9[c9.index('id="perception"') : c9.index('id="measures"')]
    assert "No perception gap can be shown" in perception
    for name in ("YORK AND SCARBOROUGH", "HARROGATE", "RCB", "RCD", "4.00", "2.00"):
        assert name not in perception

    # Self-contained: no external reference of any kind (SVG namespaces and in-page
    # fragment references such as url(#clip) are not requests).
    for page in folder.glob("*.html"):
        text = re.sub(r"http://www\.w3\.org/(2000/svg|1999/xlink)", "", report_text(page))
        for pattern in (r"https?://", r"<script[^>]*\ssrc=", r"<link\s", r"@import", r"url\((?!#)", r"<img\s"):
            assert not re.search(pattern, text), (page.name, pattern)


def chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")


def test_reports_open_offline_in_headless_chromium(linkage_run, tmp_path):
    """Each page opened from disk in a real browser: no network request, no console error;
    a screenshot at 1280 px wide is kept in test-artifacts/."""
    if chromium() is None or shutil.which("chromedriver") is None:
        if os.environ.get("COLLAB_HEALTH_REQUIRE_BROWSER"):
            pytest.fail("chromium and chromedriver are required (COLLAB_HEALTH_REQUIRE_BROWSER is set)")
        pytest.skip("chromium and chromedriver are not installed (CI installs them: see .ci/run)")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    project, _ = linkage_run
    options = webdriver.ChromeOptions()
    options.binary_location = chromium()
    for argument in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--window-size=1280,1800",
        f"--user-data-dir={tmp_path / 'profile'}",
    ):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"performance": "ALL", "browser": "ALL"})
    driver = webdriver.Chrome(options=options, service=Service(shutil.which("chromedriver")))
    artefacts = PROJECT_ROOT / "test-artifacts"
    artefacts.mkdir(exist_ok=True)
    try:
        pages = sorted((project / "var" / "reports").glob("*.html"))
        assert len(pages) == 10
        for page in pages:
            driver.get_log("performance")  # drain what the browser did before this page
            driver.get_log("browser")
            driver.get(page.as_uri())
            assert driver.execute_script("return document.readyState") == "complete"
            assert driver.find_element("tag name", "h1").text
            requests = [
                json.loads(entry["message"])["message"]["params"]["request"]["url"]
                for entry in driver.get_log("performance")
                if json.loads(entry["message"])["message"]["method"] == "Network.requestWillBeSent"
            ]
            # The page itself is the only request: nothing over the network, no other file.
            internal = ("chrome", "chrome-extension", "chrome-untrusted", "devtools", "about", "data")  # not network
            assert [url for url in requests if urlsplit(url).scheme not in internal] == [page.as_uri()], page.name
            errors = [entry for entry in driver.get_log("browser") if entry["level"] == "SEVERE"]
            assert errors == [], (page.name, errors)
            if page.name == "c2.html":
                assert driver.find_elements("css selector", "figure svg[role=img] title")
                driver.save_screenshot(str(artefacts / "report_c2_1280.png"))
        # The analysts' dbt docs, one static file made by the same run, open with the marts listed.
        from selenium.webdriver.support.ui import WebDriverWait

        driver.get((project / "var" / "docs" / "collab_health_dbt_docs.html").as_uri())
        WebDriverWait(driver, 60).until(
            lambda d: "dim_collaboration_members" in d.find_element("tag name", "body").text
        )
        listed = driver.find_element("tag name", "body").text
        for mart in ("system_metrics", "outcome_linked_collaboration", "collaboration_health", "dim_metrics"):
            assert mart in listed
    finally:
        driver.quit()
    assert (artefacts / "report_c2_1280.png").stat().st_size > 10_000
