"""An unchanged rerun is skipped: the fingerprint of what a run reads, and the CLI's use of it."""

import json
import os
from pathlib import Path

import pytest

from orchestration import cli, run_state
from orchestration.run_state import DIGESTS_FILE, FileDigests, fingerprint, record_healthy_run, unchanged_since
from orchestration.settings import Settings

pytestmark = pytest.mark.unit


def test_fingerprint_changes_with_every_input_and_only_then(tiny_project: Path):
    first = fingerprint(Settings.from_environ())
    assert first == fingerprint(Settings.from_environ())

    export = next((tiny_project / "sources" / "diagnostic").glob("tiny_wave1.csv"))
    original = export.read_bytes()
    export.write_bytes(original.replace(b"p3", b"p9"))
    assert fingerprint(Settings.from_environ()) != first
    export.write_bytes(original)
    assert fingerprint(Settings.from_environ()) == first

    metrics = Settings.from_environ().config_dir / "metrics.yaml"
    metrics.write_text(metrics.read_text() + "\n# a comment\n")
    assert fingerprint(Settings.from_environ()) != first


def _counting_reads(monkeypatch) -> list[str]:
    """The files the fingerprint reads, as it reads them."""
    read, original = [], run_state.hashlib.file_digest

    def counting(handle, name):
        read.append(handle.name)
        return original(handle, name)

    monkeypatch.setattr(run_state.hashlib, "file_digest", counting)
    return read


