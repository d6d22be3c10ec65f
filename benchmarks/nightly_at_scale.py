"""Benchmark: the real nightly job on generated national-scale inputs, stage by stage.

    make bench                                    # scales 0.1, 1 and 3
    .venv/bin/python benchmarks/nightly_at_scale.py --scales 0.1 1 [--work-dir var/bench]

For each scale factor: generate the inputs (benchmarks/national_inputs.py; cached in the
work folder and reused while the scale and seed match), then run ``collab-health run`` in a
fresh process on an empty data folder (the full nightly run), then again with nothing
changed (the unchanged rerun). Each run's wall time and peak memory (resident set of the
process and its children, such as dbt, sampled every 0.1 s) is split by stage from the
Dagster event log. Then a second full run (``--force``) on the same inputs, whose published
tables are compared with the first run's, row for row (the count of differing rows must be
0: same inputs, same marts). The hand-written DuckDB baseline (benchmarks/baseline.sql) then
computes the same collaboration_health and system_metrics straight from the generated files.

Prints a table; asserts nothing. Memory is in GiB (2**30 bytes), the unit of every figure
this benchmark has printed (issue 16's "4.70 GB" among them). The issue's targets (scale 1,
2 cores): full run <= 60 s, scale 3 <= 3x scale 1, unchanged rerun <= 2 s, peak memory <= 1.5
at scale 1 and at scale 3.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

#: Stage of each Dagster step, by the start of its step key; the first match wins.
STAGES: tuple[tuple[str, Callable[[str], bool]], ...] = (
    ("pull", lambda key: key.startswith("landing__")),
    ("GE checks", lambda key: "_ge_" in key),
    ("other checks", lambda key: key.endswith(("rows_reconcile", "files_accepted"))),
    ("polars ingest", lambda key: key.startswith("clean")),
    ("dbt build", lambda key: key == "dbt_models"),
    ("dbt docs", lambda key: key.startswith("docs__")),
    ("publish", lambda key: key.startswith("published__")),
    ("reports", lambda key: key.startswith("reports__")),
)
#: A rerun that found nothing changed: the whole process, start to exit.
UNCHANGED = "nothing-changed check"
STAGE_NAMES = ["start-up", *[name for name, _ in STAGES], "other", UNCHANGED]
BENCH_KEY = "national-benchmark-key-not-secret"  # the generated respondents are invented


def stage_of(step_key: str) -> str:
    return next((name for name, matches in STAGES if matches(step_key)), "other")


# --- measuring one run (in a child process) -----------------------------------------------


def _tree_rss(root: int) -> int:
    """Resident bytes of `root` and every process descended from it."""
    children: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                with open(f"/proc/{entry.name}/stat") as handle:
                    parent = int(handle.read().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(parent, []).append(int(entry.name))
    total, stack, page = 0, [root], os.sysconf("SC_PAGE_SIZE")
    while stack:
        pid = stack.pop()
        try:
            with open(f"/proc/{pid}/statm") as handle:
                total += int(handle.read().split()[1]) * page
        except (OSError, IndexError, ValueError):
            pass
        stack.extend(children.get(pid, []))
    return total


class MemorySampler(threading.Thread):
    def __init__(self, interval: float = 0.1):
        super().__init__(daemon=True)
        self.interval, self.samples, self._stopping = interval, [], threading.Event()

    def run(self) -> None:
        while not self._stopping.is_set():
            self.samples.append((time.time(), _tree_rss(os.getpid())))
            self._stopping.wait(self.interval)

    def stop(self) -> list[tuple[float, int]]:
        self._stopping.set()
        self.join()
        return self.samples


def measure_run(output: Path, started: float, force: bool = False) -> int:
    """Run the nightly job here and write each stage's seconds and peak bytes to `output`."""
    sampler = MemorySampler()
    sampler.start()
    from orchestration.cli import run_nightly

    code = run_nightly(force)
    finished = time.time()
    samples = sampler.stop()

    from dagster import DagsterEventType, DagsterInstance

    with DagsterInstance.get() as instance:
        runs = instance.get_runs(limit=1)
        # No run newer than this process: the CLI found nothing changed and did not start one.
        ran = bool(runs) and instance.get_run_record_by_id(runs[0].run_id).create_timestamp.timestamp() >= started
        records = instance.all_logs(runs[0].run_id) if ran else []
    spans: dict[str, list[tuple[float, float]]] = {}
    steps: dict[str, float] = {}
    opened: dict[str, float] = {}
    run_start = run_end = None
    for record in records:
        event = record.dagster_event
        if event is None:
            continue
        kind = event.event_type
        if kind == DagsterEventType.RUN_START:
            run_start = record.timestamp
        elif kind in (DagsterEventType.RUN_SUCCESS, DagsterEventType.RUN_FAILURE):
            run_end = record.timestamp
        elif kind == DagsterEventType.STEP_START:
            opened[event.step_key] = record.timestamp
        elif kind in (DagsterEventType.STEP_SUCCESS, DagsterEventType.STEP_FAILURE) and event.step_key in opened:
            begun = opened.pop(event.step_key)
            spans.setdefault(stage_of(event.step_key), []).append((begun, record.timestamp))
            steps[event.step_key] = (begun, record.timestamp)
    if ran:
        spans["start-up"] = [(started, run_start or started)]
        spans.setdefault("other", []).append((run_end or finished, finished))
    else:
        spans = {UNCHANGED: [(started, finished)]}

    def peak(intervals: list[tuple[float, float]]) -> int:
        inside = [rss for t, rss in samples if any(a <= t <= b + 0.1 for a, b in intervals)]
        return max(inside, default=0)

    stages = {
        name: {"seconds": sum(b - a for a, b in intervals), "peak_bytes": peak(intervals), "steps": len(intervals)}
        for name, intervals in spans.items()
    }
    accounted = sum(s["seconds"] for s in stages.values())
    if ran:
        stages["other"]["seconds"] += max(0.0, (finished - started) - accounted)
    output.write_text(
        json.dumps(
            {
                "exit_code": code,
                "ran_job": ran,
                "seconds": finished - started,
                "peak_bytes": max((rss for _, rss in samples), default=0),
                "stages": stages,
                "steps": {
                    key: {
                        "seconds": b - a,
                        "peak_bytes": peak([(a, b)]),
                        # When it began (seconds into the run) and what the run held then:
                        # memory a step did not give back shows in the steps after it.
                        "started_seconds": a - started,
                        "resident_at_start_bytes": next((rss for t, rss in samples if t >= a), 0),
                    }
                    for key, (a, b) in sorted(steps.items(), key=lambda item: item[1][0] - item[1][1])
                },
            }
        )
    )
    return code


