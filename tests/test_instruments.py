"""Instrument codebooks as configuration: file-level fields (a constant, or from the file's
name), items on scales of their own, check bounds from the codebooks, and configuration
errors that name the file and the entry."""

from __future__ import annotations

import csv
from pathlib import Path

import polars as pl
import pytest
from conftest import CODEBOOK_DIR, TINY_COLLABORATIONS

from expectations.suites import codebook_parameters
from ingest.codebook import CodebookError, load_codebook, load_codebooks
from ingest.collaborations import CollaborationsError, check_instruments, load_collaborations
from ingest.diagnostic import codebook_tables, combine_exports, read_diagnostic_export
from ingest.files import InputFileError

pytestmark = pytest.mark.unit

KEY = b"test-key"

#: A small Likert survey as a real tool exports it: no organisation, collaboration or wave
#: column (one file per trust and wave, named for them), items on 3- and 5-level scales.
LIKERT = r"""
instrument_id: ward_likert
version: "1"
name: Ward partnership survey
scale:
  min: 1
  max: 5
  labels: {Strongly disagree: 1, Disagree: 2, Neutral: 3, Agree: 4, Strongly agree: 5}
  missing: [Not sure]
scales:
  three_point:
    min: 1
    max: 3
    labels: {No: 1, Partly: 2, Yes: 3}
fields:
  respondent_id: {header: ID}
  submitted_at: {header: Completed}
  organisation: {value: R1H}
  collaboration: {from_filename: '^(?P<value>[a-z_]+)_wave\d+'}
  wave: {from_filename: '_wave(?P<value>\d+)'}
characteristics:
  trust: {name: Trust}
items:
  - {id: T1, characteristic: trust, header: I trust partners}
  - {id: T2, characteristic: trust, header: Partners keep promises, scale: three_point}
  - {id: T3, characteristic: trust, header: Partners hide problems, scale: three_point, reverse: true}
"""


@pytest.fixture
def likert(tmp_path) -> Path:
    path = tmp_path / "instruments" / "ward_likert.yaml"
    path.parent.mkdir()
    path.write_text(LIKERT, encoding="utf-8")
    return path


def write_survey(path: Path, rows: list[list[str]]) -> Path:
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["ID", "Completed", "I trust partners", "Partners keep promises", "Partners hide problems"])
        writer.writerows(rows)
    return path


def test_file_level_fields_and_items_on_their_own_scales(tmp_path, likert):
    codebook = load_codebook(likert)
    path = write_survey(
        tmp_path / "tiny_wave2.csv",
        [
            ["a", "01/09/2024 10:00", "Agree", "Yes", "No"],
            ["b", "02/09/2024 10:00", "Strongly disagree", "Partly", "Yes"],
            ["c", "03/09/2024 10:00", "Not sure", "Strongly agree", "2"],  # a 5-level label on a 3-level item
        ],
    )
    result = read_diagnostic_export(path, [codebook], KEY)
    respondents = result.tables["diagnostic_respondents"]
    # Organisation a constant; collaboration and wave from the file's name.
    assert respondents.select("organisation_code", "collaboration_id", "wave").unique().rows() == [("R1H", "tiny", 2)]
    answers = {
        (r["source_row"], r["item_id"]): (r["answer_value"], r["score_value"])
        for r in result.tables["diagnostic_answers"].to_dicts()
    }
    # answer_value stays on the item's own scale; score_value is rescaled linearly onto the
    # codebook's 1-5 scale (1 -> 1, 2 -> 3, 3 -> 5), reversing a reverse-keyed item first.
    assert answers == {
        (2, "T1"): (4, 4.0),
        (2, "T2"): (3, 5.0),
        (2, "T3"): (1, 5.0),  # "No" to a negatively worded item: reversed to 3, i.e. 5
        (3, "T1"): (1, 1.0),
        (3, "T2"): (2, 3.0),
        (3, "T3"): (3, 1.0),
        (4, "T3"): (2, 3.0),  # a number on the item's own scale
    }
    # A 5-level label given to a 3-level item is not on that item's scale: a cell problem.
    cell = result.quarantine.filter(pl.col("scope") == "cell").select("source_row", "column_name", "reason").rows()
    assert cell == [(4, "Partners keep promises", "answer not on the ward_likert scale; treated as missing")]

    items = {
        r["item_id"]: (r["scale_min"], r["scale_max"])
        for r in codebook_tables([codebook])["instrument_items"].to_dicts()
    }
    assert items == {"T1": (1, 5), "T2": (1, 3), "T3": (1, 3)}

    with pytest.raises(InputFileError, match=r"survey.csv: the file name does not give the collaboration"):
        read_diagnostic_export(write_survey(tmp_path / "survey.csv", []), [codebook], KEY)


