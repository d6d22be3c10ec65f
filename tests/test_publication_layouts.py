"""Publication layouts in YAML (config/layouts/): every option on small hand-made files.

A zipped long extract read in batches, total rows by a column's value and their check, week
bands summed by a pattern, an XLSX sheet chosen by name, the period from the file name,
declared revision precedence, and configuration errors that name the file and the entry.
"""

from __future__ import annotations

import datetime as dt
import tempfile
import zipfile
from pathlib import Path
from xml.sax.saxutils import escape

import polars as pl
import pytest

from ingest.files import InputFileError
from ingest.layouts import LayoutError, load_layout
from ingest.metric_catalogue import MetricCatalogueError, load_metric_catalogue
from ingest.publication import combine_publications, read_publication
from ingest.sources import SourcesError, load_sources, publication_layouts

pytestmark = pytest.mark.unit

#: A long layout like the RTT full extract's, cut down to four week bands.
WAITS_LAYOUT = r"""
title: a waiting list extract
files: {types: [zip, csv]}
period: {format: 'WL-%B-%Y', describe: of the form WL-<Month>-<YEAR>, grain: month}
grain: long
columns:
  period: {header: Period, role: period}
  org_code: {header: Provider Org Code, role: organisation}
  org_name: {header: Provider Org Name, role: text}
  part: {header: Part Type, role: category}
  function: {header: Function Code, role: category}
  up_to_2_weeks:
    sum_of: {pattern: '^Gt (?P<from>\d+) To (?P<to>\d+) Weeks$', at_most: {to: 2}, columns: 2}
  over_2_weeks:
    sum_of: {pattern: '^Gt (?P<from>\d+)( To \d+)? Weeks$', at_least: {from: 2}, columns: 2}
  total: {header: Total, required: true, empty_allowed: true}
  total_all: {header: Total All, required: true}
measures: {type: count, other_columns: ignore}
totals:
  rows: [{column: function, equals: C_999}]
  reason: "function C_999 is the total of the other functions: not stored"
  within: [org_code, part]
"""
WAITS_HEADER = (
    "Period,Provider Org Code,Provider Org Name,Part Type,Function Code,Function Name,"
    "Gt 00 To 01 Weeks,Gt 01 To 02 Weeks,Gt 02 To 03 Weeks,Gt 03 Weeks,Total,Total All"
)
WAITS_ROWS = [
    # provider RF4, completed pathways (Part_1): functions 100 and 101, and their total.
    "WL-April-2026,RF4,ROYAL FREE,Part_1,C_100,Surgery,1,2,3,4,10,10",
    "WL-April-2026,RF4,ROYAL FREE,Part_1,C_101,Urology,0,1,1,0,2,2",
    "WL-April-2026,RF4,ROYAL FREE,Part_1,C_999,Total,1,3,4,4,12,12",
    # incomplete pathways (Part_2): `Total` is blank, `Total All` holds the total.
    "WL-April-2026,RF4,ROYAL FREE,Part_2,C_100,Surgery,5,5,2,1,,13",
    "WL-April-2026,RF4,ROYAL FREE,Part_2,C_999,Total,5,5,2,1,,13",
    "WL-April-2026,R1H,BARTS,Part_2,C_100,Surgery,7,0,0,3,,10",
    "WL-April-2026,R1H,BARTS,Part_2,C_999,Total,7,0,0,3,,10",
]


def write_waits_zip(path: Path, rows: list[str] = WAITS_ROWS) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("extract/waits.csv", "\n".join([WAITS_HEADER, *rows]) + "\n")
        archive.writestr("__MACOSX/extract/._waits.csv", b"\x00\x05\x16\x07 macOS metadata")
    return path


@pytest.fixture
def waits_layout(tmp_path: Path):
    path = tmp_path / "layouts" / "waits.yaml"
    path.parent.mkdir()
    path.write_text(WAITS_LAYOUT, encoding="utf-8")
    return load_layout(path)