# --- the benchmark (parent process) -------------------------------------------------------


def run_job(config_dir: Path, data_dir: Path, label: str, force: bool = False) -> dict:
    """One nightly run in a fresh process (`force`: even when nothing changed); its measurements."""
    data_dir.parent.mkdir(parents=True, exist_ok=True)
    stats = data_dir.parent / f"{label}.json"
    log = data_dir.parent / f"{label}.log"
    environment = {
        **os.environ,
        "COLLAB_HEALTH_CONFIG_DIR": str(config_dir),
        "COLLAB_HEALTH_DATA_DIR": str(data_dir),
        "COLLAB_HEALTH_PSEUDONYM_KEY": BENCH_KEY,
    }
    # Only the generated configuration decides the inputs: no source or mode from the shell.
    for name in [n for n in environment if n.startswith("COLLAB_HEALTH_") and n.endswith("_SOURCE")]:
        environment.pop(name)
    for name in ("DAGSTER_HOME", "COLLAB_HEALTH_MODE", "COLLAB_HEALTH_WAREHOUSE"):
        environment.pop(name, None)
    with open(log, "w") as handle:
        completed = subprocess.run(
            [
                sys.executable,
                __file__,
                "--measure-run",
                str(stats),
                "--started",
                repr(time.time()),
                *(["--force"] if force else []),
            ],
            env=environment,
            cwd=ROOT,
            stdout=handle,
            stderr=subprocess.STDOUT,
        )
    if completed.returncode != 0 or not stats.exists():
        tail = "".join(log.read_text().splitlines(keepends=True)[-20:])
        raise SystemExit(f"the {label} run failed (exit {completed.returncode}); log {log}:\n{tail}")
    return json.loads(stats.read_text())


