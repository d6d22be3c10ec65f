"""The system leads' reports on the bundled sample (12 collaborations), in headless Chromium.

One `collab-health run` on the sample into a temporary data folder; then, in a real browser:
the headline of two demo collaborations against the marts (Lancashire and South Cumbria, a
full latest wave; South East London, whose latest wave is withheld), the index's worst-first
order, sorting and flags, the Making Data Count icons and target lines, readable chart text,
A4 page counts printed to PDF (a page with 3 targets and 9 characteristics on at most 4
sides, no heading at a page foot; the index on 1-2 sides), and every page offline with no
console error. Screenshots at 1280 px are kept in test-artifacts/ (docs/ holds copies).
"""

from __future__ import annotations

import base64
import io
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

import duckdb
import pytest
from conftest import PROJECT_ROOT

from reports import bands
from reports.charts import FIGURE_WIDTH_PX, MIN_FONT_PT

pytestmark = pytest.mark.e2e

DEMOS = ("lsc_uec", "sel_uec")
PAGE_SIDES, INDEX_SIDES = 4, 2


def chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")


@pytest.fixture(scope="module")
def sample_reports(tmp_path_factory):
    """The nightly run on the bundled sample, as `make run` does it, into a temporary data folder."""
    if chromium() is None or shutil.which("chromedriver") is None:
        if os.environ.get("COLLAB_HEALTH_REQUIRE_BROWSER"):
            pytest.fail("chromium and chromedriver are required (COLLAB_HEALTH_REQUIRE_BROWSER is set)")
        pytest.skip("chromium and chromedriver are not installed (CI installs them: see .ci/run)")
    root = tmp_path_factory.mktemp("sample_reports")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("COLLAB_HEALTH_", "DAGSTER_HOME"))}
    env["COLLAB_HEALTH_DATA_DIR"] = str(root / "var")
    done = subprocess.run(
        [sys.executable, "-m", "orchestration.cli", "run", "--force"],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return root / "var"


@pytest.fixture(scope="module")
def marts(sample_reports):
    with duckdb.connect(str(sample_reports / "warehouse" / "collab_health.duckdb"), read_only=True) as db:
        yield db


@pytest.fixture(scope="module")
def browser(sample_reports, tmp_path_factory):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = chromium()
    for argument in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--window-size=1280,1800",
        f"--user-data-dir={tmp_path_factory.mktemp('profile')}",
    ):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"performance": "ALL", "browser": "ALL"})
    driver = webdriver.Chrome(options=options, service=Service(shutil.which("chromedriver")))
    yield driver
    driver.quit()


def page(var: Path, name: str) -> Path:
    return var / "reports" / f"{name}.html"


def rows(db, sql: str, parameters: list | None = None) -> list[tuple]:
    return db.execute(sql, parameters or []).fetchall()


