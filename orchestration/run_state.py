"""What a healthy run was built from, so that a rerun with nothing changed can be skipped.

A run's *fingerprint* is one sha256 over everything its outputs depend on: the content of
every file in the configuration folder and in each source's local locations, the
project's code (Python packages, dbt project, report templates, expectation suites, the
lock file), the settings that change a run (COLLAB_HEALTH_MODE, the DuckDB memory limit)
and a hash of the pseudonymisation key. Source files are found exactly as the pull finds
them. Anything that publishes to the data folder (a scheduled, sensor or UI run too)
deletes the record, so only a run recorded after it published can be skipped. After a
healthy run, ``collab-health run`` records the fingerprint taken as it started (and, for
a scheduled run, the fingerprint taken at its tick is recorded when it has succeeded:
``orchestration/nightly.py``); the next run or tick computes it again first
(a second or so, with no Dagster or dbt start-up) and, when nothing differs and the
outputs are still there, says so and stops. A source given as a URL cannot be known
without pulling it, so a project with one always runs; so does one whose inputs cannot be
read while fingerprinting (the run then reports why).

Reading every input to hash it grows with the data (a second a gigabyte, more with a cold
page cache): each file's digest is remembered in ``state/file_digests.json`` with its stat
data, as git's index does, and a file whose size, modification and change times, inode
and device are all unchanged is not read again. Any write to a file sets its change time,
which no tool can set back (``cp -p``, ``touch -d`` and unzipping set only the
modification time; a mount that reports no real change time, as some FUSE and
object-store mounts do, is the exception: README, "Unchanged reruns"); a file changed in
the ``RACY_SECONDS`` before it is looked at is always read, as its timestamps' resolution
could yet hide a change.

This module imports neither Dagster nor dbt: the point is to decide before paying for them.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import time
from contextlib import suppress
from pathlib import Path

from ingest.files import SUPPORTED_SUFFIXES
from ingest.landing import PullError, resolve_location
from ingest.sources import is_url, load_sources, publication_layouts
from orchestration.settings import PROJECT_ROOT, Settings

#: The project's own files that shape a run's outputs.
CODE = (
    "ingest",
    "orchestration",
    "reports",
    "expectations",
    "dbt_project/models",
    "dbt_project/macros",
    "dbt_project/tests",
    "dbt_project/dbt_project.yml",
    "dbt_project/profiles.yml",
    "uv.lock",
    "dagster.yaml",
)
STATE_FILE = Path("state") / "last_healthy_run.json"
PUBLISHED_FILE = Path("state") / "last_publishing_run.json"
DIGESTS_FILE = Path("state") / "file_digests.json"
#: A file whose modification or change time is younger than this is read every time.
RACY_SECONDS = 2.0


def _files(location: Path) -> list[Path]:
    if location.is_dir():
        paths = location.rglob("*")
    else:
        paths = location.parent.glob(location.name)  # a glob pattern, or one file
    return sorted(p for p in paths if p.is_file() and "__pycache__" not in p.parts)


def _source_files(location: str, suffixes: tuple[str, ...] = SUPPORTED_SUFFIXES) -> list[Path]:
    """The files a source location stands for, found exactly as the pull finds them."""
    return [Path(path) for _, path in resolve_location(location, suffixes)]


class FileDigests:
    """The sha256 of files' contents, remembered by their stat data in `path` (when given)."""

    def __init__(self, path: Path | None = None):
        self.path = path
        self.known: dict[str, list] = {}
        self.current: dict[str, list] = {}
        if path is not None:
            try:
                known = json.loads(path.read_text())
                self.known = known if isinstance(known, dict) else {}
            except (OSError, ValueError):
                pass

    def digest(self, path: Path) -> bytes:
        now = time.time_ns()  # before the stat: a slow read must not use up the racy window
        before = _stat_key(path)
        digest = self._remembered(str(path), before)
        if digest is None:
            with open(path, "rb") as handle:
                digest = hashlib.file_digest(handle, "sha256").digest()
            if _stat_key(path) != before:  # changed while read: not remembered
                return digest
        if now - max(before[1], before[2]) > RACY_SECONDS * 1e9:
            self.current[str(path)] = [before, digest.hex()]
        return digest

    def _remembered(self, name: str, stat_key: list[int]) -> bytes | None:
        entry = self.known.get(name)
        if not (isinstance(entry, list) and len(entry) == 2 and entry[0] == stat_key):
            return None
        try:
            return bytes.fromhex(entry[1])
        except (TypeError, ValueError):  # a damaged entry: the file is read
            return None

    def save(self) -> None:
        """Remember this fingerprint's files (only these: a deleted file is forgotten)."""
        if self.path is None or self.current == self.known:
            return
        staging = self.path.with_name(f".{self.path.name}.{os.getpid()}.writing")  # two writers: the last wins
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            staging.write_text(json.dumps(self.current, sort_keys=True))
            os.replace(staging, self.path)
        except OSError:  # a read-only data folder: fingerprints are only slower
            with suppress(OSError):
                staging.unlink(missing_ok=True)