def prepare_inputs(work_dir: Path, factor: float) -> tuple[Path, dict]:
    import benchmarks.national_inputs as generator
    from benchmarks.national_inputs import SEED, Scale, generate

    folder = work_dir / f"scale-{factor:g}"
    stamp = folder / "inputs.json"
    # Cached inputs stand only for the same scale, seed and generator code.
    code = hashlib.sha256(Path(generator.__file__).read_bytes()).hexdigest()[:16]
    wanted = {"scale": factor, "seed": SEED, "generator": code}
    if stamp.exists() and {k: v for k, v in json.loads(stamp.read_text()).items() if k in wanted} == wanted:
        return folder, json.loads(stamp.read_text())
    print(f"generating inputs at scale {factor:g} in {folder} ...", flush=True)
    started = time.perf_counter()
    inputs = generate(folder, Scale.at(factor), SEED, progress=lambda line: print(line, flush=True))
    described = {
        **wanted,
        "files": inputs.files,
        "megabytes": round(inputs.bytes / 1e6, 1),
        "diagnostic_rows": inputs.diagnostic_rows,
        "ae_rows": inputs.ae_rows,
        "generated_in_seconds": round(time.perf_counter() - started, 1),
    }
    stamp.write_text(json.dumps(described, indent=2))
    return folder, described


def run_baseline(folder: Path, warehouse: Path) -> tuple[float, dict]:
    """The hand-written baseline's seconds, and how its tables compare with the pipeline's marts."""
    from benchmarks.baseline import compare_with_warehouse
    from benchmarks.baseline import run_baseline as baseline

    output = folder / "runs" / "baseline.duckdb"
    output.unlink(missing_ok=True)
    result = baseline(folder / "config", output)
    comparison = compare_with_warehouse(output, warehouse)
    return result.seconds, comparison


def _gb(value: int) -> str:
    """Bytes in GiB (2**30), two decimals."""
    return f"{value / 2**30:.2f}"


def compare_runs(first: Path, second: Path) -> dict:
    """How the published tables (marts, audit minus timestamps, quarantine) of two runs differ."""
    from orchestration.warehouse_diff import compare_warehouses

    compared, differences = compare_warehouses(first, second)
    return {
        "tables": len(compared),
        "differing_rows": sum(d.differing_rows for d in differences),
        "differing_marts_rows": sum(d.differing_rows for d in differences if d.table.startswith("marts.")),
        "differences": [d.describe() for d in differences],
    }


def print_table(
    factor: float,
    inputs: dict,
    full: dict,
    rerun: dict,
    baseline: float,
    comparison: dict,
    second: dict | None = None,
    determinism: dict | None = None,
) -> None:
    """The stage table of one scale, in Markdown."""
    print()
    print(
        f"## Scale {factor:g}: {inputs['diagnostic_rows']:,} diagnostic rows in {inputs['files']} files "
        f"({inputs['megabytes']} MB), {inputs['ae_rows']:,} Monthly A&E rows"
    )
    print()
    print("| stage | full run s | full peak GiB | unchanged rerun s | rerun peak GiB |")
    print("|---|---:|---:|---:|---:|")
    for name in STAGE_NAMES:
        a, b = full["stages"].get(name), rerun["stages"].get(name)
        if not a and not b:
            continue
        cells = []
        for stage in (a, b):
            cells += [f"{stage['seconds']:.1f}", _gb(stage["peak_bytes"])] if stage else ["-", "-"]
        print(f"| {name} | " + " | ".join(cells) + " |")
    print(
        f"| **total** | **{full['seconds']:.1f}** | **{_gb(full['peak_bytes'])}** | "
        f"**{rerun['seconds']:.1f}** | **{_gb(rerun['peak_bytes'])}** |"
    )
    slowest = list(full["steps"].items())[:8]
    print()
    print(
        "Slowest steps of the full run (seconds, peak GiB): "
        + "; ".join(f"{key} {step['seconds']:.1f} s, {_gb(step['peak_bytes'])} GiB" for key, step in slowest)
    )
    print(
        "Largest steps by peak memory: "
        + "; ".join(
            f"{key} {_gb(step['peak_bytes'])} GiB"
            for key, step in sorted(full["steps"].items(), key=lambda item: -item[1]["peak_bytes"])[:5]
        )
    )
    proportional = data_proportional_seconds(full)
    print()
    print(
        f"Hand-written DuckDB baseline: {baseline:.1f} s. Data-proportional part of the pipeline "
        f"(polars ingest + dbt build) {proportional:.1f} s = {proportional / baseline:.1f}x the baseline."
    )
    for table, report in comparison.items():
        print(
            f"Baseline vs marts.{table}: {report['pipeline_rows']:,} rows; differing {report['differing']}, "
            f"missing {report['missing']}, extra {report['extra']}"
        )
    if second and determinism:
        print()
        print(
            f"Second full run on the same inputs (forced): {second['seconds']:.1f} s. Its published tables "
            f"against the first run's ({determinism['tables']} tables): "
            f"{determinism['differing_marts_rows']} differing rows in the marts, "
            f"{determinism['differing_rows']} in all; {len(determinism['differences'])} tables differ."
        )
        for difference in determinism["differences"]:
            print(f"  {difference[:500]}")


