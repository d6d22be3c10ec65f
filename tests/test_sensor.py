"""The diagnostic-exports sensor asks for a run on a change of content, not of timestamp."""

import os

import pytest
from dagster import RunRequest, SkipReason, build_sensor_context

from orchestration.resources import ProjectPaths
from orchestration.sensors import diagnostic_exports_sensor

pytestmark = pytest.mark.integration


def tick(paths, cursor):
    context = build_sensor_context(cursor=cursor, resources={"paths": paths})
    result = diagnostic_exports_sensor(context)
    return result, context.cursor


def test_sensor_runs_on_new_or_changed_content_only(tmp_path):
    folder = tmp_path / "exports"
    folder.mkdir()
    (folder / "a_wave1.csv").write_text("Respondent ID\n1\n")
    # Not an export. (Issue 21 made .txt an input: Excel's "Unicode text" is a tab-separated
    # .txt, and a .txt that is not an export is now named and rejected, not ignored.)
    (folder / "notes.md").write_text("not an export")
    paths = ProjectPaths(
        data_dir=str(tmp_path),
        config_dir=str(tmp_path),
        source_overrides={"COLLAB_HEALTH_DIAGNOSTIC_SOURCE": str(folder)},
    )

    first, cursor = tick(paths, None)
    assert isinstance(first, RunRequest) and first.tags["changed_exports"] == "a_wave1.csv"

    again, cursor = tick(paths, cursor)
    assert isinstance(again, SkipReason)

    stat = (folder / "a_wave1.csv").stat()
    os.utime(folder / "a_wave1.csv", ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))  # touched, same bytes
    touched, cursor = tick(paths, cursor)
    assert isinstance(touched, SkipReason)

    (folder / "a_wave1.csv").write_text("Respondent ID\n1\n2\n")
    (folder / "b_wave1.xlsx").write_bytes(b"new")
    changed, cursor = tick(paths, cursor)
    assert isinstance(changed, RunRequest)
    assert changed.tags["changed_exports"] == "a_wave1.csv, b_wave1.xlsx"
    assert changed.run_key != first.run_key


def test_first_tick_compares_with_what_was_published_and_launches_nothing_when_unchanged(tmp_path):
    """Opening the UI for the first time (no cursor) on a project whose exports are the ones
    the published warehouse was built from must not start a refresh."""
    import duckdb

    from ingest.files import sha256_file

    folder = tmp_path / "exports"
    folder.mkdir()
    export = folder / "a_wave1.csv"
    export.write_text("Respondent ID\n1\n")
    paths = ProjectPaths(
        data_dir=str(tmp_path / "var"),
        config_dir=str(tmp_path),
        source_overrides={"COLLAB_HEALTH_DIAGNOSTIC_SOURCE": str(folder)},
    )
    paths.warehouse_path.parent.mkdir(parents=True)
    with duckdb.connect(str(paths.warehouse_path)) as db:
        db.execute("create schema audit")
        db.execute("create table audit.file_loads (source varchar, source_file varchar, sha256 varchar)")
        db.execute(
            "insert into audit.file_loads values ('diagnostic_exports', 'a_wave1.csv', ?)", [sha256_file(export)]
        )

    first, cursor = tick(paths, None)
    assert isinstance(first, SkipReason), first
    assert "a_wave1.csv" in cursor  # the current state is recorded for the next tick

    export.write_text("Respondent ID\n1\n2\n")
    second, _ = tick(paths, cursor)
    assert isinstance(second, RunRequest) and second.tags["changed_exports"] == "a_wave1.csv"