def test_zipped_long_extract_in_batches(tmp_path, waits_layout):
    path = write_waits_zip(tmp_path / "WL-April-2026.csv.zip")
    whole = read_publication(path, waits_layout)
    clean = whole.tables["waits"]
    # The C_999 rows are totals: set aside with the layout's reason, never stored.
    assert clean.select("org_code", "part", "function").rows() == [
        ("RF4", "Part_1", "C_100"),
        ("RF4", "Part_1", "C_101"),
        ("RF4", "Part_2", "C_100"),
        ("R1H", "Part_2", "C_100"),
    ]
    assert whole.quarantine.select("source_row", "reason").rows() == [
        (4, "function C_999 is the total of the other functions: not stored"),
        (6, "function C_999 is the total of the other functions: not stored"),
        (8, "function C_999 is the total of the other functions: not stored"),
    ]
    assert whole.rows_read == 7 == clean.height + whole.rows_quarantined
    # Week bands summed by pattern and bounds: up to 2 weeks = 0-1 + 1-2; over 2 = 2-3 + 3+.
    first = clean.row(0, named=True)
    assert (first["up_to_2_weeks"], first["over_2_weeks"], first["total"], first["total_all"]) == (3, 7, 10, 10)
    assert clean.filter(pl.col("part") == "Part_2")["total"].to_list() == [None, None]  # blank is allowed
    assert set(clean["period_start"]) == {dt.date(2026, 4, 1)}
    assert whole.ignored_columns == ["Function Name"]
    # Each total equals the sum of its provider's and part's rows, in every measure.
    totals = whole.totals.sort("column_name")
    assert totals["column_name"].to_list() == ["over_2_weeks", "total", "total_all", "up_to_2_weeks"]
    assert totals["totals_mismatched"].to_list() == [0, 0, 0, 0]
    assert totals.filter(pl.col("column_name") == "total_all").select("totals_compared", "published").row(0) == (3, 35)
    # Read two rows at a time (as an 81 MB extract is, 20,000 rows at a time): the same result.
    batched = read_publication(path, waits_layout, batch_rows=2)
    assert batched.tables["waits"].equals(clean)
    assert batched.quarantine.equals(whole.quarantine)
    assert batched.totals.equals(whole.totals)


def test_a_total_that_its_rows_do_not_add_up_to_is_reported(tmp_path, waits_layout):
    edited = [r.replace("Part_1,C_999,Total,1,3,4,4,12,12", "Part_1,C_999,Total,1,3,4,4,12,15") for r in WAITS_ROWS]
    result = read_publication(write_waits_zip(tmp_path / "WL-April-2026.zip", edited), waits_layout)
    mismatch = result.totals.filter(pl.col("totals_mismatched") > 0).row(0, named=True)
    assert (mismatch["column_name"], mismatch["worst_row"], mismatch["worst_published"], mismatch["worst_summed"]) == (
        "total_all",
        4,
        15.0,
        12.0,
    )
    assert result.totals.filter(pl.col("totals_mismatched") > 0).height == 1


def test_a_zip_must_hold_exactly_one_matching_member(tmp_path, waits_layout):
    path = tmp_path / "WL-April-2026.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("a.csv", WAITS_HEADER + "\n")
        archive.writestr("b.csv", WAITS_HEADER + "\n")
    with pytest.raises(InputFileError, match=r"WL-April-2026.zip: 2 members matching '\*.csv' in the zip"):
        read_publication(path, waits_layout)
    with pytest.raises(InputFileError, match=r"notes.txt: unsupported file type '.txt'"):
        read_publication((tmp_path / "notes.txt"), waits_layout)


