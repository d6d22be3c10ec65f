"""The Monthly A&E reader on the real published files and on hand-made variations."""

import datetime as dt

import polars as pl
import pytest
from conftest import AE_HEADER, LAYOUTS_DIR, SAMPLE_AE, ae_row

from ingest.files import InputFileError, normalise_label
from ingest.layouts import load_layout
from ingest.publication import combine_publications, parse_period, read_publication

pytestmark = pytest.mark.unit

#: The Monthly A&E layout as configured (config/layouts/monthly_ae.yaml).
LAYOUT = load_layout(LAYOUTS_DIR / "monthly_ae.yaml")
COUNT_COLUMNS = LAYOUT.declared_measures


def read_monthly_ae(path):
    return read_publication(path, LAYOUT)


def test_real_september_file_with_stray_columns():
    result = read_monthly_ae(SAMPLE_AE / "Monthly-AE-September-2024.csv")
    clean = result.tables["monthly_ae"]
    assert result.rows_read == 198
    assert clean.height == 197
    assert result.ignored_columns == ["a"]
    assert clean["period_start"].unique().to_list() == [dt.date(2024, 9, 1)]
    # The total row (labelled "Total" and "Total ") is set aside, with its reason.
    assert result.quarantine["reason"].to_list() == [
        "national total row: derived from the organisation rows, not stored"
    ]
    assert "TOTAL" not in clean["org_code"].str.to_uppercase().to_list()
    southern = clean.filter(pl.col("org_code") == "RW1").row(0, named=True)
    assert southern["attendances_other"] == 2834
    assert southern["emergency_admissions_other"] == 114
    assert southern["parent_org"] == "NHS ENGLAND SOUTH EAST"


@pytest.mark.parametrize("path", sorted(SAMPLE_AE.glob("*.csv")), ids=lambda p: p.name)
def test_every_real_file_reconciles_and_its_total_is_the_sum_of_its_rows(path):
    result = read_monthly_ae(path)
    clean = result.tables["monthly_ae"]
    assert result.rows_read == clean.height + result.rows_quarantined
    assert result.quarantine["reason"].to_list() == [
        "national total row: derived from the organisation rows, not stored"
    ]
    total_row = result.quarantine["source_row"].item()
    raw = pl.read_csv(path, infer_schema=False).row(total_row - 2, named=True)
    # Every count column: the file's own total row equals the sum of its organisation rows.
    headers = {normalise_label(h): h for h in raw}
    checked = 0
    for name, column in LAYOUT.columns.items():
        if name not in COUNT_COLUMNS:
            continue
        header = next((headers[normalise_label(a)] for a in column.headers if normalise_label(a) in headers), None)
        if header is None:
            continue  # an optional column this file does not have
        assert int(raw[header].replace(",", "")) == clean[name].sum(), name
        checked += 1
    assert checked == len(COUNT_COLUMNS) == 18


def test_total_row_found_by_its_sums_whatever_its_label(tmp_path):
    lines = [AE_HEADER, ae_row("JULY", "R1H", 100, 20), ae_row("JULY", "RF4", 50, 10)]
    lines.append(ae_row("JULY", "ENGLAND", 150, 30).replace("TEST TRUST", "ENGLAND"))
    path = tmp_path / "Monthly-AE-July-2024.csv"
    path.write_text("\n".join(lines) + "\n")
    result = read_monthly_ae(path)
    assert result.tables["monthly_ae"]["org_code"].to_list() == ["R1H", "RF4"]
    assert result.quarantine.select("source_row", "reason").row(0) == (
        4,
        "national total row: derived from the organisation rows, not stored",
    )


