"""Partner ratings (issue 20): the codebook's partner section, wide and long exports, and
how the files combine. Every expected rating and reason is worked from the small files
written here.

The collaboration `net` has three members all along, R1H, RF4 and RQX, and RAL until
31 July 2024, before wave 1's fieldwork (5-30 August 2024): RAL is no partner in wave 1.
"""

from __future__ import annotations

import csv
from pathlib import Path

import polars as pl
import pytest
from conftest import CODEBOOK_DIR, SAMPLE_ODS

from ingest.codebook import CodebookError, load_codebook, load_codebooks
from ingest.collaborations import CollaborationsFile
from ingest.diagnostic import combine_exports, read_diagnostic_export
from ingest.files import InputFileError
from ingest.organisations import OrganisationMatcher, read_organisations
from ingest.partner_ratings import TABLE, partner_items_table

pytestmark = pytest.mark.unit

KEY = b"test-key"
COLLABORATIONS = CollaborationsFile.model_validate(
    {
        "collaborations": [
            {
                "id": "net",
                "name": "Network test",
                "icb": "QMF",
                "purpose": "Test partner ratings by hand.",
                "instrument": "collab_health_core",
                "members": [
                    {"org": "R1H", "joined": "2023-04-01"},
                    {"org": "RF4", "joined": "2023-04-01"},
                    {"org": "RQX", "joined": "2023-04-01"},
                    {"org": "RAL", "joined": "2023-04-01", "left": "2024-07-31"},
                ],
                "waves": [{"wave": 1, "fieldwork_start": "2024-08-05", "fieldwork_end": "2024-08-30"}],
            }
        ]
    }
)
FIELDS = ["Respondent ID", "Submitted", "Organisation", "Role group", "Collaboration", "Wave"]
PARTNER_ITEMS = ["PC", "PT1", "PT2", "PT3", "PV1", "PV2", "PV3"]


@pytest.fixture(scope="module")
def codebooks():
    return load_codebooks(CODEBOOK_DIR)


@pytest.fixture(scope="module")
def organisations():
    return OrganisationMatcher(read_organisations(SAMPLE_ODS))


def write_csv(path: Path, headers: list[str], rows: list[list[str]]) -> Path:
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(headers)
        writer.writerows(rows)
    return path


def wide_export(path: Path, partners: list[str], rows: list[tuple[str, str, str, dict[str, list[str]]]]) -> Path:
    """A core export with the 18 items blank but SP1 ("Agree"), and the 7 partner items about
    each of `partners` (as the header names them: a code or a name). Each row: respondent,
    submitted, organisation, {partner as named: 7 answers}."""
    codebook = load_codebook(CODEBOOK_DIR / "collab_health_core.yaml")
    headers = FIELDS + [f"{item.id}. {item.text}" for item in codebook.items]
    texts = {item.id: item.text for item in codebook.partners.items}
    headers += [f"{item}. {texts[item]} [{partner}]" for partner in partners for item in PARTNER_ITEMS]
    records = []
    for respondent, submitted, organisation, answers in rows:
        record = [respondent, submitted, organisation, "Clinical lead", "net", "1", "Agree"] + [""] * 17
        for partner in partners:
            record += answers.get(partner, [""] * 7)
        records.append(record)
    return write_csv(path, headers, records)


LONG_HEADERS = [
    *FIELDS,
    "Partner",
    "PC. How closely",
    "PT1. Reliable",
    "PT2. Shares our purpose",
    "PT3. Open",
    "PV1. Resources",
    "PV2. Influence",
    "PV3. Involved",
]


def long_row(respondent: str, submitted: str, organisation: str, partner: str, answers: list[str]) -> list[str]:
    return [respondent, submitted, organisation, "Analyst or planner", "net", "1", partner, *answers]


def ratings_of(frame: pl.DataFrame) -> dict[tuple, int]:
    """(source_row, organisation, partner, item) -> answer."""
    return {
        (r["source_row"], r["organisation_code"], r["partner_code"], r["item_id"]): r["answer_value"]
        for r in frame.to_dicts()
    }


