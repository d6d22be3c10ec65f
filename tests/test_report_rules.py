"""The reports' rules on small hand-made inputs: proper-case names (on the real ODS names of
the bundled reference), bands on an instrument's own scale, the headline and index triage,
the SPC readings under each chart, the icons, the chart's value axis and the chart cache."""

from __future__ import annotations

import csv
import datetime as dt

import pytest
from conftest import SAMPLE_ODS

from reports import bands, charts, headline, icons, spc_reading
from reports.charts import ChartCache, Point, Window, build_started, spc_chart, y_limits
from reports.names import proper_case

pytestmark = pytest.mark.unit


def ods_names() -> set[str]:
    names = set()
    for extract in sorted(SAMPLE_ODS.glob("etr_*.csv")):
        with open(extract, encoding="utf-8") as handle:
            names |= {row[1] for row in csv.reader(handle)}
    with open(SAMPLE_ODS / "provider_to_icb_2026-04.csv", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            names |= {row["provider_org_name"], row["provider_parent_name"]}
    return names


def test_proper_case_on_real_ods_names_keeps_acronyms():
    expected = {
        "UNIVERSITY COLLEGE LONDON HOSPITALS NHS FOUNDATION TRUST": "University College London Hospitals NHS Foundation Trust",
        "GUY'S AND ST THOMAS' NHS FOUNDATION TRUST": "Guy's and St Thomas' NHS Foundation Trust",
        "KING'S COLLEGE HOSPITAL NHS FOUNDATION TRUST": "King's College Hospital NHS Foundation Trust",
        "ISLE OF WIGHT NHS TRUST": "Isle of Wight NHS Trust",
        "THE ROYAL MARSDEN NHS FOUNDATION TRUST": "The Royal Marsden NHS Foundation Trust",
        "NHS LANCASHIRE AND SOUTH CUMBRIA INTEGRATED CARE BOARD": "NHS Lancashire and South Cumbria Integrated Care Board",
        "CORA HEALTH MSK (FORMERLY CONNECT HEALTH LTD)": "Cora Health MSK (Formerly Connect Health Ltd)",
        "DORKING HEALTHCARE LIMITED (DHC)": "Dorking Healthcare Limited (DHC)",
        "MIDLAND EYE (EYE-DOCS LTD)": "Midland Eye (Eye-Docs Ltd)",
        "LANCASHIRE & SOUTH CUMBRIA NHS FOUNDATION TRUST": "Lancashire & South Cumbria NHS Foundation Trust",
    }
    names = ods_names()
    for raw, proper in expected.items():
        assert raw in names, raw  # a real name from the bundled ODS reference
        assert proper_case(raw) == proper
    # Not in the extracts' own words, but the rule must keep them.
    assert proper_case("UCLH AND NHS ICB PARTNERS") == "UCLH and NHS ICB Partners"
    assert proper_case("STOKE-ON-TRENT COMMUNITY TRUST") == "Stoke-on-Trent Community Trust"
    assert proper_case("NHS North Central London Integrated Care Board") == (
        "NHS North Central London Integrated Care Board"  # mixed case: kept as written
    )
    assert proper_case(None) is None
    for raw in names:
        cased = proper_case(raw)
        assert cased.lower() == raw.lower(), raw  # only the case changes
        words = cased.replace("(", " ").replace(")", " ").split()
        assert "Nhs" not in words and "Icb" not in words, cased
        if " NHS " in f" {raw} ":
            assert "NHS" in words, cased


def test_bands_on_the_instruments_own_scale():
    assert bands.legend(1, 5) == (
        "strength 4.0 and above, borderline 3.0 to under 4.0, concern below 3.0, on the instrument's 1 to 5 scale"
    )
    assert bands.thresholds(0, 10) == (5.0, 7.5)
    assert "on the instrument's 0 to 10 scale" in bands.legend(0, 10) and "strength 7.5 and above" in bands.legend(
        0, 10
    )
    assert [bands.band_of(s, 1, 5) for s in (2.99, 3.0, 3.99, 4.0, None)] == [
        "concern",
        "borderline",
        "borderline",
        "strength",
        None,
    ]
    # Rescaled to 1-5, then rounded to 2 decimals, as the warehouse's macro does: 4.99 -> 2.996 -> 3.0.
    assert [bands.band_of(s, 0, 10) for s in (4.9, 4.99, 7.5)] == ["concern", "borderline", "strength"]


def scorecard_row(name: str, score: float | None, band: str | None = None) -> dict:
    return {
        "characteristic": name.lower(),
        "characteristic_name": name,
        "score": score,
        "band": band or bands.band_of(score, 1, 5),
        "is_suppressed": score is None,
    }


def target(metric: str, **overrides) -> dict:
    row = {
        "metric_id": metric,
        "metric_name": metric.replace("_", " ").capitalize(),
        "wave": 3,
        "target_value": None,
        "target_met": None,
        "is_improvement": True,
        "is_provisional": False,
        "membership_changed": False,
        "organisations_compared": 3,
        "baseline_months": 6,
        "followup_months": 6,
        "spc_signal_since_wave": "common_cause",
    }
    return row | overrides


def page_context(**overrides) -> dict:
    """Three waves; wave 3 scored; one target with a value, two direction-only."""
    context = {
        "collaboration": {"collaboration_id": "c", "collaboration_name": "C"},
        "waves": [{"wave": w, "fieldwork_end": dt.date(2018, 3 * w, 20)} for w in (1, 2, 3)],
        "latest_wave": 3,
        "scored_wave": 3,
        "scale": (1, 5),
        "overall": [{"wave": 1, "score": 3.2}, {"wave": 2, "score": 3.51}, {"wave": 3, "score": 3.49}],
        "scorecard": [
            scorecard_row("Risk sharing", 2.63),
            scorecard_row("Governance", 2.99),
            scorecard_row("Capacity", 2.99),
            scorecard_row("Trust", 4.43),
            scorecard_row("Purpose", 4.43),
            scorecard_row("Data", None),
        ],
        "withheld_organisations": 0,
        "latest_targets": [
            target("four_hour", target_value=0.95, target_met=False, spc_signal_since_wave="concern"),
            target("type_one", spc_signal_since_wave="improvement"),
            target("admissions", is_improvement=False),
        ],
        "charts": [],
    }
    return context | overrides


def by_key(statements: list[dict]) -> dict[str, dict]:
    return {s["key"]: s for s in statements}


def test_headline_statements_follow_the_documented_rules():
    said = by_key(headline.statements(page_context()))
    assert [s["key"] for s in headline.statements(page_context())] == [
        "overall",
        "characteristics",
        "targets",
        "spc",
        "warnings",
    ]
    assert (
        said["overall"]["text"]
        == "Overall health at wave 3: borderline (3.49 on the 1 to 5 scale), down 0.02 since wave 2."
    )
    assert said["overall"]["href"] == "#scorecard"
    # Weakest two (ties by name: Capacity before Governance), strongest one (ties by name: Purpose).
    assert said["characteristics"]["data"] == {"concern": 3, "weakest": "Risk sharing|Capacity", "strongest": "Purpose"}
    assert said["characteristics"]["text"].startswith(
        "3 of 6 characteristics in concern. Weakest: Risk sharing 2.63 (concern) and Capacity 2.99 (concern); "
        "strongest: Purpose 4.43 (strength)."
    )
    assert "Data" not in said["characteristics"]["text"]  # withheld: never named with a score
    assert said["targets"]["data"] == {"met": 0, "not-met": 1, "moved": 2}
    assert "(not: Admissions)" in said["targets"]["text"]
    assert said["spc"]["text"] == (
        "Special cause since wave 3: concern in Four hour; improvement in Type one; common cause only in Admissions."
    )
    assert said["spc"]["href"] == "#measures"
    assert said["warnings"]["data"]["count"] == 1  # the withheld characteristic
    assert "1 of 6 characteristics at wave 3 are withheld" in said["warnings"]["text"]


def test_headline_says_when_the_latest_wave_is_withheld_and_warns():
    context = page_context(
        scored_wave=2,
        overall=[{"wave": 1, "score": 3.2}, {"wave": 2, "score": 3.51}, {"wave": 3, "score": None}],
        scorecard=[scorecard_row("Trust", 3.51), scorecard_row("Purpose", 3.6), scorecard_row("Risk", 3.2)],
        latest_targets=[target("four_hour", is_provisional=True, baseline_months=5, followup_months=1)],
    )
    said = by_key(headline.statements(context))
    assert said["overall"]["text"].startswith("Wave 3 is withheld (fewer than 5 respondents). Overall health at wave 2")
    assert "up 0.31 since wave 1" in said["overall"]["text"]
    kinds = [w["kind"] for w in headline.warnings(context)]
    assert kinds == ["suppressed", "provisional"]
    assert said["warnings"]["data"]["kinds"] == "provisional|suppressed"
    hidden = headline.warnings(context | {"withheld_organisations": 2})
    assert hidden[1]["href"] == "#perception" and hidden[1]["text"].startswith(
        "2 member organisations' own scores at wave 2 are withheld"
    )


def test_a_published_not_reporting_flag_becomes_a_warning_without_code_changes():
    """Issue 13's flag: a column of that name on the outcome rows (or on system_metrics, for
    the charted months) raises a warning, and the index counts it."""
    complete = [scorecard_row("Trust", 3.5)]
    flagged = page_context(scorecard=complete, latest_targets=[target("four_hour", organisations_not_reporting=1)])
    warnings = headline.warnings(flagged)
    assert [w["kind"] for w in warnings] == ["not_reporting"]
    assert "stopped reporting" in warnings[0]["text"] and warnings[0]["href"] == "#targets"
    quiet = page_context(scorecard=complete, latest_targets=[target("four_hour", coverage_changed=False)])
    assert headline.warnings(quiet) == []
    charted = page_context(
        scorecard=complete,
        latest_targets=[],
        charts=[{"anchor": "measure-x", "metric": {"metric_name": "X"}, "coverage_flags": {"coverage_changed": 2}}],
    )
    assert headline.warnings(charted)[0]["href"] == "#measure-x"
    assert headline.triage(flagged)["warnings"] == warnings


def test_index_triage_sorts_worst_first():
    strong = page_context(
        collaboration={"collaboration_id": "a", "collaboration_name": "A"},
        overall=[{"wave": 3, "score": 4.2}],
        scorecard=[scorecard_row("Trust", 4.2)],
    )
    few_concerns = page_context(
        collaboration={"collaboration_id": "b", "collaboration_name": "B"},
        scorecard=[scorecard_row("Trust", 2.5), scorecard_row("Risk", 3.5)],
    )
    many_concerns = page_context(collaboration={"collaboration_id": "c", "collaboration_name": "C"})
    failing = page_context(
        collaboration={"collaboration_id": "d", "collaboration_name": "D"}, overall=[{"wave": 3, "score": 2.9}]
    )
    rows = sorted(
        (headline.triage(c) for c in (strong, few_concerns, many_concerns, failing)), key=lambda r: r["attention_key"]
    )
    assert [r["collaboration"]["collaboration_id"] for r in rows] == ["d", "c", "b", "a"]
    c = next(r for r in rows if r["collaboration"]["collaboration_id"] == "c")
    assert (c["concern"], c["met"], c["not_met"], c["spc_concern"], c["spc_improvement"]) == (3, 0, 1, 1, 1)
    assert c["latest_date"] == dt.date(2018, 9, 20)


def month(i: int) -> dt.date:
    return dt.date(2017 + i // 12, i % 12 + 1, 1)


def series_point(i: int, value: float, signal: str = "common_cause", rules: str | None = None) -> dict:
    return {
        "period_month": month(i),
        "value": value,
        "spc_mean": 0.85,
        "spc_lower": 0.80,
        "spc_upper": 0.90,
        "spc_signal": signal,
        "spc_rules": rules,
    }


def test_chart_sentence_names_the_run_since_the_wave():
    series = [series_point(i, 0.86) for i in range(12)]
    series += [series_point(12 + i, 0.83, "concern", "shift_below") for i in range(7)]
    after = series[13:]
    sentence = spc_reading.chart_sentence("Four-hour performance", 3, series, after, "concern")
    assert sentence == (
        "Since wave 3, Four-hour performance has shown special cause concern: the last 7 months were below the mean."
    )
    calm = spc_reading.chart_sentence("X", 2, series[:12], series[6:12], "common_cause")
    assert "common-cause variation only: all 6 months were within the process limits" in calm
    assert "too few months for SPC limits" in spc_reading.chart_sentence("X", 2, series, after, None)
    beyond = [*series[:12], series_point(12, 0.78, "concern", "below_lower_limit,two_of_three_low")]
    assert "January 2018 was below the lower process limit" in spc_reading.chart_sentence(
        "X", 2, beyond, beyond[12:], "concern"
    )
    # The latest month, later than the months after the wave, is described too.
    assert spc_reading.latest_sentence(series, series[10:12]) == (
        "The latest month, July 2018, shows special cause concern: the last 7 months were below the mean."
    )
    assert spc_reading.latest_sentence(series, after) is None
    assert spc_reading.latest_sentence(series, series[10:12], said=sentence) is None  # said already


def test_side_assurance_and_disagreement():
    assert spc_reading.side(series_point(0, 0.83, "concern", "shift_below"), "higher_is_better") == "L"
    assert spc_reading.side(series_point(0, 0.93, "improvement", "above_upper_limit"), "higher_is_better") == "H"
    both = series_point(0, 0.86, "concern", "shift_above,trend_down")
    assert spc_reading.side(both, "higher_is_better") == "L" and spc_reading.side(both, "lower_is_better") == "H"
    assert spc_reading.side(series_point(0, 0.86), "higher_is_better") is None
    assert spc_reading.assurance("higher_is_better", 0.80, 0.90, 0.95) == "consistently_fail"
    assert spc_reading.assurance("higher_is_better", 0.80, 0.90, 0.78) == "consistently_pass"
    assert spc_reading.assurance("higher_is_better", 0.80, 0.90, 0.85) == "hit_and_miss"
    assert spc_reading.assurance("lower_is_better", 10, 20, 30) == "consistently_pass"
    assert spc_reading.assurance("lower_is_better", 10, 20, 5) == "consistently_fail"
    assert spc_reading.assurance("neutral", 10, 20, 5) is None
    assert spc_reading.assurance("higher_is_better", None, None, 0.95) is None
    why = spc_reading.disagreement(target("x", is_improvement=True, spc_signal_since_wave="concern"), "85.0%")
    assert "moved the wanted way; yet SPC finds months worse than the process's usual level (its mean, 85.0%)" in why
    assert spc_reading.disagreement(target("x", is_improvement=True, spc_signal_since_wave="improvement"), None) is None
    assert spc_reading.disagreement(target("x", is_improvement=None, spc_signal_since_wave="concern"), None) is None


def test_icons_carry_colour_letter_and_meaning():
    concern = icons.variation_icon("concern", "L")
    assert 'data-icon="variation-concern"' in concern and icons.ORANGE in concern and ">L</text>" in concern
    assert 'aria-label="Variation: special cause concern, low values"' in concern
    improvement = icons.variation_icon("improvement", "H")
    assert icons.BLUE in improvement and ">H</text>" in improvement
    common = icons.variation_icon("common_cause", None)
    assert icons.GREY in common and "</text>" not in common
    assert icons.variation_icon(None, None) == ""
    for assurance, colour, letter in (
        ("consistently_pass", icons.BLUE, "P"),
        ("consistently_fail", icons.ORANGE, "F"),
        ("hit_and_miss", icons.GREY, "?"),
    ):
        drawn = icons.assurance_icon(assurance)
        assert f'stroke="{colour}"' in drawn and f">{letter}</text>" in drawn and 'role="img"' in drawn
    assert icons.assurance_icon(None) == ""


def test_value_axis_includes_a_target_above_the_data():
    points = [Point(month(i), 0.85 + (i % 3) / 100, 0.86, 0.80, 0.90, "common_cause") for i in range(12)]
    low, high = y_limits(points, 0.95)
    assert low < 0.80 and high > 0.95
    low, high = y_limits(points, 0.50)
    assert low < 0.50 and high > 0.90


def test_a_cached_chart_is_the_drawn_chart_and_is_not_drawn_twice(tmp_path, monkeypatch):
    points = [Point(month(i), 0.85 + (i % 3) / 100, 0.86, 0.80, 0.90, "common_cause") for i in range(12)]
    windows = [Window("Wave 1", month(2), month(3))]
    arguments = (points, windows, "Four-hour performance", ".0%", "A chart.")
    drawn = spc_chart(*arguments, target=0.95, element_ids="ae")
    cache = ChartCache(tmp_path / "charts")
    started = build_started()
    assert spc_chart(*arguments, target=0.95, element_ids="ae", cache=cache) == drawn
    assert len(list(cache.folder.glob("*.svg"))) == 1

    def not_again(*_):
        raise AssertionError("drawn again")

    monkeypatch.setattr(charts, "_spc_chart", not_again)
    assert spc_chart(*arguments, target=0.95, element_ids="ae", cache=cache) == drawn
    # Any input that changes the picture is another chart: a value, the target, the alt text.
    changed = [
        Point(p.month, p.value + (i == 11) * 1e-9, p.mean, p.lower, p.upper, p.signal) for i, p in enumerate(points)
    ]
    for other in (
        dict(points=changed),
        dict(target=0.9),
        dict(description="Another chart."),
    ):
        call = {"points": points, "target": 0.95, "description": "A chart.", **other}
        with pytest.raises(AssertionError, match="drawn again"):
            spc_chart(
                call["points"],
                windows,
                "Four-hour performance",
                ".0%",
                call["description"],
                target=call["target"],
                element_ids="ae",
                cache=cache,
            )
    # A file cut short (a power cut while it was written) is drawn again, not served.
    (cached,) = cache.folder.glob("*.svg")
    cached.write_text(drawn[: len(drawn) // 2], encoding="utf-8")
    with pytest.raises(AssertionError, match="drawn again"):
        spc_chart(*arguments, target=0.95, element_ids="ae", cache=cache)
    # A build that used none of the cached charts leaves none behind.
    assert cache.prune(started) == 0
    assert cache.prune(build_started() + 2) == 1
    assert not list(cache.folder.glob("*.svg"))


def test_yearly_experience_measures_read_in_years_and_each_measure_warns_once():
    """Issue 22 and 13 on the page: a yearly Staff Survey target awaiting its follow-up year is
    provisional for that reason (not "fewer than 3 months"); the headline counts experience
    measures; a measure flagged by two columns and by marts.data_warnings is one measure in
    the summary, and a member with no figures at all is not said to have stopped reporting."""
    burnout = target(
        "staff_burnout",
        domain="staff_experience",
        period_grain="year",
        is_provisional=True,
        is_improvement=None,
        followup_start=dt.date(2025, 1, 1),
        spc_signal_since_wave=None,
    )
    care = target("recommend_care", domain="patient_experience", period_grain="year", is_improvement=True)
    admissions = target("admissions", is_improvement=False, organisations_not_reporting="RAP", coverage_changed=True)
    shmi = target("shmi", period_grain="year", organisations_not_reporting="RCU", coverage_changed=False)
    context = page_context(
        scorecard=[scorecard_row("Trust", 3.5)],
        latest_targets=[burnout, care, admissions, shmi],
        data_warnings=[
            {
                "metric_id": "admissions",
                "message": "RAP has not reported admissions since December 2024: merged? add a successor "
                "(or end its membership of c); admissions is published to June 2025.",
            }
        ],
    )
    found = headline.warnings(context)
    texts = [w["text"] for w in found]
    assert texts == [
        "Staff burnout: provisional comparison (the 2025 figures, the first after wave 3, are not yet published).",
        "Admissions: a member organisation stopped reporting in the periods compared around wave 3 "
        "(organisations not reporting: RAP).",
        "Shmi: compared without a member organisation that has no figures in the periods compared around wave 3 "
        "(organisations not reporting: RCU).",
        "RAP has not reported admissions since December 2024: merged? add a successor (or end its membership of c); "
        "admissions is published to June 2025.",
    ]
    assert headline.summary(found, 3) == (
        "provisional comparison (too few months, or the follow-up year not yet published) for 1 measure; "
        "a member organisation stopped reporting: 1 measure; "
        "compared without a member organisation that has no figures: 1 measure"
    )
    said = by_key(headline.statements(context))
    assert said["targets"]["text"].endswith("; experience measures: 1 of 2 moved the wanted way.")