@pytest.mark.parametrize("extract_at_most", [1 << 30, 0], ids=["inflated once to a file", "streamed from the zip"])
def test_a_zip_member_read_either_way_gives_the_same_rows_and_a_damaged_one_is_refused(
    tmp_path, waits_layout, monkeypatch, extract_at_most
):
    from ingest import batches

    path = write_waits_zip(tmp_path / "WL-April-2026.csv.zip")
    with zipfile.ZipFile(path) as archive:  # what a reader of the member gets, read straight from the zip
        expected = archive.read("extract/waits.csv")
    monkeypatch.setattr(batches, "EXTRACT_AT_MOST", extract_at_most)
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "temporary"))
    (tmp_path / "temporary").mkdir()
    opened = []
    real_open = zipfile.ZipFile.open
    monkeypatch.setattr(zipfile.ZipFile, "open", lambda self, *a, **k: opened.append(a[0]) or real_open(self, *a, **k))
    with batches._opener(path, "extract/waits.csv") as open_bytes:
        assert all(open_bytes().read() == expected for _ in range(3))
    # Inflated once (then read from the file), or from the zip each time.
    assert len(opened) == (1 if extract_at_most else 3)
    assert not list((tmp_path / "temporary").iterdir())  # the temporary file is gone
    result = read_publication(path, waits_layout)
    assert result.tables["waits"].height == 4 and result.rows_quarantined == 3
    # One byte of the member's compressed data changed: its CRC no longer matches.
    damaged = tmp_path / "WL-May-2026.csv.zip"
    with zipfile.ZipFile(damaged, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("waits.csv", "\n".join([WAITS_HEADER, *WAITS_ROWS * 50]) + "\n")
    data = bytearray(damaged.read_bytes())
    with zipfile.ZipFile(damaged) as archive:
        info = archive.getinfo("waits.csv")
    start = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra)
    data[start + info.compress_size // 2] ^= 0xFF
    damaged.write_bytes(bytes(data))
    with pytest.raises(InputFileError, match=r"WL-May-2026.csv.zip: the zip member 'waits.csv' is damaged"):
        read_publication(damaged, waits_layout)


def write_xlsx(path: Path, sheets: dict[str, list[list[str]]]) -> Path:
    """A minimal XLSX workbook (inline strings) with the given sheets."""

    def cell(column: int, row: int, value: str) -> str:
        letters = ""
        column += 1
        while column:
            column, rest = divmod(column - 1, 26)
            letters = chr(65 + rest) + letters
        return f'<c r="{letters}{row}" t="inlineStr"><is><t>{escape(value)}</t></is></c>'

    main = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
    relations = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
    with zipfile.ZipFile(path, "w") as book:
        book.writestr(
            "[Content_Types].xml",
            '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/>'
            '<Override PartName="/xl/workbook.xml" '
            'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
            + "".join(
                f'<Override PartName="/xl/worksheets/sheet{i}.xml" '
                'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
                for i in range(1, len(sheets) + 1)
            )
            + "</Types>",
        )
        book.writestr(
            "_rels/.rels",
            '<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            f'<Relationship Id="rId1" Type="{relations}/officeDocument" Target="xl/workbook.xml"/></Relationships>',
        )
        book.writestr(
            "xl/workbook.xml",
            f'<?xml version="1.0"?><workbook xmlns="{main}" xmlns:r="{relations}"><sheets>'
            + "".join(f'<sheet name="{escape(name)}" sheetId="{i}" r:id="rId{i}"/>' for i, name in enumerate(sheets, 1))
            + "</sheets></workbook>",
        )
        book.writestr(
            "xl/_rels/workbook.xml.rels",
            '<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            + "".join(
                f'<Relationship Id="rId{i}" Type="{relations}/worksheet" Target="worksheets/sheet{i}.xml"/>'
                for i in range(1, len(sheets) + 1)
            )
            + "</Relationships>",
        )
        for i, rows in enumerate(sheets.values(), 1):
            body = "".join(
                f'<row r="{r}">' + "".join(cell(c, r, v) for c, v in enumerate(row)) + "</row>"
                for r, row in enumerate(rows, 1)
            )
            book.writestr(
                f"xl/worksheets/sheet{i}.xml",
                f'<?xml version="1.0"?><worksheet xmlns="{main}"><sheetData>{body}</sheetData></worksheet>',
            )
    return path


