"""The run's console and log file (orchestration/progress.py): a failed step's whole error
reaches the log file, on one line."""

from __future__ import annotations

import logging
import sys

import pytest
from dagster import DagsterEvent
from dagster._core.execution.plan.objects import StepFailureData
from dagster._utils.error import serializable_error_info_from_exc_info

from orchestration.progress import RunConsole

pytestmark = pytest.mark.unit


def failure_record(step: str) -> logging.LogRecord:
    try:
        raise AttributeError("'list' object has no attribute 'svg'\nsecond line")
    except AttributeError:
        error = serializable_error_info_from_exc_info(sys.exc_info())
    event = DagsterEvent(
        "STEP_FAILURE", "nightly", step_key=step, event_specific_data=StepFailureData(error, user_failure_data=None)
    )
    record = logging.LogRecord("dagster", logging.ERROR, __file__, 1, "failed", None, None)
    record.dagster_meta = {"dagster_event": event, "step_key": step, "orig_message": "Execution of step failed."}
    return record


def test_a_failed_step_writes_its_error_and_traceback_to_the_log(tmp_path):
    with open(tmp_path / "out", "w", encoding="utf-8") as out:
        console = RunConsole(["reports__collaboration_reports"], 0, tmp_path / "run.log", out=out)
        console.handle(failure_record("reports__collaboration_reports"))
        console.finish()
    lines = (tmp_path / "run.log").read_text(encoding="utf-8").split("\n")[:-1]
    assert len(lines) == 2
    assert lines[0].endswith("reports__collaboration_reports Execution of step failed.")
    assert "AttributeError: 'list' object has no attribute 'svg'\\nsecond line" in lines[1]
    assert "test_progress.py" in lines[1]  # where it was raised


def test_a_large_folder_logs_a_file_line_a_second_and_its_last_file(monkeypatch):
    """Each logged line is a stored Dagster event: up to 50 files each has its line; beyond,
    a line a second (and the last file's), so a thousand files do not make a thousand events."""
    import orchestration.assets as assets

    clock = [100.0]
    monkeypatch.setattr(assets.time, "monotonic", lambda: clock[0])
    small = assets.FileProgress()
    assert all(small.due(i, 50) for i in range(1, 51))

    large = assets.FileProgress()
    logged = []
    for index in range(1, 301):
        clock[0] += 1 / 64  # 64 files a second (exact in binary: no rounding at the second)
        if large.due(index, 300):
            logged.append(index)
    assert logged == [1, 65, 129, 193, 257, 300]


def test_a_large_folder_says_ignored_columns_when_they_change(monkeypatch):
    """A national export's comment column, dropped by design in every file, is said once; a
    file that ignores something else gets its line, and so does the next file that does not."""
    import orchestration.assets as assets

    monkeypatch.setattr(assets.time, "monotonic", lambda: 100.0)  # no second passes
    progress = assets.FileProgress()
    progress.due(1, 300)  # the first file's line
    comment = ["Any other comments"]
    said = [index for index in range(2, 8) if progress.due(index, 300, comment if index != 5 else ["Extra"])]
    assert said == [2, 5, 6]
    small = assets.FileProgress()
    assert all(small.due(i, 50, comment) for i in range(1, 51))


def test_a_large_folder_accounts_for_clean_files_in_one_line():
    """Up to 50 files each has its read = clean + quarantined line; beyond, only files with
    rows quarantined, or counts that do not add up, keep theirs."""
    import orchestration.assets as assets

    def load(name, read, clean, quarantined):
        return {"source_file": name, "rows_read": read, "rows_clean": clean, "rows_quarantined": quarantined}

    small = [load(f"f{i}", 10, 10, 0) for i in range(50)]
    assert assets.FileProgress.accounts(small) == (small, [])
    large = [load(f"f{i}", 10, 10, 0) for i in range(60)]
    large[3] = load("f3", 10, 8, 2)
    large[7] = load("f7", 10, 9, 0)  # a row neither clean nor quarantined
    each, clean = assets.FileProgress.accounts(large)
    assert [row["source_file"] for row in each] == ["f3", "f7"]
    assert len(clean) == 58 and all(row["rows_clean"] == row["rows_read"] for row in clean)
