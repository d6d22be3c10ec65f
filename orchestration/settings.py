"""Every setting the project takes from the environment, and where its folders are.

This module owns the ``COLLAB_HEALTH_*`` variables (and the default of ``DAGSTER_HOME``):
the rest of the code asks it, never ``os.environ``. It imports neither Dagster nor dbt, so
the command line can decide what to do (skip an unchanged run, refuse a bad setting)
before paying for them.

| variable | default | meaning |
| --- | --- | --- |
| ``COLLAB_HEALTH_DATA_DIR`` | ``var`` | landing copies, warehouses, reports, docs, Dagster's state |
| ``COLLAB_HEALTH_CONFIG_DIR`` | ``config`` | instruments, collaborations, sources, metrics, SPC |
| ``COLLAB_HEALTH_<SOURCE>_SOURCE`` | from ``sources.yaml`` | one source's location |
| ``COLLAB_HEALTH_PSEUDONYM_KEY`` | none | the secret key respondent ids are hashed with |
| ``COLLAB_HEALTH_MODE`` | ``demo`` | ``demo`` or ``production`` (anything else is refused) |
| ``COLLAB_HEALTH_DUCKDB_MEMORY_LIMIT`` | ``512MB`` | DuckDB's memory limit in the dbt build and the run's warehouse connections |
| ``COLLAB_HEALTH_DUCKDB_THREADS`` | ``2`` | DuckDB's threads in the dbt build (the marts do not depend on it) |
| ``COLLAB_HEALTH_WAREHOUSE`` | (set by the pipeline) | the working warehouse dbt builds into |
| ``COLLAB_HEALTH_ENGINE`` | ``duckdb`` | what dbt builds on: ``duckdb``, or ``spark`` (a local Spark session; ``make spark-setup``) |
| ``COLLAB_HEALTH_SPARK_MEMORY`` | ``2g`` | the Spark driver's memory (engine ``spark``) |
| ``COLLAB_HEALTH_SPARK_DIR``, ``_INPUTS``, ``_LOG4J`` | (set by the pipeline) | the Spark folders and log settings the spark target reads |

With the ``spark`` engine the clean stage also writes its tables as Parquet under
``<data folder>/spark/inputs``, dbt builds with the profile's ``spark`` target (its warehouse
and metastore under ``<data folder>/spark``), and the marts are read back into the working
DuckDB file, so publishing, reports and the analysts' file are as with DuckDB (README,
"Running on Spark / Databricks").
"""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DBT_PROJECT_DIR = PROJECT_ROOT / "dbt_project"
PREFIX = "COLLAB_HEALTH_"
MODES = ("demo", "production")
#: What dbt builds on; each is a target in dbt_project/profiles.yml.
ENGINES = ("duckdb", "spark")
DBT_TARGETS = {"duckdb": "local", "spark": "spark"}
#: ``COLLAB_HEALTH_<SOURCE>_SOURCE``: a source's location, overriding ``sources.yaml``.
SOURCE_VARIABLE = re.compile(rf"{PREFIX}(?P<source>[A-Z0-9_]+)_SOURCE")
#: The settings a run's outputs depend on (the key is fingerprinted separately, hashed).
#: Not DuckDB's thread count: the marts are the same whatever it is (README, "Same inputs,
#: same marts").
RUN_SHAPING = ("COLLAB_HEALTH_MODE", "COLLAB_HEALTH_DUCKDB_MEMORY_LIMIT", "COLLAB_HEALTH_ENGINE")
#: Telemetry off everywhere: Dagster, dbt (and anything honouring DO_NOT_TRACK), GE.
TELEMETRY_OFF = {"DAGSTER_DISABLE_TELEMETRY": "1", "DO_NOT_TRACK": "1", "GX_ANALYTICS_ENABLED": "false"}


class SettingsError(ValueError):
    """A setting in the environment that cannot be used; the message names the variable."""


