"""The hand-written DuckDB baseline (benchmarks/baseline.py) runs on the bundled sample."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))

from baseline import run_baseline  # noqa: E402

pytestmark = pytest.mark.integration


def test_baseline_runs_on_the_sample(tmp_path, monkeypatch):
    for variable in (
        "COLLAB_HEALTH_DIAGNOSTIC_SOURCE",
        "COLLAB_HEALTH_MONTHLY_AE_SOURCE",
        "COLLAB_HEALTH_ORGANISATIONS_SOURCE",
    ):
        monkeypatch.delenv(variable, raising=False)
    result = run_baseline(ROOT / "config", tmp_path / "baseline.duckdb")
    assert result.collaboration_health_rows > 0
    assert result.system_metrics_rows > 0
    assert result.seconds > 0
