"""Sensor on the diagnostic export folder: a new or changed export starts a refresh.

A change is a change of content: the sensor keeps each file's size, modification time and
SHA-256 in its cursor, hashes a file again only when its size or time moved, and asks for a
run only when some file's hash is new (a file touched but unchanged does not start one).
Its first tick (no cursor yet, e.g. the first time the UI is opened) compares the folder
with the exports the published warehouse was built from (`audit.file_loads`), so an
unchanged project starts no run.
"""

import json
from pathlib import Path

import duckdb
from dagster import (
    AssetSelection,
    DefaultSensorStatus,
    RunRequest,
    SensorEvaluationContext,
    SkipReason,
    define_asset_job,
    in_process_executor,
    sensor,
)

from ingest.files import SUPPORTED_SUFFIXES, sha256_file
from ingest.landing import is_input_file
from orchestration.resources import ProjectPaths

diagnostic_refresh_job = define_asset_job(
    "diagnostic_refresh",
    selection=AssetSelection.assets(["landing", "diagnostic_exports"]).downstream(),
    executor_def=in_process_executor,
    description="Pull the diagnostic exports and rebuild and republish what depends on them.",
)


def scan_folder(folder: Path, previous: dict[str, dict]) -> dict[str, dict]:
    """name -> {size, mtime_ns, sha256} for the folder's input files, reusing hashes of
    files whose size and modification time have not moved."""
    state: dict[str, dict] = {}
    for path in sorted(p for p in folder.iterdir() if is_input_file(p, SUPPORTED_SUFFIXES)):
        stat = path.stat()
        known = previous.get(path.name)
        if known and known.get("size") == stat.st_size and known.get("mtime_ns") == stat.st_mtime_ns:
            state[path.name] = known
        else:
            state[path.name] = {"size": stat.st_size, "mtime_ns": stat.st_mtime_ns, "sha256": sha256_file(path)}
    return state


def published_state(warehouse: Path) -> dict[str, dict]:
    """name -> {sha256} of the diagnostic exports the published warehouse was built from
    (empty when nothing has been published)."""
    if not warehouse.exists():
        return {}
    try:
        with duckdb.connect(str(warehouse), read_only=True) as connection:
            rows = connection.execute(
                "select source_file, sha256 from audit.file_loads where source = 'diagnostic_exports'"
            ).fetchall()
    except duckdb.Error:
        return {}
    return {name: {"sha256": sha256} for name, sha256 in rows}


def content_changes(previous: dict[str, dict], current: dict[str, dict]) -> list[str]:
    """Files that are new, changed in content, or gone."""
    names = sorted(set(previous) | set(current))
    return [n for n in names if (previous.get(n) or {}).get("sha256") != (current.get(n) or {}).get("sha256")]


@sensor(
    job=diagnostic_refresh_job,
    minimum_interval_seconds=60,
    default_status=DefaultSensorStatus.RUNNING,
    description="Starts diagnostic_refresh when an export in the diagnostic source folder is new, changed or removed.",
)
def diagnostic_exports_sensor(context: SensorEvaluationContext, paths: ProjectPaths):
    folders = [Path(location) for location in paths.source("diagnostic_exports").locations]
    if len(folders) != 1 or not folders[0].is_dir():
        return SkipReason("the sensor watches a diagnostic source that is one folder; this one is not")
    folder = folders[0]
    previous = json.loads(context.cursor) if context.cursor else published_state(paths.warehouse_path)
    current = scan_folder(folder, previous)
    changed = content_changes(previous, current)
    context.update_cursor(json.dumps(current, sort_keys=True))
    if not changed:
        return SkipReason("no export is new or changed in content")
    fingerprint = ",".join(f"{n}:{(current.get(n) or {}).get('sha256', 'gone')}" for n in changed)
    return RunRequest(run_key=fingerprint, tags={"changed_exports": ", ".join(changed)[:500]})
