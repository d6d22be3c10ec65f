"""Writes the bad-input corpora (committed beside this script): diagnostic exports and
Monthly A&E files.

Run from the project root: `.venv/bin/python tests/bad_inputs/make_corpus.py`.
Every file is small and synthetic; what each must produce is in each folder's EXPECTED.yaml.
"""

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


if __name__ == "__main__":
    main()
    main_monthly_ae()