CANCER_LAYOUT = """
title: a cancer waits workbook
files: {types: [xlsx], sheet: Providers}
period: {from_filename: true, format: ['%B-%Y', '%Y-%m'], grain: month}
columns:
  org_code: {pattern: '^ODS', role: organisation}
  org_name: {header: Provider, role: text}
  seen: {header: Seen, required: true}
  within_standard: {header: Within standard, required: true}
revisions: {prefer: final, then: first_file_name}
"""


def test_xlsx_sheet_by_name_and_period_from_the_file_name(tmp_path):
    layout_path = tmp_path / "cancer.yaml"
    layout_path.write_text(CANCER_LAYOUT, encoding="utf-8")
    layout = load_layout(layout_path)
    sheets = {
        "Notes": [["This workbook holds provisional figures"]],
        "Providers": [
            ["ODS code", "Provider", "Seen", "Within standard"],
            ["RF4", "Royal Free", "100", "80"],
            ["R1H", "Barts", "lots", "40"],  # a bad number costs the cell, not the row
        ],
    }
    result = read_publication(write_xlsx(tmp_path / "cancer-waits-March-2025.xlsx", sheets), layout)
    clean = result.tables["cancer"]
    assert clean.select("org_code", "period_start", "seen", "within_standard").rows() == [
        ("RF4", dt.date(2025, 3, 1), 100.0, 80.0),
        ("R1H", dt.date(2025, 3, 1), None, 40.0),
    ]
    assert result.quarantine.select("source_row", "column_name", "reason", "scope").rows() == [
        (3, "seen", "not a number", "cell")
    ]
    with pytest.raises(InputFileError, match=r"cancer-waits.xlsx: the file name holds no period of the form"):
        read_publication(write_xlsx(tmp_path / "cancer-waits.xlsx", sheets), layout)

    # Revision precedence as declared: a file named "final" wins, then the first file name.
    draft_a = read_publication(write_xlsx(tmp_path / "a-2025-03.xlsx", sheets), layout)
    draft_b = read_publication(write_xlsx(tmp_path / "b-2025-03.xlsx", sheets), layout)
    final = read_publication(write_xlsx(tmp_path / "z-final-2025-03.xlsx", sheets), layout)
    tables, superseded = combine_publications(layout)([draft_a, draft_b])
    assert set(tables["cancer"]["source_file"]) == {"a-2025-03.xlsx"}
    tables, superseded = combine_publications(layout)([draft_a, draft_b, final])
    assert set(tables["cancer"]["source_file"]) == {"z-final-2025-03.xlsx"}
    assert superseded.filter(pl.col("reason").str.starts_with("superseded")).height == 4


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (("role: organisation}", "role: text}"), "exactly one column has role organisation"),
        (("grain: long", "grain: wide"), "a wide layout has no category columns"),
        (("equals: C_999", "equals: C_999}, {column: fnction, equals: X"), "total rule names columns .*fnction"),
        (("WL-%B-%Y", "WL-%q-%Y"), r"%q is not supported"),
        (("at_most: {to: 2}", "at_most: {weeks: 2}"), "bounds name groups the pattern does not have: weeks"),
        (("  total_all: {header: Total All", "  source_row: {header: Total All"), "column names the reader uses"),
        (
            (
                "  part: {header: Part Type, role: category}",
                "  part: {header: Part Type, role: category}\n  part: {header: X}",
            ),
            "key 'part' is written twice",
        ),
    ],
)
def test_layout_errors_name_the_file_and_the_entry(tmp_path, change, message):
    path = tmp_path / "waits.yaml"
    assert change[0] in WAITS_LAYOUT
    path.write_text(WAITS_LAYOUT.replace(*change), encoding="utf-8")
    with pytest.raises(LayoutError, match=rf"waits.yaml: .*{message}"):
        load_layout(path)