def expected_headline(db, cid: str) -> dict:
    """The headline's figures worked straight from the marts, by the rules in reports/headline.py."""
    latest = rows(db, "select max(wave) from marts.dim_waves where collaboration_id = ? and n_respondents > 0", [cid])[
        0
    ][0]
    scored = rows(
        db, "select max(wave) from marts.collaboration_health where collaboration_id = ? and not is_suppressed", [cid]
    )[0][0]
    score = rows(
        db,
        "select max(health_score) from marts.outcome_linked_collaboration where collaboration_id = ? and wave = ?",
        [cid, scored],
    )[0][0]
    scale = rows(
        db, "select distinct scale_min, scale_max from marts.collaboration_health where collaboration_id = ?", [cid]
    )
    assert scale == [(1, 5)]  # so the Wilder thresholds apply as they stand
    characteristic = "select characteristic_name from marts.collaboration_health where collaboration_id = ? and wave = ? and not is_suppressed"
    weakest = [r[0] for r in rows(db, characteristic + " order by score, characteristic_name limit 2", [cid, scored])]
    strongest = [
        r[0] for r in rows(db, characteristic + " order by score desc, characteristic_name limit 1", [cid, scored])
    ]
    concern = rows(
        db,
        "select count(*) from marts.collaboration_health where collaboration_id = ? and wave = ? and band = 'concern'",
        [cid, scored],
    )[0][0]
    met, not_met, moved, provisional, membership = rows(
        db,
        "select count(*) filter (where target_met), count(*) filter (where not target_met), "
        "count(*) filter (where is_improvement), count(*) filter (where is_provisional), "
        "count(*) filter (where membership_changed) "
        "from marts.outcome_linked_collaboration where collaboration_id = ? and wave = ?",
        [cid, latest],
    )[0]
    signals = dict(
        rows(
            db,
            "select coalesce(spc_signal_since_wave, 'none'), count(*) from marts.outcome_linked_collaboration "
            "where collaboration_id = ? and wave = ? group by 1",
            [cid, latest],
        )
    )
    suppressed = (
        latest != scored
        or rows(
            db,
            "select count(*) from marts.collaboration_health where collaboration_id = ? and wave = ? and is_suppressed",
            [cid, scored],
        )[0][0]
    )
    kinds = {"suppressed"} if suppressed else set()
    kinds |= {"provisional"} if provisional else set()
    kinds |= {"membership"} if membership else set()
    return {
        "latest": latest,
        "scored": scored,
        "score": f"{score:.2f}",
        "band": "strength" if score >= 4 else "borderline" if score >= 3 else "concern",
        "weakest": "|".join(weakest),
        "strongest": "|".join(s for s in strongest if s not in weakest),
        "concern": str(concern),
        "met": str(met),
        "not-met": str(not_met),
        "moved": str(moved),
        "signals": {k.replace("_", "-"): str(v) for k, v in signals.items()},
        "kinds": "|".join(sorted(kinds)),
    }


def statements(driver) -> dict:
    found = {}
    for item in driver.find_elements("css selector", "#headline li[data-statement]"):
        found[item.get_attribute("data-statement")] = item
    return found


def test_headline_matches_the_marts_for_two_demo_collaborations(sample_reports, marts, browser):
    said_for = {}
    for cid in DEMOS:
        expected = expected_headline(marts, cid)
        browser.get(page(sample_reports, cid).as_uri())
        said = statements(browser)
        assert list(said) == ["overall", "characteristics", "targets", "spc", "warnings"], cid
        overall = said["overall"]
        assert (
            overall.get_attribute("data-wave"),
            overall.get_attribute("data-score"),
            overall.get_attribute("data-band"),
        ) == (
            str(expected["scored"]),
            expected["score"],
            expected["band"],
        ), cid
        assert f"Overall health at wave {expected['scored']}: {expected['band']} ({expected['score']}" in overall.text
        if expected["latest"] != expected["scored"]:
            assert overall.text.startswith(f"Health. Wave {expected['latest']} is withheld"), cid
        traits = said["characteristics"]
        for key in ("concern", "weakest", "strongest"):
            assert traits.get_attribute(f"data-{key}") == expected[key], (cid, key)
        for name in expected["weakest"].split("|") + expected["strongest"].split("|"):
            assert name in traits.text
        for key in ("met", "not-met", "moved"):
            assert said["targets"].get_attribute(f"data-{key}") == expected[key], (cid, key)
        for signal, count in expected["signals"].items():
            assert said["spc"].get_attribute(f"data-{signal}") == count, (cid, signal)
        assert said["warnings"].get_attribute("data-kinds") == expected["kinds"], cid
        # Each statement links to a section of the page that exists.
        for item in said.values():
            target = item.find_element("css selector", "a.more").get_attribute("href").split("#")[1]
            assert browser.find_elements("id", target), (cid, target)
        said_for[cid] = [item.text for item in said.values()]
    # Lancashire and South Cumbria: a full latest wave; South East London: wave 3 withheld.
    assert expected_headline(marts, "lsc_uec")["kinds"] == ""
    assert expected_headline(marts, "sel_uec")["kinds"] == "suppressed"
    artefacts = PROJECT_ROOT / "test-artifacts"
    artefacts.mkdir(exist_ok=True)
    (artefacts / "headlines.json").write_text(json.dumps(said_for, indent=2), encoding="utf-8")


