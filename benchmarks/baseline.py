"""A hand-written DuckDB SQL baseline for the national-scale benchmark (issue 8).

    .venv/bin/python benchmarks/baseline.py --config-dir config [--warehouse var/warehouse/collab_health.duckdb]
        [--output /tmp/baseline.duckdb] [--pipeline-seconds 95.0] [--print-sql]

`benchmarks/baseline.sql` computes `collaboration_health` and `system_metrics` straight
from the input files named by `sources.yaml` (diagnostic exports, Monthly A&E in the
original layout, the organisation reference), in one DuckDB process with 2 threads. This
module only renders it: small parameter tables from the configuration (codebooks,
collaborations, metric catalogue, SPC settings, the Monthly A&E header names, the
Windows-1252 byte table), the file lists and the metric catalogue's SQL expressions. All
the data work is DuckDB's.

`compare_with_warehouse` then joins the baseline's two tables with the pipeline's marts on
their keys and counts rows that differ, are missing or extra.
"""

from __future__ import annotations

import argparse
import math
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import duckdb  # noqa: E402

from ingest.codebook import REQUIRED_FIELDS, load_codebooks  # noqa: E402
from ingest.collaborations import load_collaborations  # noqa: E402
from ingest.landing import is_input_file  # noqa: E402
from ingest.layouts import load_layout  # noqa: E402
from ingest.metric_catalogue import load_metric_catalogue  # noqa: E402
from ingest.sources import is_url, load_sources  # noqa: E402
from ingest.spc_settings import load_spc_settings  # noqa: E402

SQL_PATH = Path(__file__).with_name("baseline.sql")
MIN_GROUP_SIZE = 5
THREADS = 2

#: Keys of the two result tables, and columns left out of the comparison (none: every
#: column of both marts is reproduced).
KEYS = {
    "collaboration_health": ["collaboration_id", "wave", "characteristic"],
    "system_metrics": ["entity_type", "entity_id", "metric_id", "period_month"],
}
EXCLUDED_COLUMNS: dict[str, list[str]] = {"collaboration_health": [], "system_metrics": []}


@dataclass
class BaselineResult:
    seconds: float
    collaboration_health_rows: int
    system_metrics_rows: int
    output_path: Path | None
    sql: str


# ---------------------------------------------------------------------------------------
# Rendering
# ---------------------------------------------------------------------------------------
def _literal(value) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if hasattr(value, "isoformat"):
        return f"date '{value.isoformat()}'"
    return "'" + str(value).replace("'", "''") + "'"


def _table(name: str, columns: dict[str, str], rows: list[tuple]) -> str:
    """`create temp table name (...)` filled with literal rows."""
    ddl = ", ".join(f"{column} {kind}" for column, kind in columns.items())
    sql = f"create or replace temp table {name} ({ddl});\n"
    if rows:
        values = ",\n    ".join("(" + ", ".join(_literal(v) for v in row) + ")" for row in rows)
        sql += f"insert into {name} values\n    {values};\n"
    return sql


def _files(locations: list[str]) -> list[Path]:
    """The local .csv files of a source's locations (folders non-recursive, or globs)."""
    found: list[Path] = []
    for location in locations:
        if is_url(location):
            raise ValueError(f"the baseline reads local files only, not {location}")
        path = Path(location)
        if path.is_dir():
            found += sorted(p for p in path.iterdir() if is_input_file(p, (".csv",)))
        else:
            import glob

            found += sorted(Path(p) for p in glob.glob(location, recursive=True) if is_input_file(Path(p), (".csv",)))
    return found


def _list(paths: list[Path]) -> str:
    return "[" + ", ".join(_literal(str(p)) for p in paths) + "]"


def _cp1252_table() -> list[tuple[str, str]]:
    rows = []
    for byte in range(0x80, 0x100):
        try:
            text = bytes([byte]).decode("cp1252")
        except UnicodeDecodeError:
            text = ""  # undefined in Windows-1252: dropped
        rows.append((f"{byte:02X}", text.encode("utf-8").hex().upper()))
    return rows