def test_sources_are_open_ended_but_each_needs_a_layout(tmp_path):
    config = tmp_path / "config"
    (config / "layouts").mkdir(parents=True)
    (config / "layouts" / "waits.yaml").write_text(WAITS_LAYOUT, encoding="utf-8")
    (config / "sources.yaml").write_text(
        "sources:\n"
        "  waits: {locations: [../data/waits]}\n"
        "  waits_archive: {layout: waits, locations: [../archive]}\n",  # a second source read alike
        encoding="utf-8",
    )
    layouts = publication_layouts(config)
    assert sorted(layouts) == ["waits", "waits_archive"] and layouts["waits_archive"].name == "waits_archive"
    sources = load_sources(config, {"COLLAB_HEALTH_WAITS_ARCHIVE_SOURCE": str(tmp_path / "elsewhere")})
    assert sources["waits"].locations == [str(tmp_path / "data" / "waits")]  # relative to the config folder
    assert sources["waits_archive"].locations == [str(tmp_path / "elsewhere")]
    assert {"diagnostic_exports", "organisations"} <= set(sources)

    (config / "sources.yaml").write_text("sources:\n  rtt: {locations: [../data/rtt]}\n", encoding="utf-8")
    with pytest.raises(
        SourcesError, match=r"sources.yaml: invalid sources file: source 'rtt' has no layout: add .*rtt.yaml"
    ):
        load_sources(config)


def test_a_metric_naming_an_unknown_source_is_a_configuration_error(tmp_path):
    path = tmp_path / "metrics.yaml"
    path.write_text(
        "metrics:\n"
        "  - {id: waits, name: W, domain: access, unit: count, polarity: neutral, description: d,\n"
        "     sources: {waits: {numerator: total_all}, rtt: {numerator: total_all}}}\n",
        encoding="utf-8",
    )
    with pytest.raises(
        MetricCatalogueError, match=r"metrics.yaml: invalid metric catalogue: metric 'waits' names source 'rtt'"
    ):
        load_metric_catalogue(path, ["waits"])
    assert load_metric_catalogue(path).metrics[0].id == "waits"  # sources are checked where they are known


def test_a_sum_of_empty_cells_is_empty_unless_they_mean_zero(tmp_path, waits_layout):
    # A function row that leaves its bands blank where no one waited that long (as RTT does).
    rows = ["WL-April-2026,RF4,ROYAL FREE,Part_2,C_100,Surgery,5,,,,,5"]
    path = write_waits_zip(tmp_path / "WL-April-2026.zip", rows)
    clean = read_publication(path, waits_layout).tables["waits"]
    assert clean.select("up_to_2_weeks", "over_2_weeks").row(0) == (5, None)
    zero = waits_layout.model_copy(deep=True)
    zero.columns["over_2_weeks"].sum_of.empty_is_zero = True
    clean = read_publication(path, zero).tables["waits"]
    assert clean.select("up_to_2_weeks", "over_2_weeks").row(0) == (5, 0)


def test_extra_columns_named_like_the_readers_own_are_ignored_not_a_crash(tmp_path):
    # Issue 21: `Period start` and `Source row` in a Staff Survey file crashed its step with a
    # polars error naming no file (both would have become columns the reader makes itself).
    layout = load_layout(Path(__file__).resolve().parent.parent / "config" / "layouts" / "staff_survey.yaml")
    path = tmp_path / "staff_survey_2024.csv"
    path.write_text(
        "ODS code,Year,Period start,Source row,Org name,Burned_out_base,Burned_out_rate\n"
        "RX7,2024,2024-01-01,17,North West Ambulance,1000,31.5\n"
        "RX7,2023,2023-01-01,18,North West Ambulance,900,33.0\n",
        encoding="utf-8",
    )
    result = read_publication(path, layout)
    clean = result.tables["staff_survey"]
    assert result.ignored_columns == ["Period start", "Source row", "Org name"]
    assert clean.select("period_start", "source_row", "burned_out_rate").rows() == [
        (dt.date(2024, 1, 1), 2, 31.5),
        (dt.date(2023, 1, 1), 3, 33.0),
    ]
    assert result.rows_read == 2 == clean.height and result.quarantine.is_empty()