def test_index_triages_worst_first_sorts_and_flags(sample_reports, marts, browser):
    browser.get(page(sample_reports, "index").as_uri())
    table = browser.find_element("id", "triage")

    def order(attribute: str = "data-collaboration") -> list[str]:
        return [row.get_attribute(attribute) for row in table.find_elements("css selector", "tbody tr")]

    collaborations = order()
    assert len(collaborations) == 12
    keys = [
        (
            {"withheld": -1, **bands.ORDER}[row.get_attribute("data-band")],
            -int(row.get_attribute("data-concern")),
            -int(row.get_attribute("data-not-met")),
            -int(row.get_attribute("data-spc-concern")),
            -int(row.get_attribute("data-warnings")),
        )
        for row in table.find_elements("css selector", "tbody tr")
    ]
    assert keys == sorted(keys)  # worst first by default
    # Flags agree with the marts and with each page's headline.
    latest_spc = dict(
        rows(
            marts,
            "select o.collaboration_id, count(*) filter (where o.spc_signal_since_wave in ('concern', 'mixed')) "
            "from marts.outcome_linked_collaboration as o join (select collaboration_id, max(wave) as wave "
            "from marts.dim_waves where n_respondents > 0 group by 1) as w using (collaboration_id, wave) group by 1",
        )
    )
    for row in table.find_elements("css selector", "tbody tr"):
        cid = row.get_attribute("data-collaboration")
        assert int(row.get_attribute("data-spc-concern")) == latest_spc[cid], cid
        if latest_spc[cid]:
            assert row.find_elements("css selector", ".flag-concern"), cid
        if int(row.get_attribute("data-warnings")):
            assert row.find_elements("css selector", ".flag-warning"), cid
    sel = table.find_element("css selector", 'tr[data-collaboration="sel_uec"]')
    assert sel.get_attribute("data-warnings") == "1" and "suppressed" in sel.text
    # Sorting with the inline script: by characteristics in concern, then back by rank.
    concern = table.find_element("css selector", 'button[data-column="5"]')
    concern.click()
    ascending = [int(v) for v in order("data-concern")]
    assert ascending == sorted(ascending) and ascending != [int(v) for v in reversed(ascending)]
    concern.click()
    assert [int(v) for v in order("data-concern")] == sorted(ascending, reverse=True)
    assert concern.find_element("xpath", "..").get_attribute("aria-sort") == "descending"
    table.find_element("css selector", 'button[data-column="0"]').click()
    assert order() == collaborations