def _metric_value_selects(config_dir: Path) -> tuple[str, list[tuple], list[tuple]]:
    catalogue = load_metric_catalogue(config_dir / "metrics.yaml")
    selects = []
    for metric in catalogue.metrics:
        definition = metric.sources.get("monthly_ae")
        if definition is None:
            continue
        denominator = (
            f"cast(({definition.denominator}) as double)" if definition.denominator else "cast(null as double)"
        )
        where = f"where ({definition.filter})" if definition.filter else ""
        keep = "numerator is not null" + (" and denominator is not null" if definition.denominator else "")
        selects.append(
            f"    -- {metric.id}\n"
            f"    select {_literal(metric.id)} as metric_id, org_code, period_start,\n"
            f"        sum(numerator) as numerator, {'sum(denominator)' if definition.denominator else 'cast(null as double)'} as denominator\n"
            f"    from (select org_code, period_start,\n"
            f"            cast(({' '.join(definition.numerator.split())}) as double) as numerator,\n"
            f"            {' '.join(denominator.split())} as denominator\n"
            f"          from monthly_ae {where})\n"
            f"    where {keep}\n"
            f"    group by org_code, period_start"
        )
    if not selects:
        selects.append(
            "    select null::varchar as metric_id, null::varchar as org_code, null::date as period_start, "
            "null::double as numerator, null::double as denominator where false"
        )
    metrics = [(m.id, m.unit, m.polarity, m.target) for m in catalogue.metrics]
    definitions = [
        (m.id, source, d.denominator is not None) for m in catalogue.metrics for source, d in m.sources.items()
    ]
    return "\n    union all\n".join(selects), metrics, definitions


def render_sql(config_dir: Path, scratch_dir: Path) -> str:
    """The baseline script with its parameter tables and placeholders filled in."""
    config_dir = Path(config_dir)
    sources = load_sources(config_dir, {})  # the configuration's own locations, whatever the shell says
    diagnostic = _files(sources["diagnostic_exports"].locations)
    monthly_ae = _files(sources["monthly_ae"].locations)
    reference = _files(sources["organisations"].locations)

    def ref(pattern: str) -> list[Path]:
        return [p for p in reference if Path(p).match(pattern)]

    codebooks = load_codebooks(config_dir / "instruments")
    columns, items, characteristics, labels, missing = [], [], [], [], []
    for order, cb in enumerate(codebooks):
        for name, match in cb.fields.items():
            columns.append(
                (cb.instrument_id, order, "field", name, match.header, match.pattern, name in REQUIRED_FIELDS)
            )
        for item in cb.items:
            columns.append((cb.instrument_id, order, "item", item.id, item.header, item.pattern, True))
            items.append((cb.instrument_id, item.id, item.characteristic, item.reverse))
        for cid, c in cb.characteristics.items():
            characteristics.append((cb.instrument_id, cid, c.name, cb.scale.min, cb.scale.max))
        labels += [(cb.instrument_id, label, value) for label, value in cb.scale.labels.items()]
        missing += [(cb.instrument_id, label) for label in cb.scale.missing]

    collaborations = load_collaborations(config_dir / "collaborations.yaml").collaborations
    spc = load_spc_settings(config_dir / "spc.yaml")
    metric_values, metrics, definitions = _metric_value_selects(config_dir)

    files = [("diagnostic_exports", p) for p in diagnostic] + [("monthly_ae", p) for p in monthly_ae]
    file_rows = [(source, n, str(p), p.name) for n, (source, p) in enumerate(files)]
    empty = "[]"
    params = "".join(
        [
            "-- ===== parameter tables rendered by benchmarks/baseline.py from the configuration =====\n",
            _table(
                "p_files",
                {"source": "varchar", "file_no": "integer", "path": "varchar", "file_name": "varchar"},
                file_rows,
            ),
            _table(
                "p_codebook_columns",
                {
                    "instrument_id": "varchar",
                    "instrument_order": "integer",
                    "kind": "varchar",
                    "name": "varchar",
                    "header": "varchar",
                    "pattern": "varchar",
                    "required": "boolean",
                },
                columns,
            ),
            _table(
                "p_items",
                {
                    "instrument_id": "varchar",
                    "item_id": "varchar",
                    "characteristic_id": "varchar",
                    "is_reverse": "boolean",
                },
                items,
            ),
            _table(
                "p_characteristics",
                {
                    "instrument_id": "varchar",
                    "characteristic_id": "varchar",
                    "characteristic_name": "varchar",
                    "scale_min": "integer",
                    "scale_max": "integer",
                },
                characteristics,
            ),
            _table("p_scale_labels", {"instrument_id": "varchar", "label": "varchar", "value": "integer"}, labels),
            _table("p_scale_missing", {"instrument_id": "varchar", "label": "varchar"}, missing),
            _table(
                "p_collaborations",
                {"collaboration_id": "varchar", "collaboration_name": "varchar"},
                [(c.id, c.name) for c in collaborations],
            ),
            _table(
                "p_members",
                {"collaboration_id": "varchar", "org_code": "varchar", "joined_on": "date", "left_on": "date"},
                [(c.id, m.org, m.joined, m.left) for c in collaborations for m in c.members],
            ),
            _table(
                "p_waves",
                {"collaboration_id": "varchar", "wave": "integer", "fieldwork_start": "date", "fieldwork_end": "date"},
                [(c.id, w.wave, w.fieldwork_start, w.fieldwork_end) for c in collaborations for w in c.waves],
            ),
            _table(
                "p_metrics",
                {"metric_id": "varchar", "unit": "varchar", "polarity": "varchar", "target_value": "double"},
                metrics,
            ),
            _table(
                "p_metric_definitions",
                {"metric_id": "varchar", "source": "varchar", "has_denominator": "boolean"},
                definitions,
            ),
            _table(
                "p_spc_settings",
                {
                    "minimum_points": "integer",
                    "shift_points": "integer",
                    "trend_points": "integer",
                    "limit_multiplier": "double",
                    "close_to_limit_fraction": "double",
                    "screen_moving_range_outliers": "boolean",
                    "moving_range_outlier_multiplier": "double",
                    "moving_range_outlier_inclusive": "boolean",
                    "baseline_points": "integer",
                    "two_of_three_counts_points_beyond_limits": "boolean",
                    "conflicting_signals": "varchar",
                    "rules_cross_recalculation": "varchar",
                    "show_mean_below_minimum_points": "boolean",
                },
                [tuple(spc.rules.model_dump().values())],  # the convention's rules, with overrides
            ),
            _table(
                "p_spc_change_points",
                {
                    "metric_id": "varchar",
                    "entity_type": "varchar",
                    "entity_id": "varchar",
                    "change_month": "date",
                    "baseline_points": "integer",
                },
                [
                    (c.metric_id, c.entity_type, c.entity_id, c.change_month.replace(day=1), c.baseline_points)
                    for c in spc.change_points
                ],
            ),
            _table(
                "p_ae_columns",
                {"name": "varchar", "header": "varchar", "required": "boolean"},
                [
                    (name, header, column.is_required)
                    for name, column in load_layout(ROOT / "config" / "layouts" / "monthly_ae.yaml").columns.items()
                    for header in column.headers
                ],
            ),
            _table("p_cp1252", {"byte_hex": "varchar", "utf8_hex": "varchar"}, _cp1252_table()),
            "-- ===== end of parameter tables =====\n\n",
        ]
    )
    substitutions = {
        "{{ALL_TEXT_FILES}}": _list([p for _, p in files]),
        "{{SCRATCH_DIR}}": str(scratch_dir).replace("'", "''"),
        "{{ETR_FILES}}": _list(ref("etr*.csv")),
        "{{SUCCESSOR_FILES}}": _list(ref("*successor*.csv")),
        "{{PROVIDER_ICB_FILES}}": _list(ref("provider_to_icb*.csv")),
        "{{ICB_CROSSWALK_FILES}}": _list(ref("icb_code_crosswalk*.csv")),
        "{{MONTHLY_AE_METRIC_VALUES}}": metric_values,
        "{{MIN_GROUP_SIZE}}": str(MIN_GROUP_SIZE),
    }
    sql = SQL_PATH.read_text()
    for placeholder, value in substitutions.items():
        if value == empty:
            raise ValueError(f"no input files for {placeholder}: the baseline needs every source it reads")
        sql = sql.replace(placeholder, value)
    return params + sql


