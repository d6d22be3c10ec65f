"""The national-scale benchmark at a tiny scale, so that it cannot rot: the generator writes
inputs the real job accepts, the job runs twice (the second time finding nothing changed),
then once more, forced, publishing tables identical to the first run's (issue 23); the
hand-written baseline computes the same marts, and the table prints. No timing is
asserted: speed targets live in the benchmark's output, not in tests."""

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.national_inputs import Scale  # noqa: E402
from benchmarks.nightly_at_scale import UNCHANGED, benchmark_scale, print_growth, print_table  # noqa: E402

TINY = 0.02


@pytest.mark.unit
def test_scale_sizes_follow_the_factor():
    one, tenth = Scale.at(1), Scale.at(0.1)
    assert (one.collaborations, one.waves, one.respondents_per_wave, one.organisations, one.metrics) == (
        60,
        6,
        60_000,
        250,
        30,
    )
    assert (tenth.collaborations, tenth.respondents_per_wave, tenth.organisations) == (6, 6_000, 25)


@pytest.mark.e2e
def test_benchmark_runs_the_real_job_at_a_tiny_scale(tmp_path, capsys):
    result = benchmark_scale(TINY, tmp_path)

    inputs = result["inputs"]
    scale = Scale.at(TINY)
    assert inputs["ae_rows"] == scale.years * 12 * (scale.organisations + 1)  # + each file's total row
    # ~respondents_per_wave a wave, over every wave (members answer 0.8-1.2x the mean)
    assert (
        0.7 * scale.respondents_per_wave * scale.waves
        < inputs["diagnostic_rows"]
        < 1.3 * scale.respondents_per_wave * scale.waves
    )

    full, rerun = result["full"], result["rerun"]
    assert full["exit_code"] == 0 and full["ran_job"]
    for stage in ("start-up", "pull", "polars ingest", "GE checks", "dbt build", "publish", "reports"):
        assert full["stages"][stage]["seconds"] > 0, stage
        assert full["stages"][stage]["peak_bytes"] > 0, stage
    assert full["steps"]["dbt_models"]["seconds"] > 0 and full["steps"]["dbt_models"]["peak_bytes"] > 0
    assert rerun["exit_code"] == 0 and not rerun["ran_job"]
    assert list(rerun["stages"]) == [UNCHANGED]
    assert "nothing has changed since healthy run" in (tmp_path / f"scale-{TINY:g}" / "runs" / "rerun.log").read_text()

    # Two full runs on the same inputs publish identical tables.
    assert result["second"]["exit_code"] == 0 and result["second"]["ran_job"]
    determinism = result["determinism"]
    assert determinism["tables"] > 10
    assert (determinism["differing_rows"], determinism["differences"]) == (0, [])

    # The baseline computes the same numbers as the pipeline's marts.
    for table, report in result["comparison"].items():
        assert report["pipeline_rows"] > 0, table
        assert (report["differing"], report["missing"], report["extra"]) == (0, 0, 0), (table, report)

    print_table(**result)
    print_growth([result])
    printed = capsys.readouterr().out
    assert "| dbt build |" in printed and "| **total** |" in printed and "Growth with scale" in printed
    assert "0 differing rows in the marts, 0 in all; 0 tables differ" in printed
    assert "Largest steps by peak memory: " in printed