def test_charts_carry_icons_target_lines_and_readable_labels(sample_reports, marts, browser):
    browser.get(page(sample_reports, "lsc_uec").as_uri())
    figures = browser.find_elements("css selector", "figure.chart")
    assert [f.get_attribute("data-metric") for f in figures] == [
        "ae_4h_all",
        "ae_4h_type1",
        "emergency_admissions_via_ae",
    ]
    for figure in figures:
        metric = figure.get_attribute("data-metric")
        polarity, standard = rows(
            marts, "select polarity, standard_value from marts.dim_metrics where metric_id = ?", [metric]
        )[0]
        signal, lower, upper = rows(
            marts,
            "select spc_signal, spc_lower, spc_upper from marts.system_metrics where entity_id = 'lsc_uec' "
            "and metric_id = ? and value is not null and period_month <= date '2019-03-01' "
            "order by period_month desc limit 1",
            [metric],
        )[0]
        icon = figure.find_element("css selector", "svg.mdc-icon[data-icon^='variation-']")
        assert icon.get_attribute("data-icon") == "variation-" + signal.replace("_", "-"), metric
        assert icon.get_attribute("aria-label").startswith("Variation:")
        declared = rows(
            marts,
            "select max(target_value) from marts.outcome_linked_collaboration where collaboration_id = 'lsc_uec' and metric_id = ?",
            [metric],
        )[0][0]
        target = declared if declared is not None else standard
        assurance = figure.find_elements("css selector", "svg.mdc-icon[data-icon^='assurance-']")
        if target is None:
            assert not assurance and figure.get_attribute("data-target") == ""
            continue
        # Assurance worked here from the latest limits: a target outside them is consistently passed or failed.
        high, low = (upper, lower) if polarity == "higher_is_better" else (-lower, -upper)
        aim = target if polarity == "higher_is_better" else -target
        expected = "consistently-pass" if low > aim else "consistently-fail" if high < aim else "hit-and-miss"
        assert assurance[0].get_attribute("data-icon") == f"assurance-{expected}", metric
        assert float(figure.get_attribute("data-target")) == target
        line = figure.find_element("id", f"measure-{metric}-target-line").rect
        area = figure.find_element("id", f"measure-{metric}-plot-area").rect
        assert area["y"] <= line["y"] <= line["y"] + line["height"] <= area["y"] + area["height"], (
            metric
        )  # inside the axis
        assert "drawn as a line" in figure.find_element("css selector", "svg[role=img] desc").get_attribute(
            "textContent"
        )
    assert figures[0].get_attribute("data-assurance") == "consistently_fail"
    assert "special cause" in figures[1].find_element("css selector", ".reading").text
    # Readable at 100% zoom: the chart is drawn at its natural width or wider, so its smallest text is 11 px or more.
    chart = figures[0].find_element("css selector", "svg[role=img]:not(.mdc-icon)")
    scale = chart.rect["width"] / FIGURE_WIDTH_PX
    assert MIN_FONT_PT * 96 / 72 * scale >= 11
    # Where before/after and SPC disagree, the page says why both can be true.
    why = figures[1].find_elements("css selector", ".why")
    assert why and "Why both can be true" in why[0].text


def pdf(driver) -> bytes:
    printed = driver.execute_cdp_cmd("Page.printToPDF", {"preferCSSPageSize": True, "printBackground": True})
    return base64.b64decode(printed["data"])


def test_a4_page_counts_and_no_stranded_heading(sample_reports, marts, browser):
    from pypdf import PdfReader

    counts = {}
    for name in [p.stem for p in sorted((sample_reports / "reports").glob("*.html"))]:
        browser.get(page(sample_reports, name).as_uri())
        headings = {h.text.strip() for h in browser.find_elements("css selector", "h2, h3") if h.text.strip()}
        reader = PdfReader(io.BytesIO(pdf(browser)))
        counts[name] = len(reader.pages)
        for number, sheet in enumerate(reader.pages[:-1], start=1):
            lines = [line.strip() for line in sheet.extract_text().splitlines() if line.strip()]
            assert lines and lines[-1] not in headings, (name, number, lines[-1:])
        if name == "index":
            assert 1 <= counts[name] <= INDEX_SIDES, counts
            continue
        targets, characteristics = rows(
            marts,
            "select (select count(distinct metric_id) from marts.outcome_linked_collaboration where collaboration_id = ?), "
            "(select count(distinct characteristic) from marts.collaboration_health where collaboration_id = ?)",
            [name, name],
        )[0]
        if targets <= 3 and characteristics <= 9:
            assert counts[name] <= PAGE_SIDES, (name, counts[name])
    assert rows(marts, "select count(*) from marts.dim_collaborations")[0][0] == 12
    assert counts["lsc_uec"] <= PAGE_SIDES  # 3 targets, 9 characteristics
    artefacts = PROJECT_ROOT / "test-artifacts"
    artefacts.mkdir(exist_ok=True)
    (artefacts / "a4_page_counts.json").write_text(json.dumps(counts, indent=2), encoding="utf-8")