def run_baseline(config_dir: Path, output_path: Path | None = None) -> BaselineResult:
    """Run the baseline in one DuckDB process (in memory, or into `output_path`)."""
    with tempfile.TemporaryDirectory(prefix="baseline-") as scratch:
        sql = render_sql(Path(config_dir), Path(scratch))
        if output_path is not None:
            output_path = Path(output_path)
            output_path.unlink(missing_ok=True)
        db = duckdb.connect(str(output_path) if output_path else ":memory:")
        try:
            db.execute(f"set threads = {THREADS}")
            started = time.perf_counter()
            db.execute(sql)
            seconds = time.perf_counter() - started
            health = db.execute("select count(*) from collaboration_health").fetchone()[0]
            metrics = db.execute("select count(*) from system_metrics").fetchone()[0]
        finally:
            db.close()
    return BaselineResult(seconds, health, metrics, output_path, sql)


# ---------------------------------------------------------------------------------------
# Comparison with a pipeline warehouse
# ---------------------------------------------------------------------------------------
def _same(a, b, tolerance: float = 1e-9) -> bool:
    if a is None or b is None:
        return a is None and b is None
    if isinstance(a, float) or isinstance(b, float):
        if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
            return True
        return abs(a - b) <= tolerance * max(abs(a), abs(b)) or abs(a - b) <= 1e-12
    return a == b