def test_the_core_codebook_declares_partner_items_on_their_scales(codebooks):
    core = next(c for c in codebooks if c.instrument_id == "collab_health_core")
    items = partner_items_table(codebooks)
    assert items.select("item_id", "dimension", "scale_min", "scale_max", "high_from").rows() == [
        ("PC", "closeness", 0, 4, None),
        ("PT1", "trust", 1, 4, 3.0),
        ("PT2", "trust", 1, 4, 3.0),
        ("PT3", "trust", 1, 4, 3.0),
        ("PV1", "value", 1, 4, 3.0),
        ("PV2", "value", 1, 4, 3.0),
        ("PV3", "value", 1, 4, 3.0),
    ]
    labels = core.partners.closeness_scale.label_values()
    assert [labels[k] for k in ("none", "awareness", "cooperation", "coordination", "integration")] == [0, 1, 2, 3, 4]
    # The Wilder-style inventory has no partner section: its exports are read as before.
    assert [c.partners for c in codebooks if c.instrument_id == "wilder_style_cfi"] == [None]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (("'^PT1\\b.*\\[(?P<partner>[^\\]]+)\\]\\s*$'", "'^PT1\\b'"), r"needs a group named partner"),
        (("    min: 0\n    max: 4\n", "    min: 0\n    max: 5\n"), r"closeness_scale must run 0 to 4"),
        (("    - id: PV3\n", "    - id: SP1\n"), r"partner item ids also used by items: SP1"),
        (("      dimension: value\n", "      dimension: closeness\n"), r"exactly one closeness item"),
        (("high_from: 3", "high_from: 7"), r"high_from 7.0 is outside the scale 1..4"),
    ],
)
def test_partner_section_errors_name_file_and_problem(tmp_path, change, message):
    text = (CODEBOOK_DIR / "collab_health_core.yaml").read_text(encoding="utf-8")
    assert change[0] in text, change[0]
    path = tmp_path / "broken.yaml"
    path.write_text(text.replace(change[0], change[1], 1), encoding="utf-8")
    with pytest.raises(CodebookError, match=rf"broken.yaml: invalid codebook: .*{message}"):
        load_codebook(path)


def test_wide_export_one_column_per_partner_and_item(tmp_path, codebooks, organisations):
    """Partners named by ODS code (RF4), by name in another case (Barts Health for R1H), one
    no organisation has (Not A Trust) and one that left before the wave (RAL).

    Row 2, a0 at R1H: rates RF4 (closeness "Coordination" 3, trust 4 4 3, value 3 2 2) and
    its own organisation (ignored), RAL (a non-member: quarantined), and Not A Trust
    (quarantined: no such organisation). Row 3, a1 at RF4: superseded by row 4, with its
    ratings. Row 4, a1 at RF4 later: rates R1H "cooperative" (2), "Don't know" on PT1
    (missing), "agree " (3) and "7" on PT3 (not on the 1-4 scale: a cell quarantined)."""
    partners = ["RF4", "BARTS HEALTH NHS TRUST", "RAL", "Not A Trust"]
    rows = [
        (
            "a0",
            "06/08/2024 09:00",
            "R1H",
            {
                "RF4": ["Coordination", "Strongly agree", "strongly agree", "Agree", "3", "Disagree", "2"],
                "BARTS HEALTH NHS TRUST": ["Integration", "4", "4", "4", "4", "4", "4"],
                "RAL": ["Awareness", "", "", "", "", "", ""],
                "Not A Trust": ["None", "", "", "", "", "", ""],
            },
        ),
        ("a1", "07/08/2024 10:00", "RF4", {"BARTS HEALTH NHS TRUST": ["Awareness", "Disagree", "", "", "", "", ""]}),
        (
            "a1",
            "08/08/2024 10:00",
            "RF4",
            {"BARTS HEALTH NHS TRUST": ["cooperative", "Don't know", "agree ", "7", "", "", ""]},
        ),
    ]
    path = wide_export(tmp_path / "net_wave1.csv", partners, rows)
    result = read_diagnostic_export(path, codebooks, KEY, organisations, COLLABORATIONS)
    # The reader keeps both of a1's submissions; combine_exports keeps the latest.
    assert result.rows_read == 3 and result.tables["diagnostic_respondents"].height == 3
    # Partner columns are read, not "ignored"; the blank core items are.
    assert not any("[" in header for header in result.ignored_columns)

    tables, quarantine = combine_exports([result], COLLABORATIONS)
    ratings = tables[TABLE]
    assert ratings_of(ratings) == {
        (2, "R1H", "RF4", "PC"): 3,
        (2, "R1H", "RF4", "PT1"): 4,
        (2, "R1H", "RF4", "PT2"): 4,
        (2, "R1H", "RF4", "PT3"): 3,
        (2, "R1H", "RF4", "PV1"): 3,
        (2, "R1H", "RF4", "PV2"): 2,
        (2, "R1H", "RF4", "PV3"): 2,
        (4, "RF4", "R1H", "PC"): 2,
        (4, "RF4", "R1H", "PT2"): 3,
    }
    assert set(ratings["dimension"]) == {"closeness", "trust", "value"}
    assert set(ratings["layout"]) == {"wide"}
    cells = sorted(quarantine.filter(pl.col("scope") == "cell").select("source_row", "column_name", "reason").rows())
    assert cells == [
        (
            2,
            "PC. How closely does your organisation work with this partner? [Not A Trust]",
            "partner is neither an ODS code nor the name of exactly one organisation in the reference (in the column header)",
        ),
        (
            2,
            "PC. How closely does your organisation work with this partner? [RAL]",
            "partner is not a member of 'net' during wave 1 fieldwork",
        ),
        (
            4,
            "PT3. This partner is open to discussing difficult issues with us. [BARTS HEALTH NHS TRUST]",
            "answer not on the partner rating scale; treated as missing",
        ),
    ]
    rows_out = quarantine.filter(pl.col("scope") == "row").select("source_row", "reason").rows()
    assert rows_out == [(3, "superseded by a later submission from the same respondent (net_wave1.csv row 4)")]
    assert tables["diagnostic_respondents"].height == 2
    # Reasons and the quarantine never carry a cell's content.
    assert quarantine["value"].null_count() == quarantine.height


