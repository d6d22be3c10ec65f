"""What `collab-health run` shows while the nightly job runs, and the run's log file.

The terminal gets one line per stage as the stage finishes (pull, clean, checks, dbt,
docs, publish, reports) with its counts and seconds, and each distinct warning or error
once. Everything else Dagster and dbt say (dbt's line per node, every file's row counts)
goes to the run's log file, ``<data folder>/logs/<run id>.log``; ``--verbose`` prints it
too. The lines come from a Dagster logger attached to the job for the command-line run.
"""

from __future__ import annotations

import io
import logging
import sys
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager, redirect_stdout
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

#: The stages of the nightly run, in order, and how a step's key says which it belongs to.
STAGES = ("pull", "clean", "checks", "dbt", "docs", "publish", "reports")
DBT_STEP = "dbt_models"


def stage_of(step_key: str) -> str:
    """The stage a step of the nightly job belongs to (asset checks are "checks")."""
    if step_key.startswith("landing__"):
        return "pull"
    if step_key == DBT_STEP:
        return "dbt"
    if step_key.startswith("docs__"):
        return "docs"
    if step_key.startswith("published__"):
        return "publish"
    if step_key.startswith("reports__"):
        return "reports"
    if step_key.startswith("clean_") and not step_key.startswith("clean__"):
        return "clean"
    return "checks"


@dataclass
class Stage:
    name: str
    steps: int
    done: int = 0
    failed: int = 0
    skipped: int = 0
    seconds: float = 0.0
    printed: bool = False
    counts: Counter = field(default_factory=Counter)
    notes: list[str] = field(default_factory=list)

    @property
    def finished(self) -> bool:
        return self.done + self.failed + self.skipped >= self.steps


def _value(metadata: dict, key: str) -> Any:
    entry = metadata.get(key)
    return getattr(entry, "value", entry)


