"""Writes the bad-input corpora (committed beside this script): diagnostic exports,
Monthly A&E files, and the hostile corpus of issue 21 (diagnostic exports in `hostile/`,
configuration files in `hostile_config/`).

Run from the project root: `.venv/bin/python tests/bad_inputs/make_corpus.py`.
Every file is small and synthetic; what each must produce is in each folder's EXPECTED.yaml.
"""

import codecs
import csv
import io
from pathlib import Path

from openpyxl import Workbook

HERE = Path(__file__).resolve().parent / "diagnostic"
AE_HERE = Path(__file__).resolve().parent / "monthly_ae"
AE_HEADER = (
    "Period,Org Code,Parent Org,Org name,A&E attendances Type 1,A&E attendances Type 2,"
    "A&E attendances Other A&E Department,Attendances over 4hrs Type 1,Attendances over 4hrs Type 2,"
    "Attendances over 4hrs Other Department,Emergency admissions via A&E - Type 1"
)


def ae(month, org, values="100,0,50,20,0,5,30"):
    return f"MSitAE-{month}-2024,{org},NHS ENGLAND LONDON ,SOME TRUST,{values}"


def write_ae(name, lines):
    (AE_HERE / name).write_bytes(lines if isinstance(lines, bytes) else ("\n".join(lines) + "\n").encode())


def main_monthly_ae():
    AE_HERE.mkdir(parents=True, exist_ok=True)
    write_ae(
        "Monthly-AE-March-2024-bad-rows.csv",
        [
            AE_HEADER,
            ae("MARCH", "R1H"),
            ae("MARCH", "RF4", "100,0,n/a,20,0,5,30"),
            ae("MARCHH", "RQX"),
            ae("MARCH", "THE WHOLE OF LONDON"),
            ae("MARCH", "RAL", "-5,0,50,20,0,5,30"),
            ae("MARCH", "RKE", ",0,50,20,0,5,30"),
            "",
            ae("MARCH", "R1H", "101,0,50,20,0,5,30"),
        ],
    )
    write_ae("Monthly-AE-April-2024-not-ae.csv", ["Month,Trust,Attendances", "April 2024,R1H,100"])
    write_ae("Monthly-AE-May-2024-binary.csv", b"PK\x03\x04\x00\x00binary")
    write_ae(
        "Monthly-AE-June-2024-reordered.csv",
        [
            "Org Code,Period,Attendances over 4hrs Type 1,A&E attendances Type 1,A&E attendances Type 2,"
            "A&E attendances Other A&E Department,Attendances over 4hrs Type 2,Attendances over 4hrs Other Department,,x",
            "R1H,MSitAE-JUNE-2024,20,100,0,50,0,5,,",
            "England,MSitAE-JUNE-2024,20,100,0,50,0,5,,",
        ],
    )
    write_ae("Monthly-AE-July-2024-empty.csv", b"")


ITEMS = [
    "SP1",
    "SP2",
    "CV1",
    "CV2",
    "TR1",
    "TR2",
    "AH1",
    "AH2",
    "RS1",
    "RS2",
    "SG1",
    "SG2",
    "LD1",
    "LD2",
    "CP1",
    "CP2",
    "UD1",
    "UD2",
]
HEADER = ["Respondent ID", "Submitted", "Organisation", "Role group", "Collaboration", "Wave"] + [
    f"{i}. question" for i in ITEMS
]


def row(rid, when="06/08/2024 09:00", org="R1H", answer="Agree", wave="1", answers=None):
    return [rid, when, org, "Clinical lead", "tiny", wave] + (answers or [answer] * len(ITEMS))


def text(rows, header=HEADER):
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerows([header, *rows])
    return buffer.getvalue()


def write(name, content, encoding="utf-8"):
    (HERE / name).write_bytes(content if isinstance(content, bytes) else content.encode(encoding))


