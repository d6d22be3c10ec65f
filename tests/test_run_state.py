"""An unchanged rerun is skipped: the fingerprint of what a run reads, and the CLI's use of it."""

import os
from pathlib import Path

import pytest

from orchestration import cli
from orchestration.run_state import fingerprint, record_healthy_run, unchanged_since
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