def compare_with_warehouse(baseline_db: Path, warehouse: Path, examples: int = 0) -> dict:
    """Rows of the baseline's two tables that differ from, are missing from, or are extra
    to the pipeline's marts (numeric columns within 1e-9 relative)."""
    db = duckdb.connect()
    db.execute(f"attach '{baseline_db}' as baseline (read_only)")
    db.execute(f"attach '{warehouse}' as pipeline (read_only)")
    report: dict = {}
    for table, keys in KEYS.items():
        pipeline_columns = [r[0] for r in db.execute(f"describe pipeline.marts.{table}").fetchall()]
        baseline_columns = {r[0] for r in db.execute(f"describe baseline.main.{table}").fetchall()}
        compared = [c for c in pipeline_columns if c not in keys and c not in EXCLUDED_COLUMNS[table]]
        not_produced = [c for c in compared if c not in baseline_columns]
        compared = [c for c in compared if c in baseline_columns]
        on = " and ".join(f"b.{k} is not distinct from p.{k}" for k in keys)
        select = ", ".join(
            [f"coalesce(b.{k}, p.{k}) as {k}" for k in keys] + [f"b.{c} as b_{c}, p.{c} as p_{c}" for c in compared]
        )
        rows = db.execute(
            f"select {select}, b.{keys[0]} is not null as in_baseline, p.{keys[0]} is not null as in_pipeline "
            f"from baseline.main.{table} as b full outer join pipeline.marts.{table} as p on {on}"
        ).fetchall()
        width = len(keys)
        differing, missing, extra, by_column, shown = 0, 0, 0, {}, []
        for row in rows:
            in_baseline, in_pipeline = row[-2], row[-1]
            if not in_baseline:
                missing += 1
                continue
            if not in_pipeline:
                extra += 1
                continue
            bad = [c for i, c in enumerate(compared) if not _same(row[width + 2 * i], row[width + 2 * i + 1])]
            if bad:
                differing += 1
                for c in bad:
                    by_column[c] = by_column.get(c, 0) + 1
                if len(shown) < examples:
                    shown.append(
                        {
                            "key": row[:width],
                            **{
                                c: (row[width + 2 * compared.index(c)], row[width + 2 * compared.index(c) + 1])
                                for c in bad
                            },
                        }
                    )
        report[table] = {
            "pipeline_rows": db.execute(f"select count(*) from pipeline.marts.{table}").fetchone()[0],
            "baseline_rows": db.execute(f"select count(*) from baseline.main.{table}").fetchone()[0],
            "differing": differing,
            "missing": missing,
            "extra": extra,
            "differing_by_column": by_column,
            "excluded_columns": EXCLUDED_COLUMNS[table],
            "not_produced_columns": not_produced,
            **({"examples": shown} if examples else {}),
        }
    db.close()
    return report


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config-dir", type=Path, default=ROOT / "config")
    parser.add_argument("--warehouse", type=Path, help="a pipeline warehouse to compare with")
    parser.add_argument("--output", type=Path, help="keep the baseline's database here (default: a temporary file)")
    parser.add_argument("--examples", type=int, default=3, help="differing rows to show per table")
    parser.add_argument("--print-sql", action="store_true", help="print the rendered SQL and stop")
    parser.add_argument(
        "--pipeline-seconds", type=float, help="the pipeline's time for the same inputs: prints the ratio"
    )
    args = parser.parse_args(argv)
    if args.print_sql:
        with tempfile.TemporaryDirectory() as scratch:
            print(render_sql(args.config_dir, Path(scratch)))
        return
    with tempfile.TemporaryDirectory(prefix="baseline-out-") as folder:
        output = args.output or Path(folder) / "baseline.duckdb"
        result = run_baseline(args.config_dir, output)
        print(
            f"baseline: {result.seconds:.2f} s in one DuckDB process ({THREADS} threads): "
            f"collaboration_health {result.collaboration_health_rows:,} rows, system_metrics {result.system_metrics_rows:,} rows"
        )
        if args.pipeline_seconds:
            print(
                f"pipeline / baseline time: {args.pipeline_seconds:.2f} s / {result.seconds:.2f} s = {args.pipeline_seconds / result.seconds:.1f}x"
            )
        if args.warehouse:
            for table, counts in compare_with_warehouse(output, args.warehouse, args.examples).items():
                print(
                    f"{table}: pipeline {counts['pipeline_rows']:,} rows, baseline {counts['baseline_rows']:,}; "
                    f"differing {counts['differing']}, missing {counts['missing']}, extra {counts['extra']}"
                    + (f"; by column {counts['differing_by_column']}" if counts["differing_by_column"] else "")
                    + (f"; not produced {counts['not_produced_columns']}" if counts["not_produced_columns"] else "")
                )
                for example in counts.get("examples", []):
                    print(f"    {example}")


if __name__ == "__main__":
    main()