@dataclass(frozen=True)
class Settings:
    data_dir: Path
    config_dir: Path
    mode: str = "demo"
    pseudonym_key: str = field(default="", repr=False)
    duckdb_memory_limit: str = "512MB"
    duckdb_threads: int = 2
    engine: str = "duckdb"
    spark_memory: str = "2g"
    #: Source location overrides: ``COLLAB_HEALTH_<SOURCE>_SOURCE`` variable -> value.
    source_overrides: Mapping[str, str] = field(default_factory=dict)
    dagster_home: Path | None = None

    @classmethod
    def from_environ(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """The settings in `environ` (the process environment by default)."""
        environ = os.environ if environ is None else environ
        data_dir = Path(environ.get(f"{PREFIX}DATA_DIR") or PROJECT_ROOT / "var").expanduser().resolve()
        config_dir = Path(environ.get(f"{PREFIX}CONFIG_DIR") or PROJECT_ROOT / "config").expanduser().resolve()
        mode = (environ.get(f"{PREFIX}MODE") or "demo").strip().lower()
        if mode not in MODES:
            raise SettingsError(
                f"{PREFIX}MODE is {environ.get(f'{PREFIX}MODE')!r}; it must be one of: {', '.join(MODES)}"
            )
        threads = (environ.get(f"{PREFIX}DUCKDB_THREADS") or "2").strip()
        if not threads.isdigit() or int(threads) < 1:
            raise SettingsError(
                f"{PREFIX}DUCKDB_THREADS is {threads!r}; it must be a whole number of threads, 1 or more"
            )
        engine = (environ.get(f"{PREFIX}ENGINE") or "duckdb").strip().lower()
        if engine not in ENGINES:
            raise SettingsError(
                f"{PREFIX}ENGINE is {environ.get(f'{PREFIX}ENGINE')!r}; it must be one of: {', '.join(ENGINES)}"
            )
        home = environ.get("DAGSTER_HOME")
        return cls(
            data_dir=data_dir,
            config_dir=config_dir,
            mode=mode,
            pseudonym_key=environ.get(f"{PREFIX}PSEUDONYM_KEY", ""),
            duckdb_memory_limit=(environ.get(f"{PREFIX}DUCKDB_MEMORY_LIMIT") or "512MB").strip(),
            duckdb_threads=int(threads),
            engine=engine,
            spark_memory=(environ.get(f"{PREFIX}SPARK_MEMORY") or "2g").strip(),
            source_overrides={name: value for name, value in environ.items() if SOURCE_VARIABLE.fullmatch(name)},
            dagster_home=Path(home).expanduser().resolve() if home else None,
        )

    @property
    def production(self) -> bool:
        return self.mode == "production"

    @property
    def published_warehouse(self) -> Path:
        """The file analysts open, read-only; replaced whole, atomically, by each healthy run."""
        return self.data_dir / "warehouse" / "collab_health.duckdb"

    @property
    def build_warehouse(self) -> Path:
        """The working warehouse a run builds into; never opened by analysts."""
        return self.data_dir / "warehouse" / "build" / "collab_health.duckdb"

    @property
    def reports_dir(self) -> Path:
        return self.data_dir / "reports"

    @property
    def chart_cache_dir(self) -> Path:
        """The reports' charts as last drawn, by a hash of their inputs (reports/charts.py)."""
        return self.data_dir / "state" / "charts"

    @property
    def docs_file(self) -> Path:
        return self.data_dir / "docs" / "collab_health_dbt_docs.html"

    @property
    def logs_dir(self) -> Path:
        return self.data_dir / "logs"

    @property
    def lock_file(self) -> Path:
        """One lock per data folder: held by a run from before Dagster's instance is opened."""
        return self.data_dir / "collab-health.lock"

    @property
    def instance_dir(self) -> Path:
        """Dagster's home: ``DAGSTER_HOME`` when set, else ``<data folder>/dagster``."""
        return self.dagster_home or self.data_dir / "dagster"

    @property
    def spark_dir(self) -> Path:
        """The local Spark session's folder: Parquet inputs, warehouse and metastore."""
        return self.data_dir / "spark"

    @property
    def spark_inputs(self) -> Path:
        """Where the clean stage writes its tables as Parquet for Spark (``<schema>/<table>/``)."""
        return self.spark_dir / "inputs"

    @property
    def spark_warehouse(self) -> Path:
        """Spark's warehouse folder: each schema in ``<schema>.db/``, each table a folder of Parquet."""
        return self.spark_dir / "warehouse"

    @property
    def dbt_target(self) -> str:
        """The target of dbt_project/profiles.yml the engine builds with."""
        return DBT_TARGETS[self.engine]

    def landing(self, source: str) -> Path:
        return self.data_dir / "landing" / source

    def run_shaping_values(self) -> dict[str, str]:
        """The settings (other than the key) that change what a run builds."""
        values = {"COLLAB_HEALTH_MODE": self.mode, "COLLAB_HEALTH_DUCKDB_MEMORY_LIMIT": self.duckdb_memory_limit}
        if self.engine != "duckdb":  # so that a DuckDB project's fingerprint is as before
            values["COLLAB_HEALTH_ENGINE"] = self.engine
        return values

    def dbt_environment(self, warehouse: Path | str | None = None) -> dict[str, str]:
        """What ``dbt_project/profiles.yml`` reads: the warehouse to build, DuckDB's limit and
        threads, and (for the spark target) the Spark folders."""
        return {
            f"{PREFIX}WAREHOUSE": str(warehouse or self.build_warehouse),
            f"{PREFIX}DUCKDB_MEMORY_LIMIT": self.duckdb_memory_limit,
            f"{PREFIX}DUCKDB_THREADS": str(self.duckdb_threads),
            f"{PREFIX}SPARK_DIR": str(self.spark_dir),
            f"{PREFIX}SPARK_INPUTS": str(self.spark_inputs),
            f"{PREFIX}SPARK_MEMORY": self.spark_memory,
            f"{PREFIX}SPARK_LOG4J": str(DBT_PROJECT_DIR / "spark-log4j2.properties"),
            **TELEMETRY_OFF,
        }

    def engine_problem(self) -> str | None:
        """Why the configured engine cannot run here (a missing package or Java), or None."""
        if self.engine != "spark":
            return None
        missing = [name for name in ("pyspark", "dbt.adapters.spark") if not _importable(name)]
        if missing:
            return (
                f"{PREFIX}ENGINE=spark needs pyspark and dbt-spark[session] (missing: {', '.join(missing)}); "
                "install them with `make spark-setup` (the lock file's optional 'spark' group)"
            )
        if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
            return f"{PREFIX}ENGINE=spark needs a Java runtime (17 or later): e.g. `apt-get install openjdk-17-jre-headless`"
        return None


def _importable(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except ModuleNotFoundError:
        return False


def settings() -> Settings:
    """The settings of this process's environment (read afresh: tests change it)."""
    return Settings.from_environ()


def telemetry_off() -> None:
    """Turn telemetry off for this process and the tools it starts (unless set otherwise)."""
    for name, value in TELEMETRY_OFF.items():
        os.environ.setdefault(name, value)