def test_a_partner_column_twice_is_a_file_error(tmp_path, codebooks, organisations):
    path = wide_export(tmp_path / "twice.csv", ["RF4", "rf4"], [("a0", "06/08/2024 09:00", "R1H", {})])
    with pytest.raises(
        InputFileError, match=r"twice.csv: partner item PC about RF4 appears more than once, in columns 25"
    ):
        read_diagnostic_export(path, codebooks, KEY, organisations, COLLABORATIONS)


def test_long_export_every_row_ends_rated_or_quarantined(tmp_path, codebooks, organisations):
    """Ten data rows (rows 2-11):
    2  b0 at RF4 rates R1H: Integration, trust 4 3 3, value 2 2 (PV3 N/A)   -> 6 ratings
    3  b0 at RF4 rates RF4 (its own)                                         -> quarantined
    4  blank                                                                 -> quarantined
    5  b1 at RQX rates "Barts Health NHS Trust" (R1H by name), only PC "1"   -> 1 rating
    6  b1 at RQX rates Nowhere Trust                                         -> quarantined (no such partner)
    7  b2 at RQX rates R1H with every answer "Don't know"                    -> quarantined (no rating)
    8  b3 at R1H rates RAL (not a member in wave 1)                          -> quarantined (combine)
    9  b4 at R1H rates RQX, PC "Cooperation", PT1 "Very much" (off scale)    -> 1 rating, 1 cell
    10 b4 at R1H rates RQX again, earlier                                    -> superseded by row 9
    11 b5 at RAL (no member in wave 1) rates R1H                             -> quarantined (combine)"""
    rows = [
        long_row("b0", "06/08/2024 09:00", "RF4", "R1H", ["Integration", "4", "3", "Agree", "Disagree", "2", "N/A"]),
        long_row("b0", "06/08/2024 09:00", "RF4", "RF4", ["Integration", "4", "4", "4", "4", "4", "4"]),
        [""] * len(LONG_HEADERS),
        long_row("b1", "07/08/2024 09:00", "RQX", "Barts Health NHS Trust", ["1", "", "", "", "", "", ""]),
        long_row("b1", "07/08/2024 09:00", "RQX", "Nowhere Trust", ["2", "", "", "", "", "", ""]),
        long_row("b2", "07/08/2024 11:00", "RQX", "R1H", ["Don't know"] * 7),
        long_row("b3", "08/08/2024 09:00", "R1H", "RAL", ["Coordination", "3", "3", "3", "3", "3", "3"]),
        long_row("b4", "09/08/2024 12:00", "R1H", "RQX", ["Cooperation", "Very much", "", "", "", "", ""]),
        long_row("b4", "09/08/2024 08:00", "R1H", "RQX", ["None", "1", "1", "1", "1", "1", "1"]),
        long_row("b5", "09/08/2024 08:00", "RAL", "R1H", ["None", "1", "1", "1", "1", "1", "1"]),
    ]
    path = write_csv(tmp_path / "net_wave1_partners.csv", LONG_HEADERS, rows)
    result = read_diagnostic_export(path, codebooks, KEY, organisations, COLLABORATIONS)
    assert result.rows_read == 10
    assert result.tables["diagnostic_respondents"].is_empty()
    assert result.tables["raw.diagnostic_rows"].height == 10

    tables, quarantine = combine_exports([result], COLLABORATIONS)
    ratings = tables[TABLE]
    assert ratings_of(ratings) == {
        (2, "RF4", "R1H", "PC"): 4,
        (2, "RF4", "R1H", "PT1"): 4,
        (2, "RF4", "R1H", "PT2"): 3,
        (2, "RF4", "R1H", "PT3"): 3,
        (2, "RF4", "R1H", "PV1"): 2,
        (2, "RF4", "R1H", "PV2"): 2,
        (5, "RQX", "R1H", "PC"): 1,
        (9, "R1H", "RQX", "PC"): 2,
    }
    assert set(ratings["layout"]) == {"long"}
    row_reasons = dict(quarantine.filter(pl.col("scope") == "row").select("source_row", "reason").rows())
    assert row_reasons == {
        3: "rates the respondent's own organisation: ignored",
        4: "blank row",
        6: "partner is neither an ODS code nor the name of exactly one organisation in the reference",
        7: "no rating on the partner scales (blank, don't know or not on the scale)",
        8: "partner is not a member of 'net' during wave 1 fieldwork",
        10: "superseded by a later rating of the same partner by the same respondent (row 9)",
        11: "organisation is not a member of 'net' during wave 1 fieldwork",
    }
    cells = quarantine.filter(pl.col("scope") == "cell").select("source_row", "column_name", "reason").rows()
    assert cells == [(9, "PT1. Reliable", "answer not on the partner rating scale; treated as missing")]
    # Nothing lost: every row read is rated or quarantined whole, never both.
    clean_rows = set(ratings["source_row"])
    assert clean_rows | set(row_reasons) == set(range(2, 12)) and not clean_rows & set(row_reasons)
    assert quarantine["value"].null_count() == quarantine.height