def test_check_bounds_come_from_the_codebooks(likert):
    # The shipped codebooks: answers and scores on 1-5 ...
    assert codebook_parameters(load_codebooks(CODEBOOK_DIR)) == {
        "answer_value_min": 1,
        "answer_value_max": 5,
        "score_value_min": 1,
        "score_value_max": 5,
    }
    # ... and an instrument with a 0-10 item widens the answer bounds by configuration alone.
    wide = load_codebook(likert).model_copy(deep=True)
    wide.scales["three_point"].min, wide.scales["three_point"].max = 0, 10
    assert codebook_parameters([wide])["answer_value_min"] == 0
    assert codebook_parameters([wide])["answer_value_max"] == 10
    assert codebook_parameters([wide])["score_value_max"] == 5


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            ("{Strongly disagree: 1, Disagree: 2,", "{Strongly disagree: 1, Disagree: 2, Disagree: 1,"),
            r"key 'Disagree' is written twice",
        ),
        (("scale: three_point}", "scale: four_point}"), r"items name scales not declared under scales: four_point"),
        (("  respondent_id: {header: ID}", "  respondent_id: {value: x}"), r"respondent_id must come from a column"),
        (("'^(?P<value>[a-z_]+)_wave\\d+'", "'^[a-z_]+_wave'"), r"needs a group named value"),
    ],
)
def test_codebook_errors_name_the_file_and_the_entry(likert, change, message):
    assert change[0] in LIKERT
    likert.write_text(LIKERT.replace(*change), encoding="utf-8")
    with pytest.raises(CodebookError, match=rf"ward_likert.yaml: .*{message}"):
        load_codebook(likert)


def test_instrument_references_must_name_a_codebook(tmp_path):
    path = tmp_path / "collaborations.yaml"
    path.write_text(TINY_COLLABORATIONS.replace("    instrument: collab_health_core\n", ""))
    with pytest.raises(
        CollaborationsError, match=r"collaborations.yaml: invalid .*collaborations\.0\.instrument: Field required"
    ):
        load_collaborations(path)
    path.write_text(TINY_COLLABORATIONS.replace("instrument: wilder_style_cfi", "instrument: wilder_styel_cfi"))
    with pytest.raises(
        CollaborationsError,
        match=r"collaborations.yaml: collaboration 'tiny_wilder': instrument 'wilder_styel_cfi' has no codebook",
    ):
        check_instruments(load_collaborations(path), {c.instrument_id for c in load_codebooks(CODEBOOK_DIR)}, path)


def test_an_export_of_another_instrument_than_declared_is_quarantined(tmp_path, likert):
    # The tiny collaboration declares collab_health_core; this file is the Likert survey.
    collaborations_path = tmp_path / "collaborations.yaml"
    collaborations_path.write_text(
        TINY_COLLABORATIONS.replace(
            "fieldwork_end: 2024-08-30}\n  - id: tiny_wilder",
            "fieldwork_end: 2024-08-30}\n      - {wave: 2, fieldwork_start: 2024-09-01, fieldwork_end: 2024-09-30}\n  - id: tiny_wilder",
        )
    )
    result = read_diagnostic_export(
        write_survey(tmp_path / "tiny_wave2.csv", [["a", "01/09/2024 10:00", "Agree", "Yes", "No"]]),
        [load_codebook(likert)],
        KEY,
    )
    tables, quarantine = combine_exports([result], load_collaborations(collaborations_path))
    assert tables["diagnostic_respondents"].height == 0 and tables["diagnostic_answers"].height == 0
    assert quarantine.select("source_row", "reason").rows() == [
        (
            2,
            "the export is instrument ward_likert but collaboration 'tiny' uses collab_health_core (config/collaborations.yaml)",
        )
    ]