def test_every_page_offline_without_console_errors_and_screenshots(sample_reports, browser):
    pages = sorted((sample_reports / "reports").glob("*.html"))
    assert len(pages) == 13
    artefacts = PROJECT_ROOT / "test-artifacts"
    artefacts.mkdir(exist_ok=True)
    internal = ("chrome", "chrome-extension", "chrome-untrusted", "devtools", "about", "data")
    for path in pages:
        browser.get_log("performance")
        browser.get_log("browser")
        browser.get(path.as_uri())
        assert browser.execute_script("return document.readyState") == "complete"
        requests = [
            json.loads(entry["message"])["message"]["params"]["request"]["url"]
            for entry in browser.get_log("performance")
            if json.loads(entry["message"])["message"]["method"] == "Network.requestWillBeSent"
        ]
        assert [url for url in requests if urlsplit(url).scheme not in internal] == [path.as_uri()], path.name
        assert [e for e in browser.get_log("browser") if e["level"] == "SEVERE"] == [], path.name
        for chart in browser.find_elements("css selector", "figure svg[role=img]"):
            assert chart.get_attribute("aria-label"), path.name  # alt text on every chart and icon
        if path.stem in ("lsc_uec", "index"):
            height = browser.execute_script("return document.documentElement.scrollHeight")
            browser.set_window_size(1280, height + 120)
            shot = artefacts / f"report_{path.stem}_1280.png"
            browser.save_screenshot(str(shot))
            browser.set_window_size(1280, 1800)
            assert shot.stat().st_size > 20_000
    association = page(sample_reports, "lsc_uec").read_text(encoding="utf-8")
    assert "This is an association, not an effect." in association


def test_report_rules_agree_with_the_warehouse(marts):
    """The two rules the reports apply themselves (the overall band, and assurance against a
    collaboration's own target) give what the warehouse gives wherever both apply."""
    from reports.spc_reading import assurance

    banded = rows(
        marts,
        "select score, scale_min, scale_max, band from marts.collaboration_health where not is_suppressed",
    )
    assert banded and all(bands.band_of(score, low, high) == band for score, low, high, band in banded)
    assured = rows(
        marts,
        "select m.polarity, s.spc_lower, s.spc_upper, m.standard_value, s.spc_assurance from marts.system_metrics as s "
        "join marts.dim_metrics as m using (metric_id) where s.spc_assurance is not null",
    )
    assert assured and all(assurance(p, lo, hi, t) == a for p, lo, hi, t, a in assured)


def test_the_demo_has_networks_and_network_associations(marts):
    """Issue 20, done when: the three network marts have rows for the demo, and the
    association has the network measures beside the characteristics, under the same rules."""
    for mart in ("collaboration_network", "collaboration_network_by_organisation", "collaboration_network_edges"):
        assert rows(marts, f"select count(*) from marts.{mart}")[0][0] > 0, mart
    network = rows(
        marts,
        "select characteristic, count(*), count(*) filter (where is_reportable), "
        "count(*) filter (where is_reportable and n_collaborations < 8), "
        "count(*) filter (where rank_correlation is not null and not is_reportable), "
        "count(*) filter (where measure not like '%not an effect%') "
        "from marts.health_outcome_association where measure_kind = 'network' group by characteristic order by 1",
    )
    assert [row[0] for row in network] == [
        "network_degree_centralisation",
        "network_density",
        "network_mean_trust",
        "network_mean_value",
        "network_reciprocity",
    ]
    assert all(
        reportable > 0 and below_minimum == 0 and leaked == 0 and unlabelled == 0
        for _, _, reportable, below_minimum, leaked, unlabelled in network
    )


