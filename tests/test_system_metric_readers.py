"""Readers of the published NHS statistics, the metric catalogue and the organisation reference,
on the real bundled files and on small hand-made ones."""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

import polars as pl
import pytest

from ingest.files import InputFileError
from ingest.layouts import load_layouts
from ingest.metric_catalogue import (
    MetricCatalogue,
    MetricCatalogueError,
    load_metric_catalogue,
    metric_values,
    source_metric_values,
)
from ingest.organisations import etr_extract_date, organisation_reference_tables, resolve_successors
from ingest.publication import read_publication

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parent.parent
NHS = ROOT / "sample_data" / "nhs"
AE_TIDY_FILE = NHS / "ae_tidy" / "ae_attendances_2016_2019.csv"
STAFF_SURVEY_FILE = NHS / "staff_survey" / "nhs_staff_survey_org_results_2021_2024.csv"
SHMI_FILE = NHS / "shmi" / "shmi_staff_survey_trust_year_2012_2019.csv"
CATALOGUE = load_metric_catalogue(ROOT / "config" / "metrics.yaml")
#: The publication layouts as configured (config/layouts/).
LAYOUTS = load_layouts(ROOT / "config" / "layouts")
AE_TIDY, STAFF_SURVEY, SHMI = LAYOUTS["ae_tidy"], LAYOUTS["staff_survey"], LAYOUTS["shmi"]


def read_published(path, layout):
    return read_publication(path, layout)


