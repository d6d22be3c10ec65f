"""`collab-health spc INPUT.csv`: SPC for any series, with the nightly build's own SPC model.

The model (dbt_project/models/intermediate/int_system_metrics__spc.sql) is compiled by dbt
once per version of the dbt project (cached in dbt_project/target/spc_command; a compile
takes 5-10 s, a cached run well under a second) and run in an in-memory DuckDB on tables
made from the CSV: the four tables the model reads, with each series as one metric of one
entity. No Dagster, no warehouse.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from orchestration.settings import DBT_PROJECT_DIR

SPC_MODEL = "int_system_metrics__spc"
#: The models the SPC model reads, which the command makes from the input.
SERIES, METRICS, SETTINGS, CHANGE_POINTS = (
    "int_system_metrics__series",
    "stg_config__metrics",
    "stg_config__spc_settings",
    "stg_config__spc_change_points",
)
#: The dbt files a compile depends on (the cache is keyed on their content).
DBT_CODE = ("dbt_project/models", "dbt_project/macros", "dbt_project/dbt_project.yml", "dbt_project/profiles.yml")
CACHE_DIR = DBT_PROJECT_DIR / "target" / "spc_command"
#: The database name the compiled SQL refers to (the compile's scratch warehouse file).
DATABASE = "spc_input"
OUTPUT_COLUMNS = (
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
)


class SpcCommandError(RuntimeError):
    pass


@dataclass(frozen=True)
class CompiledModel:
    """The SPC model's SQL as dbt compiles it, and the (database, schema, table) of each model
    it reads."""

    sql: str
    inputs: dict[str, tuple[str, str, str]]


def _compile(target: Path) -> CompiledModel:
    from orchestration.settings import settings

    dbt = Path(sys.executable).with_name("dbt")
    # dbt opens the profile's warehouse even to compile: a scratch file beside the cache.
    env = {**os.environ, **settings().dbt_environment(target / f"{DATABASE}.duckdb")}
    done = subprocess.run(
        [str(dbt), "compile", "--select", SPC_MODEL, "--quiet", "--target-path", str(target)],
        cwd=DBT_PROJECT_DIR,
        capture_output=True,
        text=True,
        env=env,
    )
    if done.returncode != 0:
        detail = (done.stdout + done.stderr).strip()[-2000:]
        raise SpcCommandError(f"dbt could not compile the SPC model:\n{detail}")
    nodes = json.loads((target / "manifest.json").read_text())["nodes"]
    model = next(n for n in nodes.values() if n["resource_type"] == "model" and n["name"] == SPC_MODEL)
    inputs = {
        nodes[p]["name"]: (nodes[p]["database"], nodes[p]["schema"], nodes[p]["alias"])
        for p in model["depends_on"]["nodes"]
    }
    if set(inputs) != {SERIES, METRICS, SETTINGS, CHANGE_POINTS}:
        raise SpcCommandError(
            f"the SPC model reads {', '.join(sorted(inputs))}; this command provides only "
            f"{SERIES}, {METRICS}, {SETTINGS} and {CHANGE_POINTS}: update orchestration/spc_command.py"
        )
    return CompiledModel(sql=model["compiled_code"], inputs=inputs)


def compiled_spc_model(cache_dir: Path = CACHE_DIR) -> CompiledModel:
    """The compiled SPC model, from the cache when the dbt project has not changed since."""
    from orchestration.run_state import code_digest

    digest = code_digest(DBT_CODE)
    cache = cache_dir / "compiled.json"
    if cache.exists():
        cached = json.loads(cache.read_text())
        if cached.get("digest") == digest:
            return CompiledModel(sql=cached["sql"], inputs={k: tuple(v) for k, v in cached["inputs"].items()})
    cache_dir.mkdir(parents=True, exist_ok=True)
    compiled = _compile(cache_dir / "dbt")
    with tempfile.NamedTemporaryFile("w", dir=cache_dir, delete=False, suffix=".tmp") as handle:
        json.dump({"digest": digest, "sql": compiled.sql, "inputs": compiled.inputs}, handle)
    os.replace(handle.name, cache)
    return compiled


def load_model_inputs(connection, model: CompiledModel, series, metrics, rules, change_points) -> None:
    """Make the tables the compiled model reads on `connection` (DuckDB), from polars frames.
    `series`: entity_type, entity_id, metric_id, period_month, value (numerator, denominator
    optional); `metrics`: metric_id, polarity, target_value; `rules`: SpcRules;
    `change_points`: as clean.spc_change_points."""
    import polars as pl

    from ingest.spc_settings import CHANGE_POINTS_SCHEMA, settings_table

    for column in ("numerator", "denominator"):
        if column not in series.columns:
            series = series.with_columns(pl.lit(None, dtype=pl.Float64).alias(column))
    frames = {
        SERIES: series.select(
            pl.col("entity_type", "entity_id", "metric_id").cast(pl.String),
            pl.col("period_month").cast(pl.Date),
            pl.col("numerator", "denominator", "value").cast(pl.Float64),
        ),
        METRICS: metrics.select(
            pl.col("metric_id", "polarity").cast(pl.String), pl.col("target_value").cast(pl.Float64)
        ),
        SETTINGS: settings_table(rules),
        CHANGE_POINTS: change_points.select([pl.col(c).cast(t) for c, t in CHANGE_POINTS_SCHEMA.items()]),
    }
    databases = {database for database, _, _ in model.inputs.values()}
    attached = {row[0] for row in connection.execute("select database_name from duckdb_databases()").fetchall()}
    for database in databases - attached:
        connection.execute(f"attach ':memory:' as \"{database}\"")
    for name, (database, schema, table) in model.inputs.items():
        connection.execute(f'create schema if not exists "{database}"."{schema}"')
        connection.register("spc_input_frame", frames[name])
        connection.execute(
            f'create or replace table "{database}"."{schema}"."{table}" as select * from spc_input_frame'
        )
        connection.unregister("spc_input_frame")


def run_spc_model(connection, model: CompiledModel, series, metrics, rules, change_points):
    """The compiled model's rows (a polars frame) over the given inputs (see load_model_inputs)."""
    load_model_inputs(connection, model, series, metrics, rules, change_points)
    return connection.sql(model.sql).pl()