class RunConsole:
    """Receives every log record of a run: prints stage lines, warnings and errors, and writes
    every record to the log file."""

    def __init__(
        self, step_keys: list[str], dbt_models: int, log_path: Path, verbose: bool = False, out: IO = sys.stdout
    ):
        self.stages = {name: Stage(name, sum(stage_of(k) == name for k in step_keys)) for name in STAGES}
        self.dbt_models = dbt_models
        self.verbose = verbose
        self.out = out
        self.log_path = log_path
        log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log = open(log_path, "w", encoding="utf-8")
        self._said: Counter = Counter()
        self.sources_loaded: dict[str, dict] = {}

    # -- what the logger calls -----------------------------------------------------------
    def handle(self, record: logging.LogRecord) -> None:
        meta = getattr(record, "dagster_meta", {}) or {}
        event = meta.get("dagster_event")
        step = meta.get("step_key") or ""
        message = meta.get("orig_message") or record.getMessage()
        # One line per record in the log file; newlines escaped so no message can forge a line.
        flat = message.replace("\r", "\\r").replace("\n", "\\n")
        stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(record.created))
        self._log.write(f"{stamp} {record.levelname:<7} {step or '-'} {flat}\n")
        error = getattr(event.event_specific_data, "error", None) if event is not None else None
        if error is not None:  # a step or run that failed: the whole error, its causes and where they arose
            trace = error.to_string().replace("\r", "\\r").replace("\n", "\\n")
            self._log.write(f"{stamp} {record.levelname:<7} {step or '-'} {trace}\n")
        self._log.flush()
        if self.verbose:
            self._print(f"  [{record.levelname.lower()}] {step + ': ' if step else ''}{message}")
        if event is not None:
            self._event(event)
        elif record.levelno >= logging.WARNING and not self.verbose:
            self._warn(record.levelname.lower(), step, message)

    def _warn(self, level: str, step: str, message: str) -> None:
        first_line = message.strip().splitlines()[0] if message.strip() else message
        key = (level, first_line)
        self._said[key] += 1
        if self._said[key] == 1:
            self._print(f"  {level}: {first_line}")

    def _event(self, event) -> None:
        kind = event.event_type_value
        step = event.step_key or ""
        stage = self.stages.get(stage_of(step)) if step else None
        data = event.event_specific_data
        if stage is None:
            return
        if kind == "STEP_SUCCESS":
            stage.done += 1
            stage.seconds += (getattr(data, "duration_ms", 0) or 0) / 1000
        elif kind == "STEP_FAILURE":
            stage.failed += 1
            error = getattr(data, "error", None)
            while error is not None and error.cause is not None:
                error = error.cause
            text = error.message.strip().splitlines()[0] if error and error.message.strip() else "failed"
            stage.notes.append(f"{step} failed: {text}")
        elif kind == "STEP_SKIPPED":
            stage.skipped += 1
        elif kind == "ASSET_MATERIALIZATION":
            self._materialized(stage, data.materialization)
        elif kind == "ASSET_CHECK_EVALUATION":
            outcome = "passed" if data.passed else f"failed ({data.severity.value})"
            stage.counts[f"checks {outcome}"] += 1
        else:
            return
        if stage.finished and not stage.printed:
            self._print_stage(stage)

    def _materialized(self, stage: Stage, materialization) -> None:
        metadata = dict(materialization.metadata)
        stage.counts["assets"] += 1
        if stage.name == "pull":
            stage.counts["files"] += _value(metadata, "files") or 0
            stage.counts["changed"] += len(_value(metadata, "changed_files") or [])
        elif stage.name == "clean" and _value(metadata, "source"):
            source = _value(metadata, "source")
            self.sources_loaded[source] = {
                key: _value(metadata, key) for key in ("rows_read", "rows_quarantined", "files_loaded")
            }
        elif stage.name == "docs":
            stage.notes.append("regenerated" if _value(metadata, "regenerated") else "unchanged")
        elif stage.name == "publish" and _value(metadata, "tables"):
            stage.counts["tables"] += len(_value(metadata, "tables"))
        elif stage.name == "reports":
            stage.counts["pages"] += _value(metadata, "reports") or 0

    # -- what it prints -------------------------------------------------------------------
    def _summary(self, stage: Stage) -> str:
        counts = stage.counts
        checks = ", ".join(
            f"{n} {k.removeprefix('checks ')}" for k, n in sorted(counts.items()) if k.startswith("checks")
        )
        if stage.name == "pull":
            return f"{stage.steps} sources, {counts['files']} files in landing ({counts['changed']} new or changed)"
        if stage.name == "clean":
            read = sum(s["rows_read"] or 0 for s in self.sources_loaded.values())
            quarantined = sum(s["rows_quarantined"] or 0 for s in self.sources_loaded.values())
            return f"{counts['assets']} tables from {len(self.sources_loaded)} sources: {read:,} rows read, {quarantined:,} quarantined"
        if stage.name == "checks":
            return checks or "no checks"
        if stage.name == "dbt":
            return f"{counts['assets']}/{self.dbt_models} models built; tests: {checks or 'none'}"
        if stage.name == "publish":
            return f"{counts['tables']} tables published"
        if stage.name == "reports":
            return f"{counts['pages']} collaboration pages and an index"
        return ", ".join(stage.notes) or "done"

    def _print_stage(self, stage: Stage) -> None:
        stage.printed = True
        if stage.steps == 0:
            return
        state = "" if not (stage.failed or stage.skipped) else f" [{stage.failed} failed, {stage.skipped} not run]"
        self._print(f"{stage.name:<8} {self._summary(stage)}{state} ({stage.seconds:.1f} s)")
        for note in stage.notes if stage.failed else ():
            self._print(f"  {note}")

    def finish(self) -> None:
        """Print the stages that never finished (their steps were skipped or the run stopped)."""
        for stage in self.stages.values():
            if not stage.printed and stage.steps:
                stage.printed = True
                self._print(f"{stage.name:<8} not run ({stage.done}/{stage.steps} steps finished)")
        self._log.close()

    def _print(self, line: str) -> None:
        print(line, file=self.out, flush=True)

    @contextmanager
    def capturing_stdout(self) -> Iterator[None]:
        """What the run prints itself (dbt's lines, which dagster-dbt echoes to stdout) goes to
        the log file, or to the terminal as well with --verbose."""
        console = self

        class _Writer(io.TextIOBase):
            def write(self, text: str) -> int:
                console._log.write(text)
                if console.verbose:
                    console.out.write(text)
                return len(text)

            def flush(self) -> None:
                console._log.flush()

        with redirect_stdout(_Writer()):
            yield

    def logger_definition(self):
        """A Dagster logger that hands every record of the run to this console."""
        from dagster import logger

        console = self

        class _Handler(logging.Handler):
            def emit(self, record: logging.LogRecord) -> None:
                console.handle(record)

        @logger(description="collab-health run: stage lines on the terminal, everything in the run's log file")
        def progress(_init_context):
            log = logging.getLogger(f"collab_health.run.{id(console)}")
            log.setLevel(logging.DEBUG)
            log.propagate = False
            log.handlers = [_Handler()]
            return log

        return progress