def test_a_long_file_beside_the_export_keeps_each_respondents_latest_rating(tmp_path, codebooks, organisations):
    """c0 at R1H rates RF4 in the export on 6 August (closeness 3) and again in a long file
    on 9 August (closeness 1; the id typed "C0": the same person): the long row wins, and
    the export's cells about RF4 are quarantined (scope cell: the respondent's other answers
    stand). c1's rating of RQX is only in the export and stands."""
    export = wide_export(
        tmp_path / "net_wave1.csv",
        ["RF4", "RQX"],
        [
            ("c0", "06/08/2024 09:00", "R1H", {"RF4": ["Coordination", "", "", "", "", "", ""]}),
            ("c1", "06/08/2024 10:00", "RF4", {"RQX": ["Integration", "", "", "", "", "", ""]}),
        ],
    )
    partners = write_csv(
        tmp_path / "net_wave1_partners.csv",
        LONG_HEADERS,
        [long_row("C0", "09/08/2024 09:00", "R1H", "RF4", ["Awareness", "", "", "", "", "", ""])],
    )
    results = [read_diagnostic_export(p, codebooks, KEY, organisations, COLLABORATIONS) for p in (export, partners)]
    tables, quarantine = combine_exports(results, COLLABORATIONS)
    closeness = tables[TABLE].select("source_file", "organisation_code", "partner_code", "answer_value").rows()
    assert closeness == [
        ("net_wave1.csv", "RF4", "RQX", 4),
        ("net_wave1_partners.csv", "R1H", "RF4", 1),
    ]
    superseded = quarantine.filter(pl.col("reason").str.starts_with("superseded")).rows(named=True)
    assert [(r["source_file"], r["source_row"], r["scope"], r["reason"]) for r in superseded] == [
        (
            "net_wave1.csv",
            2,
            "cell",
            "superseded by a later rating of the same partner by the same respondent (net_wave1_partners.csv row 2)",
        )
    ]
    assert tables["diagnostic_respondents"].height == 2  # c0's export row stands


def test_an_export_without_partner_columns_reads_as_before(tmp_path, codebooks):
    from conftest import write_tiny_export

    path = tmp_path / "tiny_wave1.csv"
    write_tiny_export(path)
    result = read_diagnostic_export(path, codebooks, KEY)
    assert result.tables[TABLE].is_empty()
    tables, _ = combine_exports([result])
    assert tables[TABLE].is_empty()
    assert tables["diagnostic_respondents"].height == 5  # one of six rows superseded