def raw_rows(path: Path) -> list[dict[str, str]]:
    with open(path, encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def reconciles(result) -> bool:
    clean = sum(frame.height for frame in result.tables.values())
    return result.rows_read == clean + result.rows_quarantined


def test_tidy_ae_series_loads_whole_and_its_metric_matches_the_raw_rows():
    result = read_published(AE_TIDY_FILE, AE_TIDY)
    assert result.rows_read == 12765 and result.tables["ae_tidy"].height == 12765 and reconciles(result)
    # Four-hour performance of one trust-month, from the raw file by hand: all department types.
    raw = [r for r in raw_rows(AE_TIDY_FILE) if r["org_code"] == "RF4" and r["period"] == "2017-01-01"]
    attendances = sum(int(r["attendances"]) for r in raw)
    breaches = sum(int(r["breaches"]) for r in raw)
    values = source_metric_values(result.tables["ae_tidy"], "ae_tidy", CATALOGUE)
    rf4 = values.filter((pl.col("org_code") == "RF4") & (pl.col("period_start") == dt.date(2017, 1, 1)))
    row = rf4.filter(pl.col("metric_id") == "ae_4h_all").row(0, named=True)
    assert (row["numerator"], row["denominator"]) == (attendances - breaches, attendances)
    assert row["source_rows"] == len(raw) > 1
    type1 = [r for r in raw if r["type"] == "1"]
    row = rf4.filter(pl.col("metric_id") == "ae_4h_type1").row(0, named=True)
    assert row["value"] == pytest.approx(1 - int(type1[0]["breaches"]) / int(type1[0]["attendances"]))


def test_staff_survey_base_and_rate_become_numerator_and_denominator():
    result = read_published(STAFF_SURVEY_FILE, STAFF_SURVEY)
    assert result.rows_read == 1075 and reconciles(result)
    # Six rows carry merged CCG codes ("01T/01V"): not one organisation, so quarantined.
    quarantined = result.quarantine.filter(pl.col("scope") == "row")
    assert quarantined.height == 6
    assert set(quarantined["reason"]) == {"organisation code is not an ODS code"}
    assert "01T/01V" in quarantined["value"].to_list()
    assert set(result.ignored_columns) == {"Region", "ICS/STP", "ICS", "Weighting"}
    raw = next(r for r in raw_rows(STAFF_SURVEY_FILE) if r["ODS code"] == "RX7" and r["Year"] == "2022")
    values = source_metric_values(result.tables["staff_survey"], "staff_survey", CATALOGUE)
    burnout = values.filter(
        (pl.col("org_code") == "RX7")
        & (pl.col("metric_id") == "staff_burnout")
        & (pl.col("period_start") == dt.date(2022, 1, 1))
    ).row(0, named=True)
    assert burnout["denominator"] == float(raw["Burned_out_base"])
    assert burnout["value"] == pytest.approx(float(raw["Burned_out_rate"]) / 100)
    assert burnout["period_grain"] == "year"


def test_shmi_file_ignores_placeholders_and_keeps_the_index():
    result = read_published(SHMI_FILE, SHMI)
    assert result.rows_read == 1084 and reconciles(result)
    assert {"FreedomSpeak.Index", "Openness.Index", "X"} <= set(result.ignored_columns)
    clean = result.tables["shmi"]
    assert "freedomspeak_index" not in clean.columns
    values = source_metric_values(clean, "shmi", CATALOGUE)
    r1f = values.filter((pl.col("org_code") == "R1F") & (pl.col("metric_id") == "shmi")).sort("period_start")
    assert r1f.row(0, named=True)["value"] == 1.0769 and r1f.row(0, named=True)["denominator"] is None
    # 2012 has no staff survey responses for R1F ("NA"): no engagement value, not a zero.
    engagement = values.filter((pl.col("org_code") == "R1F") & (pl.col("metric_id") == "staff_engagement"))
    assert dt.date(2012, 1, 1) not in engagement["period_start"].to_list()


def test_published_reader_finds_columns_by_name_and_quarantines_bad_rows(tmp_path):
    path = tmp_path / "tidy.csv"
    path.write_text(
        "admissions,type,org_code,period,breaches,attendances,notes\n"  # any column order, extra column
        "5,1,RF4,2017-01-01,10,100,x\n"
        ",,,,,,\n"  # blank
        "5,1,RF4,2017-01-01,11,101,x\n"  # repeat of row 2
        "5,1,not a code,2017-01-01,1,2,x\n"
        "5,1,R1H,January 2017,1,2,x\n"
        "5,2,R1H,2017-01-01,lots,9,x\n"  # a bad cell: row kept, cell blanked
        "NA,other,R1H,2017-01-01,0,3,x\n",
        encoding="utf-8",
    )
    result = read_published(path, AE_TIDY)
    reasons = dict(result.quarantine.filter(pl.col("scope") == "row").select("source_row", "reason").iter_rows())
    assert reasons == {
        3: "blank row",
        4: "duplicate of row 2 for this organisation and period",
        5: "organisation code is not an ODS code",
        6: "period is not a date (YYYY-MM-DD)",
    }
    cell = result.quarantine.filter(pl.col("scope") == "cell").row(0, named=True)
    assert (cell["source_row"], cell["column_name"], cell["value"], cell["reason"]) == (
        7,
        "breaches",
        "lots",
        "not a number",
    )
    clean = result.tables["ae_tidy"]
    assert clean["source_row"].to_list() == [2, 7, 8] and reconciles(result)
    assert clean.filter(pl.col("source_row") == 8)["admissions"].item() is None  # "NA" is missing, not a problem


def test_published_reader_rejects_a_file_without_its_key_columns(tmp_path):
    path = tmp_path / "not_tidy.csv"
    path.write_text("org,when,attendances\nRF4,2017-01-01,3\n", encoding="utf-8")
    with pytest.raises(InputFileError, match=r"not_tidy.csv: not a tidy A&E.*'org_code', 'period', 'type'"):
        read_published(path, AE_TIDY)


def catalogue(metrics: list[dict]) -> MetricCatalogue:
    return MetricCatalogue.model_validate({"metrics": metrics})


def test_a_new_metric_from_an_existing_source_needs_yaml_only():
    autonomy = catalogue(
        [
            {
                "id": "staff_autonomy",
                "name": "Autonomy",
                "domain": "staff_experience",
                "unit": "proportion",
                "polarity": "higher_is_better",
                "description": "A metric added by configuration alone.",
                "sources": {
                    "staff_survey": {"numerator": "autonomy_rate / 100 * autonomy_base", "denominator": "autonomy_base"}
                },
            }
        ]
    )
    clean = read_published(STAFF_SURVEY_FILE, STAFF_SURVEY).tables["staff_survey"]
    values, _ = metric_values({"staff_survey": clean}, autonomy)
    assert (
        values.height
        == clean.filter(pl.col("autonomy_base").is_not_null() & pl.col("autonomy_rate").is_not_null()).height
    )
    assert set(values["metric_id"]) == {"staff_autonomy"}


def test_catalogue_errors_name_the_metric_source_and_column():
    typo = catalogue(
        [
            {
                "id": "m",
                "name": "M",
                "domain": "access",
                "unit": "count",
                "polarity": "neutral",
                "description": "d",
                "sources": {"ae_tidy": {"numerator": "attendence"}},
            }
        ]
    )
    frame = pl.DataFrame(
        {
            "org_code": ["RF4"],
            "period_start": [dt.date(2017, 1, 1)],
            "period_grain": ["month"],
            "source_file": ["f"],
            "attendances": [1.0],
        }
    )
    with pytest.raises(MetricCatalogueError, match=r"metric 'm', source 'ae_tidy'.*attendence"):
        source_metric_values(frame, "ae_tidy", typo)
    with pytest.raises(ValueError, match="a proportion needs a denominator"):
        catalogue(
            [
                {
                    "id": "p",
                    "name": "P",
                    "domain": "access",
                    "unit": "proportion",
                    "polarity": "neutral",
                    "description": "d",
                    "sources": {"ae_tidy": {"numerator": "attendances"}},
                }
            ]
        )
    with pytest.raises(ValueError, match="not a valid SQL expression"):
        catalogue(
            [
                {
                    "id": "q",
                    "name": "Q",
                    "domain": "access",
                    "unit": "count",
                    "polarity": "neutral",
                    "description": "d",
                    "sources": {"ae_tidy": {"numerator": "attendances +* 2"}},
                }
            ]
        )


def test_the_source_listed_first_wins_where_two_give_the_same_period():
    both = catalogue(
        [
            {
                "id": "att",
                "name": "A",
                "domain": "activity",
                "unit": "count",
                "polarity": "neutral",
                "description": "d",
                "sources": {"monthly_ae": {"numerator": "a"}, "ae_tidy": {"numerator": "b"}},
            }
        ]
    )
    base = {"org_code": ["RF4"], "period_start": [dt.date(2017, 1, 1)], "period_grain": ["month"], "source_file": ["f"]}
    kept, set_aside = metric_values(
        {"ae_tidy": pl.DataFrame({**base, "b": [2.0]}), "monthly_ae": pl.DataFrame({**base, "a": [1.0]})}, both
    )
    assert kept.select("source", "value").rows() == [("monthly_ae", 1.0)]
    assert set_aside.select("source", "value").rows() == [("ae_tidy", 2.0)]


def test_metric_values_are_ordered_by_metric_organisation_and_period_whichever_metric_comes_first():
    # Metrics are combined one at a time: the result is still one table in key order, each
    # metric judging its own overlaps.
    def metric(metric_id: str, sources: dict) -> dict:
        return {
            "id": metric_id,
            "name": metric_id,
            "domain": "activity",
            "unit": "count",
            "polarity": "neutral",
            "description": "d",
            "sources": sources,
        }

    two = catalogue(
        [
            metric("zeta", {"monthly_ae": {"numerator": "a"}}),
            metric("alpha", {"monthly_ae": {"numerator": "a"}, "ae_tidy": {"numerator": "b"}}),
        ]
    )
    rows = {
        "org_code": ["RF4", "RAL", "RF4"],
        "period_start": [dt.date(2017, 2, 1), dt.date(2017, 1, 1), dt.date(2017, 1, 1)],
        "period_grain": ["month"] * 3,
        "source_file": ["f"] * 3,
    }
    kept, set_aside = metric_values(
        {
            "ae_tidy": pl.DataFrame({**rows, "b": [20.0, 21.0, 22.0]}),
            "monthly_ae": pl.DataFrame({**rows, "a": [1.0, 2.0, 3.0]}),
        },
        two,
    )
    assert kept.select("metric_id", "org_code", "source", "value").rows() == [
        ("alpha", "RAL", "monthly_ae", 2.0),
        ("alpha", "RF4", "monthly_ae", 3.0),
        ("alpha", "RF4", "monthly_ae", 1.0),
        ("zeta", "RAL", "monthly_ae", 2.0),
        ("zeta", "RF4", "monthly_ae", 3.0),
        ("zeta", "RF4", "monthly_ae", 1.0),
    ]
    assert kept["period_start"].to_list()[1:3] == [dt.date(2017, 1, 1), dt.date(2017, 2, 1)]
    assert set_aside.select("metric_id", "org_code", "source", "value").rows() == [
        ("alpha", "RAL", "ae_tidy", 21.0),
        ("alpha", "RF4", "ae_tidy", 22.0),
        ("alpha", "RF4", "ae_tidy", 20.0),
    ]


def test_successor_chains_resolve_to_their_end_and_splits_keep_their_code():
    successors = pl.DataFrame(
        {
            "old_code": ["AAA", "BBB", "RW6", "RW6", "REX"],
            "new_code": ["BBB", "CCC", "R0A", "RM3", "RW6"],
            "succeeded_on": [
                dt.date(2010, 4, 1),
                dt.date(2015, 4, 1),
                dt.date(2021, 10, 1),
                dt.date(2021, 10, 1),
                dt.date(2002, 4, 1),
            ],
        }
    )
    resolved = {r["org_code"]: r for r in resolve_successors(successors).iter_rows(named=True)}
    assert resolved["AAA"]["reporting_code"] == "CCC" and resolved["AAA"]["chain"] == "AAA > BBB > CCC"
    assert resolved["RW6"]["reporting_code"] == "RW6" and resolved["RW6"]["is_split"]
    assert resolved["RW6"]["successor_codes"] == "R0A, RM3"
    assert resolved["REX"]["reporting_code"] == "RW6"  # a chain stops at a split


def test_organisation_reference_from_the_bundled_files():
    tables = organisation_reference_tables(ROOT / "sample_data" / "reference" / "organisations")
    rw6 = tables["organisation_successors"].filter(pl.col("org_code") == "RW6").row(0, named=True)
    assert rw6["is_split"] and rw6["reporting_code"] == "RW6"
    snapshots = tables["organisation_icb_snapshots"]
    r0a = dict(snapshots.filter(pl.col("org_code") == "R0A").select("as_at", "icb_code").iter_rows())
    assert r0a[dt.date(2025, 7, 1)] == "QOP"
    icbs = dict(tables["icbs"].select("icb_code", "icb_name").iter_rows())
    assert icbs["Z9B2Z"] == "NHS WEST AND NORTH LONDON INTEGRATED CARE BOARD"
    assert etr_extract_date(Path("etr_2026-06.csv")) == dt.date(2026, 6, 1)
    with pytest.raises(InputFileError, match="name the extract with its date"):
        etr_extract_date(Path("etr.csv"))
