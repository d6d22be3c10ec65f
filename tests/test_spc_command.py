"""`collab-health spc INPUT.csv` on a small CSV written here: the nightly build's SPC model
(compiled by dbt, run in DuckDB, no Dagster), one output row per input row in input order.

Hand-worked series (months from January 2023):
- `beyond` (higher is better, target 10): 50, 52, 50, 48, 50, 82, 50, 48, 50, 52, 50, 18, 50
  and a 14th month without a value. Mean 650 / 13 = 50; moving ranges eight 2s and four 32s
  = 144, mR-bar 12; limits 50 ± 31.92 = 18.08 and 81.92, close lines 50 ± 21.28 = 28.72 and
  71.28. 82 is above the upper limit (improvement), 18 below the lower (concern); the target
  10 is below the lower limit: consistently_pass. Written to the file newest month first.
- `short` (neutral, target 5): 10, 12, 10, 8. Making Data Count: 4 points < 13, so only the
  mean 10; NHSRplotthedots: limits from any number of points: mR-bar 2, 4.68 and 15.32,
  common cause, and no assurance (a neutral metric's target gives none).
- `stepped` (lower is better, target 30, baseline_points 12, new_segment on February 2024):
  10, 12, 10, 8 three times and 15 (January 2023 to January 2024), then 20, 22, 20, 18 three
  times and 25. Each segment's lines come from its first 12 points: means 10 and 20, mR-bar
  22 / 11 = 2, limits 4.68–15.32 and 14.68–25.32; both upper limits are below the target:
  consistently_pass. 15 and 25 are beyond their close lines alone: common cause.
"""

from __future__ import annotations

import csv
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parent.parent
COLLAB_HEALTH = Path(sys.executable).with_name("collab-health")


def month(index: int) -> str:
    return f"{2023 + index // 12}-{index % 12 + 1:02d}-01"


def small_csv(path: Path) -> Path:
    rows = [("series_id", "period", "value", "polarity", "target", "new_segment", "baseline_points")]
    beyond = [50, 52, 50, 48, 50, 82, 50, 48, 50, 52, 50, 18, 50, None]
    for i in reversed(range(len(beyond))):
        value = "" if beyond[i] is None else beyond[i]
        rows.append(("beyond", month(i), value, "higher_is_better" if i == 0 else "", 10 if i == 0 else "", "", ""))
    for i, value in enumerate([10, 12, 10, 8]):
        rows.append(("short", month(i), value, "neutral", 5, "", ""))
    stepped = [10, 12, 10, 8] * 3 + [15] + [20, 22, 20, 18] * 3 + [25]
    for i, value in enumerate(stepped):
        rows.append(("stepped", month(i), value, "lower_is_better", 30, "true" if i == 13 else "", 12))
    with open(path, "w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows(rows)
    return path


def run_spc(*args: str) -> tuple[subprocess.CompletedProcess, list[dict[str, str]] | None, bool]:
    """Run the CLI's `spc` command in a fresh interpreter; (result, output rows, whether
    Dagster was imported)."""
    script = (
        "import sys\n"
        "from orchestration.cli import main\n"
        "try:\n"
        f"    main({['spc', *args]!r})\n"
        "except SystemExit as stop:\n"
        "    print('DAGSTER' if 'dagster' in sys.modules else 'NO DAGSTER', file=sys.stderr)\n"
        "    raise\n"
    )
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True)
    output = Path(args[args.index("--output") + 1]) if "--output" in args else None
    rows = list(csv.DictReader(output.open())) if output and output.exists() else None
    return done, rows, "NO DAGSTER" not in done.stderr


