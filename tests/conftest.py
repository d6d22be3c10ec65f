"""Shared fixtures: a tiny, hand-checkable project laid out in a temporary folder.

The tiny diagnostic export and A&E files are written here, in the tests, so every number
the job tests assert can be checked by hand against them (see test_nightly_job.py).
All respondents are invented; the trust codes are real, the A&E counts are not.
"""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import pytest

PROJECT_ROOT = Path(__file__).resolve().parent.parent
SAMPLE_AE = PROJECT_ROOT / "sample_data" / "nhs" / "monthly_ae"
SAMPLE_ODS = PROJECT_ROOT / "sample_data" / "reference" / "organisations"
CODEBOOK_DIR = PROJECT_ROOT / "config" / "instruments"
LAYOUTS_DIR = PROJECT_ROOT / "config" / "layouts"

AE_HEADER = (
    "Period,Org Code,Parent Org,Org name,A&E attendances Type 1,A&E attendances Type 2,"
    "A&E attendances Other A&E Department,A&E attendances Booked Appointments Type 1,"
    "A&E attendances Booked Appointments Type 2,A&E attendances Booked Appointments Other Department,"
    "Attendances over 4hrs Type 1,Attendances over 4hrs Type 2,Attendances over 4hrs Other Department,"
    "Attendances over 4hrs Booked Appointments Type 1,Attendances over 4hrs Booked Appointments Type 2,"
    "Attendances over 4hrs Booked Appointments Other Department,"
    "Patients who have waited 4-12 hs from DTA to admission,"
    "Patients who have waited 12+ hrs from DTA to admission,Emergency admissions via A&E - Type 1,"
    "Emergency admissions via A&E - Type 2,Emergency admissions via A&E - Other A&E department,"
    "Other emergency admissions"
)

TINY_COLLABORATIONS = """\
collaborations:
  - id: tiny
    name: Tiny test collaboration
    icb: QMF
    instrument: collab_health_core
    purpose: Test the arithmetic by hand.
    targets:
      - {metric: ae_4h_all, direction: increase, value: 0.75}
    members:
      - {org: R1H, joined: 2023-04-01}
      - {org: RF4, joined: 2023-04-01}
    waves:
      - {wave: 1, fieldwork_start: 2024-08-05, fieldwork_end: 2024-08-30}
  - id: tiny_wilder
    name: Tiny collaboration on the Wilder-style instrument
    icb: QMF
    purpose: Show that a second instrument runs end to end from its YAML alone.
    instrument: wilder_style_cfi
    members:
      - {org: R1H, joined: 2023-04-01}
      - {org: RQX, joined: 2023-04-01}
    waves:
      - {wave: 1, fieldwork_start: 2024-08-05, fieldwork_end: 2024-08-30}
"""

#: The pseudonymisation key of the tiny project: a secret that must appear nowhere.
TINY_KEY = "tiny-project-secret-key-3f9a"
#: Secrets the marts must never contain: a respondent id and a free-text comment.
RESPONDENT_ID_SAMPLE = "alice.smith@example.nhs.uk"
FREE_TEXT_SAMPLE = "free text that must never be stored"


def ae_row(month: str, org: str, attendances_type1: int, over_4h_type1: int) -> str:
    counts = [attendances_type1, 0, 0, 0, 0, 0, over_4h_type1] + [0] * 11
    return f"MSitAE-{month}-2024,{org},NHS ENGLAND LONDON ,TEST TRUST," + ",".join(map(str, counts))


def write_tiny_ae(folder: Path, july_r1h_over_4h: int = 20) -> None:
    """July: R1H 100 attendances / 20 over 4 h, RF4 100 / 40 -> pooled 140/200 = 0.70.
    September: R1H 100 / 10, RF4 100 / 30 -> pooled 160/200 = 0.80."""
    folder.mkdir(parents=True, exist_ok=True)
    july = [AE_HEADER, ae_row("JULY", "R1H", 100, july_r1h_over_4h), ae_row("JULY", "RF4", 100, 40)]
    # The file's own total row adds up (the total check compares it with the rows).
    july_over_4h = str(july_r1h_over_4h + 40)
    july.append("TOTAL,TOTAL,TOTAL,TOTAL," + ",".join(["200", "0", "0", "0", "0", "0", july_over_4h] + ["0"] * 11))
    september = [
        AE_HEADER + ",,a",
        ae_row("SEPTEMBER", "R1H", 100, 10) + ",,",
        ae_row("SEPTEMBER", "RF4", 100, 30) + ",,",
    ]
    september.append("Total ,Total,Total,Total," + ",".join(["200", "0", "0", "0", "0", "0", "40"] + ["0"] * 11) + ",,")
    (folder / "Monthly-AE-July-2024.csv").write_text("\n".join(july) + "\n", encoding="utf-8")
    (folder / "Monthly-AE-September-2024.csv").write_text("\n".join(september) + "\n", encoding="utf-8")