def data_proportional_seconds(run: dict) -> float:
    """The stages whose work grows with the data and that the baseline also does."""
    return sum(run["stages"].get(name, {}).get("seconds", 0.0) for name in ("polars ingest", "dbt build"))


def print_growth(results: list[dict]) -> None:
    """One line per scale: how each cost grows with the data."""
    print()
    print("## Growth with scale")
    print()
    print(
        "| scale | diagnostic rows | A&E rows | full run s | unchanged rerun s | peak GiB | "
        "ingest + dbt build s | baseline s | ratio |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in results:
        proportional = data_proportional_seconds(r["full"])
        print(
            f"| {r['factor']:g} | {r['inputs']['diagnostic_rows']:,} | {r['inputs']['ae_rows']:,} | "
            f"{r['full']['seconds']:.1f} | {r['rerun']['seconds']:.1f} | {_gb(r['full']['peak_bytes'])} | "
            f"{proportional:.1f} | {r['baseline']:.1f} | {proportional / r['baseline']:.1f}x |"
        )


def benchmark_scale(factor: float, work_dir: Path) -> dict:
    """Generate (or reuse) the inputs at `factor`, run the job twice and the baseline once."""
    folder, inputs = prepare_inputs(work_dir, factor)
    runs = folder / "runs"
    shutil.rmtree(runs, ignore_errors=True)
    data_dir = runs / "data"
    print(f"scale {factor:g}: full nightly run ...", flush=True)
    full = run_job(folder / "config", data_dir, "full")
    print(f"scale {factor:g}: unchanged rerun ...", flush=True)
    rerun = run_job(folder / "config", data_dir, "rerun")
    published = data_dir / "warehouse" / "collab_health.duckdb"
    first_published = runs / "first_run.duckdb"
    shutil.copyfile(published, first_published)
    print(f"scale {factor:g}: second full run (forced), to compare with the first ...", flush=True)
    second = run_job(folder / "config", data_dir, "second", force=True)
    determinism = compare_runs(first_published, published)
    first_published.unlink()
    print(f"scale {factor:g}: hand-written baseline ...", flush=True)
    baseline, comparison = run_baseline(folder, published)
    return {
        "factor": factor,
        "inputs": inputs,
        "full": full,
        "rerun": rerun,
        "baseline": baseline,
        "comparison": comparison,
        "second": second,
        "determinism": determinism,
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scales", type=float, nargs="+", default=[0.1, 1.0, 3.0])
    parser.add_argument("--work-dir", type=Path, default=ROOT / "var" / "bench")
    parser.add_argument("--measure-run", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--started", type=float, help=argparse.SUPPRESS)
    parser.add_argument("--force", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.measure_run:
        sys.exit(measure_run(args.measure_run, args.started, args.force))
    results = [benchmark_scale(factor, args.work_dir) for factor in args.scales]
    for result in results:
        print_table(**result)
    print_growth(results)


if __name__ == "__main__":
    main()