def test_spc_command_charts_a_small_csv_in_input_order(tmp_path):
    source = small_csv(tmp_path / "mine.csv")
    started = time.monotonic()
    done, rows, dagster = run_spc(str(source), "--output", str(tmp_path / "out.csv"))
    seconds = time.monotonic() - started
    assert done.returncode == 0, done.stderr
    assert not dagster
    assert "44 rows, 3 series" in done.stderr and "making_data_count" in done.stderr
    print(f"collab-health spc on {len(rows)} rows: {seconds:.1f} s")

    with open(source, encoding="utf-8") as handle:
        given = list(csv.DictReader(handle))
    assert [(r["series_id"], r["period"]) for r in rows] == [(r["series_id"], r["period"]) for r in given]
    assert list(rows[0]) == [
        "series_id",
        "period",
        "value",
        "spc_mean",
        "spc_lower",
        "spc_upper",
        "spc_lower_close",
        "spc_upper_close",
        "spc_signal",
        "spc_rules",
        "spc_assurance",
    ]

    def line(row):
        return tuple(row[c] for c in ("spc_mean", "spc_lower", "spc_upper", "spc_lower_close", "spc_upper_close"))

    beyond = {r["period"]: r for r in rows if r["series_id"] == "beyond"}
    gap = beyond.pop("2024-02-01")
    assert gap["value"] == gap["spc_mean"] == gap["spc_signal"] == ""
    assert {line(r) for r in beyond.values()} == {("50.0", "18.08", "81.92", "28.72", "71.28")}
    signals = {p: (r["spc_signal"], r["spc_rules"]) for p, r in beyond.items() if r["spc_signal"] != "common_cause"}
    assert signals == {
        "2023-06-01": ("improvement", "above_upper_limit"),
        "2023-12-01": ("concern", "below_lower_limit"),
    }
    assert {r["spc_assurance"] for r in beyond.values()} == {"consistently_pass"}

    short = [r for r in rows if r["series_id"] == "short"]
    assert [(*line(r), r["spc_signal"], r["spc_assurance"]) for r in short] == [("10.0", "", "", "", "", "", "")] * 4

    stepped = [r for r in rows if r["series_id"] == "stepped"]
    assert {line(r)[:3] for r in stepped[:13]} == {("10.0", "4.68", "15.32")}
    assert {line(r)[:3] for r in stepped[13:]} == {("20.0", "14.68", "25.32")}
    assert {(r["spc_signal"], r["spc_assurance"]) for r in stepped} == {("common_cause", "consistently_pass")}


def test_spc_command_takes_a_named_convention(tmp_path):
    source = small_csv(tmp_path / "mine.csv")
    done, rows, _ = run_spc(str(source), "--convention", "nhsrplotthedots", "--output", str(tmp_path / "out.csv"))
    assert done.returncode == 0, done.stderr
    assert "convention nhsrplotthedots" in done.stderr
    short = [r for r in rows if r["series_id"] == "short"]
    assert {(r["spc_mean"], r["spc_lower"], r["spc_upper"], r["spc_signal"], r["spc_assurance"]) for r in short} == {
        ("10.0", "4.68", "15.32", "common_cause", "")
    }


def test_spc_command_says_what_is_wrong_with_a_bad_file(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("series_id,period,value,polarity\na,2024-01-01,1,up\na,2024-02-01,two,\n", encoding="utf-8")
    done = subprocess.run([str(COLLAB_HEALTH), "spc", str(bad)], capture_output=True, text=True)
    assert done.returncode == 1
    assert done.stdout == ""
    assert done.stderr.splitlines() == [
        "collab-health spc: bad.csv row 2, column polarity: unknown polarity "
        "(expected higher_is_better, lower_is_better, neutral)",
        "bad.csv row 3, column value: not a number",
    ]
    missing = tmp_path / "missing.csv"
    missing.write_text("series_id,period\na,1\n", encoding="utf-8")
    done = subprocess.run([str(COLLAB_HEALTH), "spc", str(missing)], capture_output=True, text=True)
    assert (done.returncode, done.stderr.strip()) == (1, "collab-health spc: missing.csv: missing column 'value'")
