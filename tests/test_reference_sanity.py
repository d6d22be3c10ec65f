"""Reference sanity (issue 13): an organisation -> ICB snapshot is accepted only when every
ICB code in it is an ICB valid at its date; a snapshot that fails is rejected whole and
the other snapshots' mapping stands. Snapshot dates come from the file's content where it
has one.

The pre-2022 fixture is written here from the bundled July 2025 extract: trusts opened
after March 2019 are dropped and each ICB code is replaced by an NHS England area-team
code (Q70-Q84), as an ODS etr file of April 2019 held them; Welsh trusts keep Q99.
"""

from __future__ import annotations

import csv
import datetime as dt
import shutil
from pathlib import Path

import polars as pl
import pytest
from conftest import SAMPLE_ODS

from ingest.files import InputFileError
from ingest.organisations import (
    ICB_START,
    check_icb_snapshot,
    checked_snapshots,
    icb_validity,
    organisation_reference_tables,
    read_etr,
    read_organisations,
    rejected_reference_files,
    snapshot_date,
)

pytestmark = pytest.mark.unit

AREA_TEAMS = [f"Q{n}" for n in range(70, 85)]


def write_pre_2022_extract(path: Path, latest_open: str = "20190331") -> dict[str, str]:
    """The bundled July 2025 extract as it might have looked in April 2019: returns the
    area-team code given to each ICB code."""
    with open(SAMPLE_ODS / "etr_2025-07.csv", encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle))
    icbs = sorted({row[3] for row in rows if row[3] != "Q99"})
    area_team = {icb: AREA_TEAMS[i % len(AREA_TEAMS)] for i, icb in enumerate(icbs)}
    kept = []
    for row in rows:
        if row[10] > latest_open or row[11]:
            continue  # not open yet in 2019, or closed
        kept.append([*row[:3], area_team.get(row[3], row[3]), *row[4:]])
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8", newline="") as handle:
        csv.writer(handle, quoting=csv.QUOTE_ALL).writerows(kept)
    return area_team


def reference_with(tmp_path: Path, name: str, latest_open: str = "20190331") -> Path:
    folder = tmp_path / "organisations"
    shutil.copytree(SAMPLE_ODS, folder)
    write_pre_2022_extract(folder / name, latest_open)
    return folder


def test_icb_codes_are_valid_between_the_dated_lists_of_the_reference():
    validity = {code: (start, end) for code, start, end in icb_validity(SAMPLE_ODS).iter_rows()}
    # In the July 2022 and April 2024 crosswalk, gone from the April 2026 provider extract.
    assert validity["QMJ"] == (ICB_START, dt.date(2026, 4, 30))
    # In every list.
    assert validity["QOP"] == (ICB_START, None)
    # First listed in April 2026; the last list without it is April 2024.
    assert validity["Z9B2Z"] == (dt.date(2024, 4, 2), None)
    assert "Q99" not in validity and "Q70" not in validity


def test_the_bundled_snapshots_pass_and_welsh_trusts_have_no_icb():
    accepted, rejected = checked_snapshots(SAMPLE_ODS)
    assert rejected == []
    assert [(s.source_file, s.as_at, s.dated) for s in accepted] == [
        ("etr_2025-07.csv", dt.date(2025, 7, 1), "from its name"),
        ("etr_2026-06.csv", dt.date(2026, 6, 1), "from its name"),
        ("provider_to_icb_2026-04.csv", dt.date(2026, 4, 30), "from its as_at column"),
    ]
    snapshots = organisation_reference_tables(SAMPLE_ODS)["organisation_icb_snapshots"]
    assert snapshots.filter(pl.col("org_code") == "RQF").is_empty()  # Velindre (Wales): Q99, no ICB