def write_tiny_export(path: Path, encoding: str = "utf-8-sig") -> None:
    """Nine data rows: five respondents kept, four rows quarantined.

    Shared purpose (SP1, SP2), respondent means: R1H 4.5, 4.0, 4.0 (org 4.1667);
    RF4 2.5, 1.5 (org 2.0). Equal-weight score (4.1667 + 2.0) / 2 = 3.08, borderline.
    Acknowledging history (AH2, reverse-keyed): three answers, so suppressed.
    """
    from ingest.codebook import load_codebook

    codebook = load_codebook(CODEBOOK_DIR / "collab_health_core.yaml")
    headers = ["Respondent ID", "Submitted", "Organisation", "Role group", "Collaboration", "Wave"]
    headers += [f"{item.id}. {item.text}" for item in codebook.items] + ["Any other comments"]
    answers_at = {item.id: 6 + i for i, item in enumerate(codebook.items)}

    def row(rid, when, org, sp1="", sp2="", ah2="", comment=""):
        cells = [rid, when, org, "Clinical lead", "tiny", "1"] + [""] * len(codebook.items) + [comment]
        cells[answers_at["SP1"]], cells[answers_at["SP2"]], cells[answers_at["AH2"]] = sp1, sp2, ah2
        return cells

    rows = [
        row(RESPONDENT_ID_SAMPLE, "06/08/2024 09:15", "R1H", "Strongly agree", "agree ", "Disagree", FREE_TEXT_SAMPLE),
        row("p2", "07/08/2024 10:00", "r1h", "4", "Don't know", "strongly disagree"),
        row("p3", "08/08/2024 11:30", "R1H", "Agree", "AGREE", "N/A"),
        [""] * len(headers),
        row("p4", "09/08/2024 12:00", "RF4", "Disagree", "Neither agree nor disagree", "Agree"),
        row("p5", "10/08/2024 08:00", "RF4", "Strongly agree", "Strongly agree"),  # superseded below
        row("p5", "12/08/2024 16:45", "RF4", "Strongly disagree", "Disagree"),
        row("p6", "13/08/2024 09:00", "Not a code", "Agree", "Agree"),
        row("p7", "31/02/2024 09:00", "RF4", "Agree", "Agree"),  # no such date
    ]
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding=encoding, newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(headers)
        writer.writerows(rows)


def write_wilder_export(folder: Path, collaborations_file: Path) -> None:
    """Synthetic exports for the Wilder-style collaboration, from the generator."""
    from ingest.codebook import load_codebooks
    from ingest.collaborations import CollaborationsFile, load_collaborations
    from ingest.synthetic import generate_exports

    wilder = [c for c in load_collaborations(collaborations_file).collaborations if c.id == "tiny_wilder"]
    for name, content in generate_exports(
        CollaborationsFile(collaborations=wilder), load_codebooks(CODEBOOK_DIR)
    ).items():
        (folder / name).write_bytes(content)


def make_tiny_project(root: Path) -> dict[str, str]:
    """Lay out the tiny inputs under `root`; returns the environment pointing the pipeline there."""
    config = root / "config"
    shutil.copytree(CODEBOOK_DIR, config / "instruments")
    shutil.copytree(LAYOUTS_DIR, config / "layouts")
    shutil.copy(PROJECT_ROOT / "config" / "metrics.yaml", config / "metrics.yaml")
    (config / "collaborations.yaml").write_text(TINY_COLLABORATIONS, encoding="utf-8")
    write_tiny_export(root / "sources" / "diagnostic" / "tiny_wave1.csv")
    write_wilder_export(root / "sources" / "diagnostic", config / "collaborations.yaml")
    write_tiny_ae(root / "sources" / "monthly_ae")
    return {
        "COLLAB_HEALTH_DATA_DIR": str(root / "var"),
        "COLLAB_HEALTH_CONFIG_DIR": str(config),
        "COLLAB_HEALTH_DIAGNOSTIC_SOURCE": str(root / "sources" / "diagnostic"),
        "COLLAB_HEALTH_MONTHLY_AE_SOURCE": str(root / "sources" / "monthly_ae"),
        "COLLAB_HEALTH_ORGANISATIONS_SOURCE": str(SAMPLE_ODS),
        "COLLAB_HEALTH_WAREHOUSE": str(root / "var" / "warehouse" / "build" / "collab_health.duckdb"),
        "COLLAB_HEALTH_PSEUDONYM_KEY": TINY_KEY,
    }


TIERS = ("unit", "integration", "e2e")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test belongs to exactly one tier (see pyproject.toml): a test without one would
    silently fall out of `make check`."""
    for item in items:
        tiers = {mark.name for mark in item.iter_markers() if mark.name in TIERS}
        if len(tiers) != 1:
            raise pytest.UsageError(f"{item.nodeid}: needs exactly one tier marker of {TIERS}, has {sorted(tiers)}")


@pytest.fixture
def tiny_project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Environment pointing the pipeline at tiny inputs and a temporary warehouse."""
    for name, value in make_tiny_project(tmp_path).items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("COLLAB_HEALTH_MODE", raising=False)
    return tmp_path