def _stat_key(path: Path) -> list[int]:
    stat = path.stat()
    return [stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns, stat.st_ino, stat.st_dev]


def _add_files(digest, label: str, files: list[Path], root: Path, digests: FileDigests | None = None) -> None:
    digests = digests or FileDigests()
    for path in files:
        digest.update(f"{label}:{path.relative_to(root) if path.is_relative_to(root) else path}\0".encode())
        digest.update(digests.digest(path))


def code_digest(entries: tuple[str, ...] = CODE) -> str:
    """The sha256 of the project's own files named by `entries` (paths under the project)."""
    digest = hashlib.sha256()
    for entry in entries:
        _add_files(digest, "code", _files(PROJECT_ROOT / entry), PROJECT_ROOT)
    return digest.hexdigest()


def fingerprint(settings: Settings) -> str | None:
    """The sha256 of everything a run reads, or None (meaning: just run) when a source is a
    URL or anything cannot be read or resolved; the run then reports the problem itself."""
    config_dir = settings.config_dir
    digest = hashlib.sha256()
    digests = FileDigests(settings.data_dir / DIGESTS_FILE)
    try:
        _add_files(digest, "config", _files(config_dir), config_dir)
        layouts = publication_layouts(config_dir)
        for name, source in sorted(load_sources(config_dir, settings.source_overrides).items()):
            digest.update(f"source {name}: {source.model_dump_json()}\0".encode())
            suffixes = layouts[name].files.suffixes if name in layouts else SUPPORTED_SUFFIXES
            for location in source.locations:
                if is_url(location):
                    return None
                _add_files(digest, name, _source_files(location, suffixes), Path("/"), digests)
        digest.update(f"code:{code_digest()}\0".encode())
    except (OSError, ValueError, PullError):
        return None
    digests.save()
    for setting, value in sorted(settings.run_shaping_values().items()):
        digest.update(f"{setting}={value}\0".encode())
    digest.update(b"key:" + hashlib.sha256(settings.pseudonym_key.encode()).digest())
    return digest.hexdigest()


def last_healthy_run(data_dir: Path) -> dict | None:
    path = data_dir / STATE_FILE
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def forget_healthy_run(data_dir: Path, publishing_run: str | None = None) -> None:
    """Whatever publishes to the data folder makes the record stale: the next run must run.
    `publishing_run` (the Dagster run id) is remembered as the last run to publish."""
    (data_dir / STATE_FILE).unlink(missing_ok=True)
    if publishing_run is not None:
        path = data_dir / PUBLISHED_FILE
        path.parent.mkdir(parents=True, exist_ok=True)
        staging = path.with_name(f".{path.name}.writing")
        staging.write_text(json.dumps({"run_id": publishing_run}))
        os.replace(staging, path)


def last_publishing_run(data_dir: Path) -> str | None:
    """The id of the last run that published the warehouse (None if unknown)."""
    try:
        return json.loads((data_dir / PUBLISHED_FILE).read_text())["run_id"]
    except (OSError, ValueError, KeyError, TypeError):
        return None


def record_healthy_run(data_dir: Path, run_fingerprint: str | None, run_id: str) -> None:
    """Remember what the healthy run `run_id` was built from (written aside, then renamed)."""
    path = data_dir / STATE_FILE
    if run_fingerprint is None:
        forget_healthy_run(data_dir)
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    staging = path.with_name(f".{path.name}.writing")
    staging.write_text(
        json.dumps(
            {
                "fingerprint": run_fingerprint,
                "run_id": run_id,
                "finished_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            },
            indent=2,
        )
    )
    os.replace(staging, path)


def run_outputs(settings: Settings) -> list[Path]:
    """What a healthy run leaves for its readers: a run may be skipped only while they exist."""
    return [settings.published_warehouse, settings.reports_dir / "index.html", settings.docs_file]


def unchanged_since(data_dir: Path, run_fingerprint: str | None, outputs: list[Path]) -> dict | None:
    """The last healthy run's record when this run would rebuild exactly what it built (same
    fingerprint, outputs still present); otherwise None."""
    last = last_healthy_run(data_dir)
    if run_fingerprint is None or last is None or last.get("fingerprint") != run_fingerprint:
        return None
    return last if all(p.exists() for p in outputs) else None