def test_an_unchanged_input_is_not_read_again_and_any_write_is_seen(tiny_project: Path, monkeypatch):
    monkeypatch.setattr(run_state, "RACY_SECONDS", 0)  # the fixture's files were written just now
    settings = Settings.from_environ()
    first = fingerprint(settings)
    assert (settings.data_dir / DIGESTS_FILE).exists()
    read = _counting_reads(monkeypatch)
    sources = str(tiny_project / "sources")
    assert fingerprint(settings) == first
    assert [name for name in read if name.startswith(sources)] == []  # configuration and code are small

    # Same size, modification time put back: the change time still tells.
    export = next((tiny_project / "sources" / "diagnostic").glob("tiny_wave1.csv"))
    stat, original = export.stat(), export.read_bytes()
    export.write_bytes(original.replace(b"p3", b"p9"))
    os.utime(export, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert export.stat().st_size == stat.st_size and export.stat().st_mtime_ns == stat.st_mtime_ns
    changed = fingerprint(settings)
    assert changed != first
    assert [name for name in read if name.startswith(sources)] == [str(export)]
    export.write_bytes(original)
    assert fingerprint(settings) == first


def test_a_file_changed_just_now_is_always_read(tmp_path: Path, monkeypatch):
    export = tmp_path / "export.csv"
    export.write_text("a,b\n1,2\n")
    digests = FileDigests(tmp_path / "digests.json")
    digests.digest(export)
    digests.save()
    assert not (tmp_path / "digests.json").exists()  # nothing old enough to remember

    monkeypatch.setattr(run_state, "RACY_SECONDS", 0)
    digests = FileDigests(tmp_path / "digests.json")
    digests.digest(export)
    digests.save()
    read = _counting_reads(monkeypatch)
    FileDigests(tmp_path / "digests.json").digest(export)
    assert read == []


def test_a_file_changed_just_before_a_slow_read_is_not_remembered(tmp_path: Path, monkeypatch):
    export = tmp_path / "export.csv"
    export.write_text("a,b\n1,2\n")
    changed = max(export.stat().st_mtime_ns, export.stat().st_ctime_ns)
    clock = [changed + 1_000_000_000]  # a second after the last write: within the racy window
    monkeypatch.setattr(run_state.time, "time_ns", lambda: clock[0])
    original = run_state.hashlib.file_digest

    def slow(handle, name):
        clock[0] += 3_000_000_000  # the read takes three seconds
        return original(handle, name)

    monkeypatch.setattr(run_state.hashlib, "file_digest", slow)
    digests = FileDigests(tmp_path / "digests.json")
    digests.digest(export)
    assert digests.current == {}


def test_a_replaced_file_is_read_again(tmp_path: Path, monkeypatch):
    monkeypatch.setattr(run_state, "RACY_SECONDS", 0)
    export, other = tmp_path / "export.csv", tmp_path / "other.csv"
    export.write_text("a,b\n1,2\n")
    digests = FileDigests(tmp_path / "digests.json")
    first = digests.digest(export)
    digests.save()
    other.write_text("a,b\n3,4\n")  # same size, same modification time, moved into place
    stat = export.stat()
    os.utime(other, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    os.replace(other, export)
    assert FileDigests(tmp_path / "digests.json").digest(export) != first


def test_digests_that_cannot_be_saved_leave_the_fingerprint_working(tiny_project: Path, monkeypatch):
    monkeypatch.setattr(run_state, "RACY_SECONDS", 0)
    settings = Settings.from_environ()
    state = settings.data_dir / DIGESTS_FILE.parent
    state.parent.mkdir(parents=True, exist_ok=True)
    state.write_text("a file where the state folder should be")
    assert fingerprint(settings) is not None


def test_a_damaged_digest_file_only_costs_a_read(tmp_path: Path, monkeypatch):
    monkeypatch.setattr(run_state, "RACY_SECONDS", 0)
    export = tmp_path / "export.csv"
    export.write_text("a,b\n1,2\n")
    expected = FileDigests().digest(export)
    for damaged in ("{not json", "[]", json.dumps({str(export): [run_state._stat_key(export), "zz"]})):
        (tmp_path / "digests.json").write_text(damaged)
        assert FileDigests(tmp_path / "digests.json").digest(export) == expected


def test_fingerprint_depends_on_the_key_and_gives_up_on_urls(tiny_project: Path):
    with_key = fingerprint(Settings.from_environ())
    assert fingerprint(Settings.from_environ({**os.environ, "COLLAB_HEALTH_PSEUDONYM_KEY": "another"})) != with_key
    url = {**os.environ, "COLLAB_HEALTH_MONTHLY_AE_SOURCE": "http://127.0.0.1:9/ae.csv"}
    assert fingerprint(Settings.from_environ(url)) is None


def test_unchanged_needs_the_same_fingerprint_and_the_outputs(tmp_path: Path):
    output = tmp_path / "warehouse.duckdb"
    record_healthy_run(tmp_path, "abc", "run-1")
    assert unchanged_since(tmp_path, "abc", [output]) is None  # output missing
    output.write_text("")
    assert unchanged_since(tmp_path, "abc", [output])["run_id"] == "run-1"
    assert unchanged_since(tmp_path, "abd", [output]) is None
    assert unchanged_since(tmp_path, None, [output]) is None
    record_healthy_run(tmp_path, None, "run-2")  # an unhealthy or unknowable run forgets
    assert unchanged_since(tmp_path, "abc", [output]) is None


def test_cli_skips_a_rerun_with_nothing_changed(tiny_project: Path, capsys):
    data_dir = Settings.from_environ().data_dir
    outputs = ("warehouse/collab_health.duckdb", "reports/index.html", "docs/collab_health_dbt_docs.html")
    for output in (data_dir / name for name in outputs):
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text("")
    record_healthy_run(data_dir, fingerprint(Settings.from_environ()), "run-1")

    assert cli.run_nightly() == 0
    said = capsys.readouterr().out
    assert "nothing has changed since healthy run run-1" in said
    assert not (data_dir / "warehouse" / "build").exists()  # no job ran


def test_fingerprint_finds_source_files_as_the_pull_does(tiny_project: Path):
    share = tiny_project / "share" / "trust_a" / "exports"
    share.mkdir(parents=True)
    export = share / "export.csv"
    export.write_text("a,b\n1,2\n")
    environ = {**os.environ, "COLLAB_HEALTH_DIAGNOSTIC_SOURCE": str(tiny_project / "share" / "*" / "exports" / "*.csv")}
    first = fingerprint(Settings.from_environ(environ))
    assert first is not None
    export.write_text("a,b\n1,3\n")  # a wildcard folder: the change must be seen
    assert fingerprint(Settings.from_environ(environ)) != first


def test_fingerprint_covers_the_mode_and_gives_up_when_inputs_cannot_be_read(tiny_project: Path):
    assert fingerprint(Settings.from_environ({**os.environ, "COLLAB_HEALTH_MODE": "production"})) != fingerprint(
        Settings.from_environ()
    )
    missing = {**os.environ, "COLLAB_HEALTH_MONTHLY_AE_SOURCE": str(tiny_project / "no_such_folder")}
    assert fingerprint(Settings.from_environ(missing)) is None  # the run itself must report it