def test_revised_file_supersedes_the_original_for_the_same_month(tmp_path):
    combine_monthly_ae = combine_publications(LAYOUT)
    (tmp_path / "Monthly-AE-July-2024.csv").write_text("\n".join([AE_HEADER, ae_row("JULY", "R1H", 100, 20)]) + "\n")
    (tmp_path / "Monthly-AE-July-2024-revised.csv").write_text(
        "\n".join([AE_HEADER, ae_row("JULY", "R1H", 101, 21), ae_row("JULY", "RF4", 5, 1)]) + "\n"
    )
    results = [read_monthly_ae(p) for p in sorted(tmp_path.glob("*.csv"))]
    tables, quarantine = combine_monthly_ae(results)
    assert tables["monthly_ae"].select("org_code", "attendances_type1", "source_file").rows() == [
        ("R1H", 101, "Monthly-AE-July-2024-revised.csv"),
        ("RF4", 5, "Monthly-AE-July-2024-revised.csv"),
    ]
    assert quarantine.select("source_file", "source_row", "reason").rows() == [
        (
            "Monthly-AE-July-2024.csv",
            2,
            "superseded by Monthly-AE-July-2024-revised.csv row 2 for this organisation and period",
        )
    ]


@pytest.mark.parametrize(
    ("label", "expected"),
    [
        ("MSitAE-JUNE-2024", dt.date(2024, 6, 1)),
        ("MSitAE-January-2031", dt.date(2031, 1, 1)),
        (" msitae-sept-2025 ", dt.date(2025, 9, 1)),
        ("MSitAE-FOO-2024", None),
        ("June 2024", None),
    ],
)
def test_parse_period(label, expected):
    frame = pl.DataFrame({"label": [label]}).select(parse_period(pl.col("label"), LAYOUT.period))
    assert frame.item() == expected


def test_column_order_free_and_optional_columns_may_be_missing(tmp_path):
    cells = dict(zip(AE_HEADER.split(","), ae_row("MARCH", "R1H", 120, 30).split(","), strict=True))
    wanted = [
        "Attendances over 4hrs Other Department",
        "Org Code",
        "A&E attendances Type 1",
        "Attendances over 4hrs Type 2",
        "Period",
        "A&E attendances Type 2",
        "Attendances over 4hrs Type 1",
        "A&E attendances Other A&E Department",
    ]
    path = tmp_path / "Monthly-AE-March-2024.csv"
    path.write_text(",".join(wanted) + "\n" + ",".join(cells[h] for h in wanted) + "\n")
    record = read_monthly_ae(path).tables["monthly_ae"].row(0, named=True)
    assert record["period_start"] == dt.date(2024, 3, 1)
    assert (record["attendances_type1"], record["over_4h_type1"]) == (120, 30)
    assert record["attendances_booked_type1"] is None


def test_bad_rows_are_quarantined_with_row_and_column(tmp_path):
    lines = [
        AE_HEADER,
        ae_row("JULY", "R1H", 100, 20),
        ae_row("JULY", "RF4", 100, 40).replace(",100,", ",n/a,", 1),
        ae_row("JULY", "R1H", 90, 10),
        ",,,,,,,,,,,,,,,,,,,,,",
        ae_row("JULYY", "RQX", 100, 5),
        ae_row("JULY", "RQW", 100, 5).replace(",100,", ",,", 1),
        ae_row("JULY", "NOT A CODE", 100, 5),
    ]
    path = tmp_path / "Monthly-AE-July-2024.csv"
    path.write_text("\n".join(lines) + "\n")
    result = read_monthly_ae(path)
    assert result.tables["monthly_ae"]["org_code"].to_list() == ["R1H"]
    problems = {(r["source_row"], r["column_name"]): r["reason"] for r in result.quarantine.to_dicts()}
    assert problems[(3, "attendances_type1")] == "not a whole non-negative number"
    assert problems[(4, "org_code")].startswith("duplicate of row 2")
    assert problems[(5, None)] == "blank row"
    assert problems[(6, "period")].startswith("period is not of the form")
    assert problems[(7, "attendances_type1")] == "required count is empty"
    assert problems[(8, "org_code")] == "organisation code is not an ODS code"
    assert result.rows_read == 7 == result.tables["monthly_ae"].height + result.rows_quarantined


def test_missing_required_column_rejects_file_naming_it(tmp_path):
    path = tmp_path / "Monthly-AE-July-2024.csv"
    path.write_text("Period,Org name\nMSitAE-JULY-2024,X\n")
    with pytest.raises(InputFileError, match=r"Monthly-AE-July-2024.csv.*'Org Code'"):
        read_monthly_ae(path)
