"""Writes the diagnostic bad-input corpus (committed beside this script).

Run from the project root: `.venv/bin/python tests/bad_inputs/make_diagnostic_corpus.py`.
Every file is small and synthetic; what each must produce is in EXPECTED.yaml.
"""

import csv
import io
from pathlib import Path

from openpyxl import Workbook

HERE = Path(__file__).resolve().parent / "diagnostic"
ITEMS = ["SP1", "SP2", "CV1", "CV2", "TR1", "TR2", "AH1", "AH2", "RS1", "RS2", "SG1", "SG2", "LD1", "LD2", "CP1", "CP2", "UD1", "UD2"]
HEADER = ["Respondent ID", "Submitted", "Organisation", "Role group", "Collaboration", "Wave"] + [f"{i}. question" for i in ITEMS]


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
    write("duplicates.csv", text([row("d1", "06/08/2024 09:00", answer="Agree"), row("d1", "07/08/2024 09:00", answer="Disagree"), row("d1", "05/08/2024 09:00"), row("d2")]))
    write("unknown_organisation.csv", text([row("u1", org="St Elsewhere Hospital"), row("u2", org="Barts Health NHS Trust"), row("u3", org="")]))
    write("unrecognised_instrument.csv", text([["x", "06/08/2024", "R1H", "Agree"]], header=["ID", "Date", "Org", "Q1"]))
    write("empty.csv", b"")
    write("header_only.csv", text([]))
    write("truncated_last_line.csv", text([row("t1"), row("t2")]) + "t3,06/08/2024 09:00,R1H,Clin")
    write("out_of_range_answers.csv", text([row("o1", answers=["7", "0", "-1", "4.5"] + ["Agree"] * (len(ITEMS) - 4)), row("o2")]))
    write("blank_rows.csv", text([row("b1"), [], [""] * len(HEADER), row("b2"), ["  "]]))
    write("bad_dates.csv", text([row("bd1", when="2024-13-45"), row("bd2", when="31/02/2024"), row("bd3", when="08/31/2024"), row("bd4", when="6/8/2024 9:05")]))
    write("missing_respondent_id.csv", text([row(""), row("   "), row("m3")]))
    write("extra_fields.csv", text([row("e1") + ["stray value"], row("e2") + ["", ""]]))
    write("binary_not_csv.csv", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01")
    write("unknown_columns.csv", text([row("k1") + ["x", "y"]], header=HEADER + ["Department", "Any other comments"]))
    write("bad_wave.csv", text([row("v1", wave="first"), row("v2", wave="Wave 1"), row("v3", wave="")]))
    header = [h.upper() + "  " if i < 6 else h for i, h in enumerate(HEADER)]
    write("messy_headers.csv", text([row("h1")], header=header))
    write("csv_named_xlsx.xlsx", text(good))
    # A stray quote opens a cell that swallows the next rows, closed by another stray quote.
    swallow = text([row("q1"), row("q2", org='R1H "main site'), row("q3"), row("q4"), row("q5", org='RF4"'), row("q6")])
    write("stray_quote.csv", swallow.replace('"R1H ""main site"', '"R1H main site').replace('"RF4"""', 'RF4"'))
    write("unclosed_quote.csv", text([row("u1"), row("u2")]) + 'u3,06/08/2024 09:00,"R1H,Clinical lead\r\n')
    write("two_digit_and_impossible_years.csv", text([row("y1", when="06/08/24 09:15"), row("y2", when="06/08/9999 09:15"), row("y3", when="06/08/1899")]))
    shifted = [row("s1"), ["s2", "alice.smith@nhs.net", "my line manager bullies me", "Clinical lead", "tiny", "wave one"] + ["Agree"] * len(ITEMS)]
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