def test_a_pre_2022_extract_with_area_team_codes_is_rejected_whole_and_the_mapping_stands(tmp_path):
    folder = reference_with(tmp_path, "etr_2019-04.csv")
    before = organisation_reference_tables(SAMPLE_ODS)
    after = organisation_reference_tables(folder)
    # Every table is exactly what the bundled reference alone gives: nothing of the old file is used.
    for name, frame in before.items():
        assert after[name].equals(frame), name
    assert not after["organisation_icb_snapshots"]["icb_code"].is_in(AREA_TEAMS).any()

    [(name, error)] = rejected_reference_files(folder)
    assert name == "etr_2019-04.csv"
    assert error.startswith(
        "etr_2019-04.csv: rejected as an organisation -> ICB snapshot as at 2019-04-01 (from its name): "
        "15 of its ICB codes are not ICBs valid at that date: Q70 ("
    )
    assert "Q70 (" in error and "not a known ICB" in error and "and 7 more" in error
    assert "ICBs began on 1 July 2022: an extract from before then holds NHS England area-team" in error
    assert error.endswith("Nothing from this file is used; the other snapshots' mapping stands.")


def test_the_same_old_extract_misnamed_as_a_recent_one_is_rejected_too(tmp_path):
    folder = reference_with(tmp_path, "etr_2025-08.csv")
    [(name, error)] = rejected_reference_files(folder)
    assert name == "etr_2025-08.csv"
    assert "as at 2025-08-01 (from its name)" in error and "Q70 (" in error and "not a known ICB" in error
    assert read_organisations(folder).equals(read_organisations(SAMPLE_ODS))


def test_snapshot_dates_come_from_the_content_where_the_name_has_none_or_is_older(tmp_path):
    # Named as ODS publishes it (no date): dated by its latest open date, that of Manchester
    # University NHS FT (R0A), 1 October 2017, the latest of the trusts open in March 2019.
    folder = reference_with(tmp_path, "etr.csv")
    frame = read_etr(folder / "etr.csv")
    assert frame.filter(pl.col("org_code") == "R0A")["opened_on"].item() == frame["opened_on"].max()
    assert snapshot_date(folder / "etr.csv", frame) == (
        dt.date(2017, 10, 1),
        "from its content: its latest open or close date is in October 2017",
    )
    [(name, error)] = rejected_reference_files(folder)
    assert name == "etr.csv" and "as at 2017-10-01 (from its content" in error

    # The bundled July 2025 extract renamed to 2019: it records a trust opened in November
    # 2024, so it cannot be from 2019; its content dates it (and its ICB codes then pass).
    renamed = tmp_path / "renamed"
    renamed.mkdir()
    shutil.copy(SAMPLE_ODS / "etr_2025-07.csv", renamed / "etr_2019-04.csv")
    as_at, dated = snapshot_date(renamed / "etr_2019-04.csv", read_etr(renamed / "etr_2019-04.csv"))
    assert as_at == dt.date(2024, 12, 1)
    assert (
        dated == "from its content: it records an open or close date in December 2024, after the April 2019 in its name"
    )

    # Neither a date in the name nor any date inside: the file cannot be dated.
    undated = tmp_path / "undated" / "etr.csv"
    undated.parent.mkdir()
    undated.write_text('"RXX","A TRUST","Y56","QMJ","","","","","","","","","",""\n')
    with pytest.raises(InputFileError, match=r"etr\.csv: cannot date this ODS extract"):
        snapshot_date(undated, read_etr(undated))


def test_a_code_that_is_an_icb_only_later_is_rejected_at_an_earlier_date():
    validity = icb_validity(SAMPLE_ODS)
    from ingest.organisations import Snapshot

    frame = pl.DataFrame({"org_code": ["RAL", "RRV"], "icb_code": ["Z9B2Z", "QMJ"]})
    early = Snapshot("etr_2023-01.csv", dt.date(2023, 1, 1), "from its name", frame)
    error = check_icb_snapshot(early, validity)
    assert "1 of its ICB codes are not ICBs valid at that date: Z9B2Z (1 trust: an ICB only from 2024-04-02)" in error
    late = Snapshot("etr_2026-07.csv", dt.date(2026, 7, 1), "from its name", frame)
    assert "QMJ (1 trust: no longer an ICB by 2026-04-30)" in check_icb_snapshot(late, validity)
    fine = Snapshot(
        "etr_2025-01.csv", dt.date(2025, 1, 1), "from its name", frame.head(1).with_columns(icb_code=pl.lit("QMJ"))
    )
    assert check_icb_snapshot(fine, validity) is None