def test_network_diagrams_draw_only_published_ties(sample_reports, marts, browser):
    """Issue 20: a diagram per collaboration and wave with partner ratings, drawing exactly
    the published ties (dashed where not returned, dotted where the return is withheld), the
    organisations named in proper case, and a one-line reading; South East London's wave 3,
    every group under 5, draws no tie. The section is kept as a screenshot."""
    from reports.names import proper_case

    for cid in ("lsc_uec", "ncl_acute", "sel_uec"):
        browser.get(page(sample_reports, cid).as_uri())
        figures = browser.find_elements("css selector", "figure.network-wave")
        waves = [
            w
            for (w,) in rows(
                marts, "select wave from marts.collaboration_network where collaboration_id = ? order by wave", [cid]
            )
        ]
        assert [int(f.get_attribute("data-wave")) for f in figures] == waves, cid
        names = dict(
            rows(
                marts,
                "select m.organisation_code, d.org_name from marts.collaboration_network_by_organisation as m "
                "join marts.dim_organisations as d on m.organisation_code = d.org_code where m.collaboration_id = ?",
                [cid],
            )
        )
        for figure, wave in zip(figures, waves, strict=True):
            expected = {
                (f, t, {True: "solid", False: "dashed", None: "dotted"}[r])
                for f, t, r in rows(
                    marts,
                    "select from_organisation, to_organisation, is_reciprocated from marts.collaboration_network_edges "
                    "where collaboration_id = ? and wave = ? and is_tie and not is_suppressed",
                    [cid, wave],
                )
            }
            drawn = {
                (g.get_attribute("data-from"), g.get_attribute("data-to"), g.get_attribute("data-style"))
                for g in figure.find_elements("css selector", "g.tie")
            }
            assert drawn == expected, (cid, wave)
            suppressed = set(
                rows(
                    marts,
                    "select from_organisation, to_organisation from marts.collaboration_network_edges "
                    "where collaboration_id = ? and wave = ? and is_suppressed",
                    [cid, wave],
                )
            )
            assert not {(f, t) for f, t, _ in drawn} & suppressed
            labels = {
                g.get_attribute("data-organisation"): " ".join(s.text for s in g.find_elements("css selector", "tspan"))
                for g in figure.find_elements("css selector", "g.organisation")
            }
            assert labels == {code: proper_case(names[code]) for code in labels}, (cid, wave)
            assert figure.find_element("css selector", "svg.network").rect["width"] >= 400
            assert figure.find_element("css selector", ".reading").text.strip(), (cid, wave)
    # South East London's wave 3: every organisation under 5 respondents, so nothing drawn.
    sel = browser.find_element("id", "network-wave-3")
    assert sel.get_attribute("data-drawn") == "0"
    assert sel.find_element("css selector", ".reading").text.startswith("Every rating at this wave is withheld")
    # North Central London: RAP (North Middlesex) drifts to the edge by wave 2.
    browser.get(page(sample_reports, "ncl_acute").as_uri())
    assert "North Middlesex University Hospital NHS Trust" in browser.find_element("id", "network-wave-2").text
    section = browser.find_element("id", "network")
    browser.set_window_size(1280, 1500)
    browser.execute_script("window.scrollTo(0, arguments[0].getBoundingClientRect().top + window.scrollY - 8)", section)
    artefacts = PROJECT_ROOT / "test-artifacts"
    artefacts.mkdir(exist_ok=True)
    shot = artefacts / "report_network_1280.png"
    browser.save_screenshot(str(shot))
    browser.set_window_size(1280, 1800)
    assert shot.stat().st_size > 20_000


def test_yearly_experience_targets_read_in_years(sample_reports, marts):
    """Issue 22 on the page: nel_uec's burnout target (Staff Survey, yearly) shows its years,
    its chart reaches back to the 2023 baseline, and says why there is no verdict; SHMI (no
    counts) says why it has no collaboration chart rather than 'No data'."""
    baseline, followup = rows(
        marts,
        "select baseline_value, followup_value from marts.outcome_linked_collaboration "
        "where collaboration_id = 'nel_uec' and wave = 2 and metric_id = 'staff_burnout'",
    )[0]
    assert baseline is not None and followup is None  # the 2025 survey is not yet published
    text = page(sample_reports, "nel_uec").read_text(encoding="utf-8")
    row = text[text.index('<tr data-metric="staff_burnout">') :].split("</tr>")[0]
    assert "(2023)" in row and "(2025: not yet published)" in row and " mo)" not in row
    figure = text[text.index('<figure id="measure-staff_burnout"') :].split("</figure>")[0]
    assert "January 2023 to January 2024, 2 yearly points" in figure
    assert "No SPC verdict yet: the follow-up period is not published." in figure
    assert "provisional comparison (the 2025 figures, the first after wave 2, are not yet published)" in text
    shmi = page(sample_reports, "syb_uec").read_text(encoding="utf-8")
    shmi = shmi[shmi.index('<figure id="measure-shmi"') :].split("</figure>")[0]
    assert "published without counts" in shmi and "No data for this measure" not in shmi