def chart_input(path: Path, rules, model: CompiledModel | None = None):
    """The SPC rows of every point in the file at `path`, in input order (OUTPUT_COLUMNS).
    The input is read (and checked) before the model is compiled."""
    import duckdb
    import polars as pl

    from ingest.spc_input import read_spc_input

    data = read_spc_input(path)
    points = data.points
    series = points.select(
        pl.lit("series").alias("entity_type"),
        pl.col("series_id").alias("entity_id"),
        pl.col("series_id").alias("metric_id"),
        pl.col("period_date").alias("period_month"),
        "value",
    )
    metrics = data.series.select(
        pl.col("series_id").alias("metric_id"), "polarity", pl.col("target").alias("target_value")
    )
    # A new segment on a marked point; a series' baseline_points applies to every segment,
    # its first too (a change point on its first period).
    first_periods = points.group_by("series_id").agg(pl.col("period_date").min())
    change_points = (
        pl.concat(
            [
                data.segment_starts,
                first_periods.join(data.series.filter(pl.col("baseline_points").is_not_null()), on="series_id").select(
                    "series_id", "period_date"
                ),
            ]
        )
        .unique()
        .join(data.series.select("series_id", "baseline_points"), on="series_id", how="left")
        .select(
            pl.col("series_id").alias("metric_id"),
            pl.lit(None, dtype=pl.String).alias("entity_type"),
            pl.lit(None, dtype=pl.String).alias("entity_id"),
            pl.col("period_date").alias("change_month"),
            "baseline_points",
            pl.lit("input").alias("reason"),
        )
    )
    model = model or compiled_spc_model()
    with duckdb.connect(":memory:") as connection:
        charted = run_spc_model(connection, model, series, metrics, rules, change_points)
    return (
        points.join(
            charted.rename({"entity_id": "series_id", "period_month": "period_date"}).drop("value"),
            on=["series_id", "period_date"],
            how="left",
        )
        .sort("source_row")
        .select(OUTPUT_COLUMNS)
    )


def add_subcommand(commands) -> None:
    """`collab-health spc`'s arguments, on the CLI's subparsers."""
    from ingest.spc_settings import CONVENTIONS

    spc = commands.add_parser(
        "spc",
        help="SPC (XmR chart) of the series in a CSV, with the nightly build's SPC model",
        description="Columns: series_id, period (ISO date or integer position), value; optional: polarity "
        "(higher_is_better, lower_is_better, neutral), target, new_segment (true on a recalculation's first "
        "point), baseline_points. Writes one row per input row, in input order.",
    )
    spc.add_argument("input", type=Path, help="the CSV (or XLSX) file")
    spc.add_argument(
        "--convention",
        choices=list(CONVENTIONS),
        help="use this convention's rules as they are (default: config/spc.yaml's convention and overrides)",
    )
    spc.add_argument("--output", type=Path, help="write the rows to this CSV (default: standard output)")


def run(args: argparse.Namespace) -> int:
    """Run `collab-health spc`; 0 on success, 1 with a message on stderr for a bad input."""
    started = time.monotonic()
    from ingest.files import InputFileError
    from ingest.spc_settings import SpcSettingsError, convention_rules, load_spc_settings
    from orchestration.settings import SettingsError, settings

    try:
        if args.convention:
            rules, source = convention_rules(args.convention), f"convention {args.convention}"
        else:
            config = settings().config_dir / "spc.yaml"
            settings = load_spc_settings(config)
            rules, source = settings.rules, f"{config} (convention {settings.convention})"
        charted = chart_input(args.input, rules)
    except (InputFileError, SpcSettingsError, SettingsError, SpcCommandError, ValueError) as error:
        print(f"collab-health spc: {error}", file=sys.stderr)
        return 1
    if args.output:
        charted.write_csv(args.output)
    else:
        sys.stdout.write(charted.write_csv())
    series = charted.get_column("series_id").n_unique()
    print(
        f"collab-health spc: {charted.height} rows, {series} series, rules of {source}"
        f"{f', written to {args.output}' if args.output else ''} ({time.monotonic() - started:.1f} s)",
        file=sys.stderr,
    )
    return 0