def main():
    HERE.mkdir(parents=True, exist_ok=True)
    good = [row("c1"), row("c2", org="RF4", answer="strongly agree ")]
    write("utf8.csv", text(good))
    write("utf8_bom.csv", text(good), "utf-8-sig")
    write("windows_1252.csv", text([row("w1", answer="Don\u2019t know"), row("w2", answer="Agree")]), "cp1252")
    write(
        "duplicates.csv",
        text(
            [
                row("d1", "06/08/2024 09:00", answer="Agree"),
                row("d1", "07/08/2024 09:00", answer="Disagree"),
                row("d1", "05/08/2024 09:00"),
                row("d2"),
            ]
        ),
    )
    write(
        "unknown_organisation.csv",
        text([row("u1", org="St Elsewhere Hospital"), row("u2", org="Barts Health NHS Trust"), row("u3", org="")]),
    )
    write(
        "unrecognised_instrument.csv", text([["x", "06/08/2024", "R1H", "Agree"]], header=["ID", "Date", "Org", "Q1"])
    )
    write("empty.csv", b"")
    write("header_only.csv", text([]))
    write("truncated_last_line.csv", text([row("t1"), row("t2")]) + "t3,06/08/2024 09:00,R1H,Clin")
    write(
        "out_of_range_answers.csv",
        text([row("o1", answers=["7", "0", "-1", "4.5"] + ["Agree"] * (len(ITEMS) - 4)), row("o2")]),
    )
    write("blank_rows.csv", text([row("b1"), [], [""] * len(HEADER), row("b2"), ["  "]]))
    write(
        "bad_dates.csv",
        text(
            [
                row("bd1", when="2024-13-45"),
                row("bd2", when="31/02/2024"),
                row("bd3", when="08/31/2024"),
                row("bd4", when="6/8/2024 9:05"),
            ]
        ),
    )
    write("missing_respondent_id.csv", text([row(""), row("   "), row("m3")]))
    write("extra_fields.csv", text([[*row("e1"), "stray value"], [*row("e2"), "", ""]]))
    write("binary_not_csv.csv", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01")
    write("unknown_columns.csv", text([[*row("k1"), "x", "y"]], header=[*HEADER, "Department", "Any other comments"]))
    write("bad_wave.csv", text([row("v1", wave="first"), row("v2", wave="Wave 1"), row("v3", wave="")]))
    header = [h.upper() + "  " if i < 6 else h for i, h in enumerate(HEADER)]
    write("messy_headers.csv", text([row("h1")], header=header))
    write("csv_named_xlsx.xlsx", text(good))
    # A stray quote opens a cell that swallows the next rows, closed by another stray quote.
    swallow = text([row("q1"), row("q2", org='R1H "main site'), row("q3"), row("q4"), row("q5", org='RF4"'), row("q6")])
    write("stray_quote.csv", swallow.replace('"R1H ""main site"', '"R1H main site').replace('"RF4"""', 'RF4"'))
    write("unclosed_quote.csv", text([row("u1"), row("u2")]) + 'u3,06/08/2024 09:00,"R1H,Clinical lead\r\n')
    write(
        "two_digit_and_impossible_years.csv",
        text([row("y1", when="06/08/24 09:15"), row("y2", when="06/08/9999 09:15"), row("y3", when="06/08/1899")]),
    )
    shifted = [
        row("s1"),
        ["s2", "alice.smith@nhs.net", "my line manager bullies me", "Clinical lead", "tiny", "wave one"]
        + ["Agree"] * len(ITEMS),
    ]
    write("shifted_personal_data.csv", text(shifted))

    book = Workbook()
    sheet = book.active
    sheet.append(HEADER)
    import datetime as dt

    sheet.append(["x1", dt.datetime(2024, 8, 6, 9, 15), "R1H", "Clinical lead", "tiny", 1] + [4] * len(ITEMS))
    sheet.append([None] * len(HEADER))
    sheet.append(["x2", "07/08/2024 10:00", "rf4", "Frontline staff", "tiny", "1"] + ["Agree"] * len(ITEMS))
    book.save(HERE / "export.xlsx")
    deterministic_xlsx(HERE / "export.xlsx")


# --- The hostile corpus (issue 21) ----------------------------------------------------------
HOSTILE = Path(__file__).resolve().parent / "hostile"
HOSTILE_CONFIG = Path(__file__).resolve().parent / "hostile_config"
#: Planted personal data and secrets: the tests scan every output for each of these.
PLANTED_EMAIL = "planted.person@example.nhs.uk"
PLANTED_NHS_NUMBER = "943 476 5919"
PLANTED_NHS_COMPACT = "9434765919"
PLANTED_TEXT = "PLANTED-FREE-TEXT-7d1c"
PLANTED = (PLANTED_EMAIL, PLANTED_NHS_NUMBER, PLANTED_NHS_COMPACT, PLANTED_TEXT)
COMMENT = "Any other comments"
FIXED_TIME = (2024, 8, 6, 9, 0, 0)


def hrow(rid, when="06/08/2024 09:00", org="R1H", answer="Agree", wave="1", collab="tiny", answers=None, comment=""):
    return [rid, when, org, "Clinical lead", collab, wave] + (answers or [answer] * len(ITEMS)) + [comment]


def htext(rows, header=None, delimiter=",", terminator="\r\n"):
    buffer = io.StringIO()
    csv.writer(buffer, delimiter=delimiter, lineterminator=terminator).writerows([header or [*HEADER, COMMENT], *rows])
    return buffer.getvalue()


def hwrite(name, content, encoding="utf-8"):
    (HOSTILE / name).write_bytes(content if isinstance(content, bytes) else content.encode(encoding))


def answers_with(**cells):
    """All "Agree", with some items given other answers: answers_with(SP1="x")."""
    return [cells.get(item, "Agree") for item in ITEMS]


def deterministic_xlsx(path: Path) -> None:
    """Rewrite an openpyxl workbook with fixed timestamps, so the corpus is byte-stable."""
    import re
    import zipfile

    entries = []
    with zipfile.ZipFile(path) as archive:
        for info in archive.infolist():
            data = archive.read(info.filename)
            if info.filename == "docProps/core.xml":
                data = re.sub(rb"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z", b"2024-08-06T09:00:00Z", data)
            entries.append((info.filename, data))
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in entries:
            info = zipfile.ZipInfo(name, date_time=FIXED_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, data)


def workbook(name, sheets):
    """An XLSX with one sheet per (title, rows) pair; a sheet with no rows is left empty."""
    book = Workbook()
    book.remove(book.active)
    for title, rows in sheets:
        sheet = book.create_sheet(title)
        for values in rows:
            sheet.append(values)
    book.save(HOSTILE / name)
    deterministic_xlsx(HOSTILE / name)


def main_hostile():
    HOSTILE.mkdir(parents=True, exist_ok=True)
    header = [*HEADER, COMMENT]
    good = [hrow("h1"), hrow("h2", org="RF4", answer="Strongly agree")]

    # High 1: personal data typed into columns whose cells could reach a reason.
    hwrite(
        "collaboration_email.csv",
        htext([hrow("a1"), hrow("a2", collab=PLANTED_EMAIL), hrow("a3", collab=PLANTED_NHS_NUMBER)]),
    )
    hwrite(
        "wave_nhs_number.csv",
        htext([hrow("b1"), hrow("b2", wave=PLANTED_NHS_NUMBER), hrow("b3", wave=PLANTED_NHS_COMPACT)]),
    )
    hwrite(
        "organisation_email.csv", htext([hrow("c1"), hrow("c2", org=PLANTED_EMAIL), hrow("c3", org=PLANTED_NHS_NUMBER)])
    )
    hwrite(
        "answer_personal_data.csv", htext([hrow("d1", answers=answers_with(SP1=PLANTED_EMAIL, TR2=PLANTED_NHS_NUMBER))])
    )
    hwrite("undeclared_wave.csv", htext([hrow("e1"), hrow("e2", wave="7")]))
    hwrite("respondent_id_personal.csv", htext([hrow(PLANTED_EMAIL), hrow(PLANTED_NHS_NUMBER, org="RF4")]))

    # High 2: answers (and other cells) in digits that are not ASCII.
    hwrite("ethiopic_digits.csv", htext([hrow("f1", answers=answers_with(SP1="\u1369", SP2="\u136b")), hrow("f2")]))
    hwrite(
        "circled_and_other_digits.csv",
        htext(
            [
                hrow("g1", answers=answers_with(SP1="\u24f5", CV1="\u0663", TR1="\u0e52", AH1="\U0001d7d0")),
                hrow("g2", answers=answers_with(SP1="\u2460", CV1="\uff14")),  # circled 1 and fullwidth 4: NFKC digits
            ]
        ),
    )
    hwrite(
        "digits_in_wave_and_date.csv",
        htext(
            [
                hrow("h1", wave="\u1369"),
                hrow("h2", when="\u0660\u0666/\u0660\u0668/\u0662\u0660\u0662\u0664"),
                hrow("h3"),
            ]
        ),
    )

    # Free text: any size, any bytes; UTF-16; a real multi-line comment.
    hwrite("comment_200k.csv", htext([hrow("i1", comment=PLANTED_TEXT + " " + "lorem ipsum, " * 16_000), hrow("i2")]))
    hwrite("comment_nul_byte.csv", htext([hrow("j1", comment=f"before\x00after {PLANTED_TEXT}"), hrow("j2")]))
    hwrite("comment_control_bytes.csv", htext([hrow("k1", comment="\x1b[2J\x07\x08" + PLANTED_TEXT), hrow("k2")]))
    hwrite("nul_in_organisation.csv", htext([hrow("l1", org="R1H\x00"), hrow("l2")]))
    hwrite("excel_unicode_text.txt", codecs.BOM_UTF16_LE + htext(good, delimiter="\t").encode("utf-16-le"))
    hwrite("utf16_be_with_mark.csv", codecs.BOM_UTF16_BE + htext(good).encode("utf-16-be"))
    hwrite("utf16_le_without_mark.csv", htext(good).encode("utf-16-le"))
    hwrite("utf16_truncated.csv", (codecs.BOM_UTF16_LE + htext(good).encode("utf-16-le"))[:-1])
    real_comment = (
        "We agree on the aims, mostly, but the board, the ICB, two trusts, and the council\n"
        "still argue about money, risk, data, staffing, estates, IT, and who leads, which, frankly, slows us"
    )
    hwrite("multiline_comment_with_commas.csv", htext([hrow("m1", comment=real_comment), hrow("m2")]))
    # A stray quote opening the comment swallows the next rows until another quote closes it.
    swallow = htext([hrow("n1"), hrow("n2", comment="QUOTEOPEN"), hrow("n3"), hrow("n4", comment="CLOSE"), hrow("n5")])
    swallow = swallow.replace("QUOTEOPEN", '"it was, ').replace(",CLOSE", ',said"')
    hwrite("stray_quote_in_comment.csv", swallow)

    # Dates: fieldwork window, month-first files, a mistyped year.
    hwrite("future_date.csv", htext([hrow("o1"), hrow("o2", when="06/08/2031 09:00")]))
    hwrite(
        "us_dates.csv",
        htext(
            [hrow("p1", when="08/06/2024 09:00"), hrow("p2", when="08/15/2024 10:30"), hrow("p3", when="08/29/2024")]
        ),
    )
    hwrite(
        "day_first_dates.csv",
        htext(
            [hrow("q1", when="06/08/2024 09:00"), hrow("q2", when="15/08/2024 10:30"), hrow("q3", when="08/29/2024")]
        ),
    )
    hwrite(
        "outside_fieldwork.csv",
        htext(
            [
                hrow("r1", when="01/07/2024 09:00"),  # a month early
                hrow("r2", when="29/07/2024 09:00"),  # 7 days before the start: within tolerance
                hrow("r3", when="06/09/2024 09:00"),  # 7 days after the end: within tolerance
                hrow("r4", when="2024-10-01 09:00"),  # a month late
                hrow("r5", when="2024-08-20T12:00:00"),
            ]
        ),
    )
    hwrite(
        "mistyped_future_resubmission.csv",
        htext(
            [hrow("s1", when="10/08/2024 09:00", answer="Disagree"), hrow("s1", when="11/08/2031 09:00"), hrow("s2")]
        ),
    )

    # Identifiers typed two ways.
    nfc, nfd = "zo\u00eb.brown@example.org", "zoe\u0308.brown@example.org"
    hwrite(
        "identifiers_two_spellings.csv",
        htext(
            [
                hrow(nfc, when="06/08/2024 09:00"),
                hrow(nfd, when="07/08/2024 09:00"),
                hrow(PLANTED_NHS_NUMBER, when="06/08/2024 09:00", org="RF4"),
                hrow(PLANTED_NHS_COMPACT, when="08/08/2024 09:00", org="RF4"),
                hrow("  Mixed.Case@Example.org ", when="06/08/2024 09:00"),
                hrow("mixed.case@example.org", when="09/08/2024 09:00"),
            ]
        ),
    )

    # Low: layouts that need a helpful rejection or a correct load.
    title = ["Collaboration diagnostic export - August 2024"] + [""] * (len(header) - 1)
    hwrite("merged_title_row.csv", htext([header, *good], header=title))
    workbook("merged_title_row.xlsx", [("Export", [title[:1], [], header, *good])])
    workbook("data_on_second_sheet.xlsx", [("Cover", []), ("Responses", [header, *good])])
    workbook("data_on_two_other_sheets.xlsx", [("Cover", []), ("Wave 1", [header, *good]), ("Wave 2", [header, *good])])
    workbook("workbook.xlsx", [("Responses", [header, *good])])
    hwrite("semicolon_delimited.csv", htext(good, delimiter=";"))
    hwrite("tab_delimited.tsv", htext(good, delimiter="\t"))
    zero_width = [("\u200b" + h if i in (0, 7) else h) for i, h in enumerate(header)]
    zero_width[2] = "Organi\u200bsation\ufeff"
    hwrite("zero_width_space_in_headers.csv", htext(good, header=zero_width))
    doubled = [*header[:7], header[6], *header[7:]]
    hwrite("duplicated_item_column.csv", htext([[*r[:7], "Disagree", *r[7:]] for r in good], header=doubled))
    hwrite("duplicated_respondent_column.csv", htext([[*r, r[0]] for r in good], header=[*header, "Respondent ID"]))
    hwrite("mixed_line_endings.csv", htext([hrow("t1")]) + htext([hrow("t2")], terminator="\n").split("\n", 1)[1])
    hwrite("bom_only.csv", codecs.BOM_UTF8)

    # Files that are not exports at all.
    hwrite("legacy_workbook.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 504)
    hwrite("spreadsheet.ods", b"PK\x03\x04" + b"\x00" * 60)
    (HOSTILE / "xlsx_named_csv.csv").write_bytes((HOSTILE / "workbook.xlsx").read_bytes())
    hwrite("pdf_named_csv.csv", b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj << /Type /Catalog >> endobj\n")
    hwrite("notes.txt", "Notes for the analyst: the August export is in the other folder.\n")

    # Cells that are odd but must not break anything.
    hwrite("huge_answer_cell.csv", htext([hrow("u1", answers=answers_with(LD1="Agree " * 40_000)), hrow("u2")]))
    hwrite(
        "emoji_and_invisible_answers.csv",
        htext([hrow("v1", answers=answers_with(SP1="Agree \U0001f44d", SP2="\u200bAgree", CV1="\u202eeergA"))]),
    )
    hwrite("formula_cells.csv", htext([hrow('=HYPERLINK("http://x")', org="=1+1"), hrow("w2", org="@SUM(A1)")]))
    hwrite(
        "wave_overflow.csv",
        htext([hrow("x1", wave="99999999999"), hrow("x2", wave="Wave 1"), hrow("x3", wave="wave\u00a01")]),
    )

    HOSTILE_CONFIG.mkdir(parents=True, exist_ok=True)
    metric = (
        "metrics:\n  - id: m\n    name: M\n    domain: access\n    unit: count\n    polarity: neutral\n"
        '    description: d\n    sources:\n      ae_tidy:\n        numerator: "{}"\n'
    )
    (HOSTILE_CONFIG / "metrics_reads_a_file.yaml").write_text(
        metric.format("(select max(column_1) from read_csv('/etc/passwd'))")
    )
    (HOSTILE_CONFIG / "metrics_reads_a_url.yaml").write_text(
        metric.format("attendances + (select count(*) from read_csv('http://127.0.0.1:9/x.csv'))")
    )
    (HOSTILE_CONFIG / "metrics_calls_a_function.yaml").write_text(
        metric.format("getenv('COLLAB_HEALTH_PSEUDONYM_KEY')")
    )
    (HOSTILE_CONFIG / "collaborations_nested_deeply.yaml").write_text(
        "collaborations: " + "[" * 20_000 + "]" * 20_000 + "\n"
    )
    (HOSTILE_CONFIG / "sources_nested_deeply.yaml").write_text(
        "sources:\n" + "".join("  " * i + "a:\n" for i in range(1, 3000))
    )


if __name__ == "__main__":
    main()
    main_monthly_ae()
    main_hostile()
