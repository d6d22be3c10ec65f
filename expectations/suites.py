"""Great Expectations suites (JSON files in ``expectations/suites/``) and how to run them.

Each suite names in its ``meta`` the warehouse table it validates and the Dagster asset
that writes that table; the orchestration layer turns every suite into a blocking asset
check. Reading the suite files is cheap; Great Expectations itself (about 10 s to
import) is imported only inside `validate`, so nothing that does not validate pays for it;
a nightly run starts importing it on a background thread (`prepare_in_background`).
"""

from __future__ import annotations

import gc
import json
import os
import threading
import warnings
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import polars as pl
import polars.selectors as cs

SUITES_DIR = Path(__file__).resolve().parent / "suites"
#: A suite meta's ``validate`` value for validation by distinct values (`SuiteSpec.by_distinct_values`).
DISTINCT_VALUES = "distinct values"
#: The column of each distinct combination's number of rows, when validated by distinct values.
ROWS_ALIKE = "__rows_alike"


@dataclass(frozen=True)
class SuiteSpec:
    name: str
    schema: str
    table: str
    asset_key: tuple[str, ...]
    description: str
    document: dict[str, Any]

    @property
    def columns(self) -> tuple[str, ...]:
        """The columns the suite's expectations name, their row conditions included: all a
        validation needs to read. Row conditions are GX condition objects (JSON), whose
        columns are named; a condition written as a string may name any column, so a suite
        with one reads every column (an empty tuple)."""
        named: list[str] = []
        for expectation in self.document["expectations"]:
            kwargs = expectation["kwargs"]
            condition = kwargs.get("row_condition")
            if isinstance(condition, str) and condition:
                return ()
            named += [kwargs[k] for k in ("column", "column_A", "column_B") if k in kwargs]
            named += kwargs.get("column_list", [])
            named += _condition_columns(condition)
        return tuple(dict.fromkeys(named))

    @property
    def by_distinct_values(self) -> bool:
        """True when the suite's meta says ``"validate": "distinct values"``: its table is
        validated as the distinct combinations of the columns the suite names, each with its
        number of rows (see `validate_batches`). For a column of few values in many rows,
        such as the answers' scale values."""
        return self.document.get("meta", {}).get("validate") == DISTINCT_VALUES

    @property
    def parameters(self) -> tuple[str, ...]:
        """Names of the suite parameters (``{"$PARAMETER": name}``) its expectations take:
        bounds that come from the configuration, not from the suite file."""
        return tuple(
            dict.fromkeys(
                value["$PARAMETER"]
                for expectation in self.document["expectations"]
                for value in expectation["kwargs"].values()
                if isinstance(value, dict) and "$PARAMETER" in value
            )
        )


def codebook_parameters(codebooks) -> dict[str, float]:
    """Suite parameters from the instrument codebooks: the range any answer (on its item's
    scale) and any score (on its instrument's scale) may take. No hidden cap: an
    instrument on a 0-100 scale passes as soon as its codebook says so."""
    answers = [codebook.answer_range for codebook in codebooks]
    return {
        "answer_value_min": min(low for low, _ in answers),
        "answer_value_max": max(high for _, high in answers),
        "score_value_min": min(codebook.scale.min for codebook in codebooks),
        "score_value_max": max(codebook.scale.max for codebook in codebooks),
    }


def _condition_columns(condition: Any) -> list[str]:
    """The columns a GX row condition (as JSON) names, however its conditions are nested."""
    if isinstance(condition, dict):
        column = condition.get("column")
        own = [column["name"]] if isinstance(column, dict) and "name" in column else []
        return own + [name for key, value in condition.items() if key != "column" for name in _condition_columns(value)]
    if isinstance(condition, list):
        return [name for item in condition for name in _condition_columns(item)]
    return []


@dataclass(frozen=True)
class ValidationOutcome:
    success: bool
    evaluated: int
    failures: list[dict[str, Any]]


def load_suite_specs(folder: Path = SUITES_DIR) -> list[SuiteSpec]:
    specs = []
    for path in sorted(Path(folder).glob("*.json")):
        document = json.loads(path.read_text(encoding="utf-8"))
        meta = document.get("meta", {})
        try:
            schema, table = meta["table"].split(".")
            asset_key = tuple(meta["asset_key"])
        except (KeyError, ValueError) as error:
            raise ValueError(f"{path}: suite meta needs 'table' (schema.table) and 'asset_key'") from error
        spec = SuiteSpec(document["name"], schema, table, asset_key, meta.get("description", ""), document)
        if spec.by_distinct_values and not (validates_in_batches(spec) and not _thresholds(spec)):
            raise ValueError(
                f"{path}: validated by distinct values, so every expectation must be row by row "
                "(or the row count) and none may take `mostly`"
            )
        specs.append(spec)
    return specs


def _thresholds(spec: SuiteSpec) -> list[str]:
    """The expectations of the suite that take `mostly`."""
    return [e["type"] for e in spec.document["expectations"] if "mostly" in e["kwargs"]]


_CONTEXT_LOCK = threading.Lock()


@cache
def _cached_context():
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    # Great Expectations imports pyspark when it is installed (the optional Spark group);
    # pyspark then warns about the pandas version, which concerns none of our validation.
    warnings.filterwarnings("ignore", message="PySpark does not yet fully support pandas", category=FutureWarning)
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    # Every object alive now (Dagster, GE, pandas: ~400,000 of them) is long-lived: set
    # aside from the garbage collector (`gc.freeze`), a full collection then takes ~2 ms
    # instead of ~0.25 s, cheap enough after each large validation (see `_run`).
    gc.collect()
    gc.freeze()
    return gx, context


def _context():
    """Great Expectations and one ephemeral context for the process (made once, by
    whichever thread asks first; the others wait for it)."""
    with _CONTEXT_LOCK:
        return _cached_context()


def prepare_in_background() -> threading.Thread:
    """Start importing Great Expectations (about 10 s) on a background thread, so that a
    run that will validate later pays for it while it is busy elsewhere (reading files,
    most of which happens outside the GIL), not on its critical path."""
    import pandas  # noqa: F401  (imported here first: the run also needs them, and two
    import pyarrow  # noqa: F401  threads importing one module at once is best avoided)

    thread = threading.Thread(target=_context, name="import-great-expectations", daemon=True)
    thread.start()
    return thread


#: Expectations whose verdict is row by row: the counts of a table's batches add up to the
#: counts of the whole table, so a table can be validated a batch of rows at a time.
ROW_BY_ROW = frozenset(
    {
        "expect_column_values_to_not_be_null",
        "expect_column_values_to_be_null",
        "expect_column_values_to_be_between",
        "expect_column_values_to_be_in_set",
        "expect_column_values_to_not_be_in_set",
        "expect_column_values_to_match_regex",
        "expect_column_pair_values_a_to_be_greater_than_b",
        "expect_column_pair_values_to_be_equal",
    }
)
ROW_COUNT = "expect_table_row_count_to_be_between"


def validates_in_batches(spec: SuiteSpec) -> bool:
    """True when every expectation of the suite is judged row by row or is the row count."""
    return all(e["type"] in ROW_BY_ROW | {ROW_COUNT} for e in spec.document["expectations"])


def validate(spec: SuiteSpec, frame: pl.DataFrame, parameters: dict[str, Any] | None = None) -> ValidationOutcome:
    """Validate a polars frame against a suite (converted to pandas through Arrow), with
    values for the suite's parameters."""
    result = _run(spec, spec.document["expectations"], frame, parameters)
    failures = [_failure(r.expectation_config, r.result, r.exception_info) for r in result.results if not r.success]
    return ValidationOutcome(success=bool(result.success), evaluated=len(result.results), failures=failures)


def validate_batches(
    spec: SuiteSpec, batches: Iterable[pl.DataFrame], parameters: dict[str, Any] | None = None
) -> ValidationOutcome:
    """Validate a table a batch of rows at a time, in bounded memory, with the verdict one
    validation of the whole table gives: each row-by-row expectation's element, missing and
    unexpected counts are added up over the batches and its `mostly` applied to the totals;
    the row count is the batches' total. Only for suites `validates_in_batches`.

    For a suite `by_distinct_values`, each batch holds distinct combinations of the suite's
    columns and, in ROWS_ALIKE, how many rows have each. A row-by-row expectation's verdict
    on a row depends only on the row's values in the columns it names, so a combination is
    unexpected exactly when each of its rows is: its unexpected count is the sum of its
    unexpected combinations' rows, and the row count the sum of all: the verdict and the
    unexpected counts are those of every row (the sample of unexpected values shows each value
    once). Without `mostly`, which would need the rows GE leaves out (missing, or not meeting
    a row condition) and is refused for such suites."""
    if not validates_in_batches(spec):
        raise ValueError(f"suite {spec.name}: not every expectation is row by row; validate the whole table")
    weighted = spec.by_distinct_values
    if weighted and _thresholds(spec):
        raise ValueError(f"suite {spec.name}: validated by distinct values, so no expectation may take `mostly`")
    expectations = spec.document["expectations"]
    rowwise = [(i, e) for i, e in enumerate(expectations) if e["type"] in ROW_BY_ROW]
    # Judged on the totals, not per batch: each batch is validated without `mostly`.
    unthresholded = [{**e, "kwargs": {k: v for k, v in e["kwargs"].items() if k != "mostly"}} for _, e in rowwise]
    totals = {i: {"element_count": 0, "missing_count": 0, "unexpected_count": 0, "sample": []} for i, _ in rowwise}
    errors: dict[int, dict] = {}
    rows, validated = 0, False
    for frame in batches:
        if frame.is_empty() and validated:
            continue
        alike = frame.get_column(ROWS_ALIKE).to_list() if weighted else None
        frame = frame.drop(ROWS_ALIKE) if weighted else frame
        rows += sum(alike) if weighted else frame.height
        validated = True
        if not rowwise:
            continue
        result = _run(spec, unthresholded, frame, parameters, result_format="COMPLETE" if weighted else "SUMMARY")
        for (index, _), outcome in zip(rowwise, result.results, strict=True):
            if (outcome.exception_info or {}).get("raised_exception"):
                errors.setdefault(index, _failure(outcome.expectation_config, outcome.result, outcome.exception_info))
                continue
            total = totals[index]
            if weighted:
                # The positions of the unexpected combinations: all of them (COMPLETE), or the
                # counts would be wrong, so a result without them all is refused, not trusted.
                positions = outcome.result.get("unexpected_index_list")
                if positions is None or len(positions) != (outcome.result.get("unexpected_count") or 0):
                    raise ValueError(
                        f"suite {spec.name}: Great Expectations gave no complete list of the unexpected rows of "
                        f"{outcome.expectation_config.type}; it cannot be validated by distinct values"
                    )
                total["element_count"] += sum(alike)
                total["unexpected_count"] += sum(alike[i] for i in positions)
            else:
                for key in ("element_count", "missing_count", "unexpected_count"):
                    total[key] += outcome.result.get(key) or 0
            total["sample"] += [str(v) for v in outcome.result.get("partial_unexpected_list") or []][
                : 5 - len(total["sample"])
            ]
    failures = []
    for index, expectation in enumerate(expectations):
        kwargs = expectation["kwargs"]
        if expectation["type"] == ROW_COUNT:
            low, high = (_parameter(kwargs.get(k), parameters) for k in ("min_value", "max_value"))
            if (low is not None and rows < low) or (high is not None and rows > high):
                failures.append(
                    {
                        "expectation": ROW_COUNT,
                        "kwargs": kwargs,
                        "unexpected_count": None,
                        "partial_unexpected_list": [],
                        "error": None,
                        "observed_value": rows,
                    }
                )
            continue
        if index in errors:
            failures.append(errors[index])
            continue
        total = totals[index]
        considered = total["element_count"] - total["missing_count"]
        if "mostly" in kwargs:
            passed = considered == 0 or (considered - total["unexpected_count"]) / considered >= kwargs["mostly"]
        else:
            passed = total["unexpected_count"] == 0
        if not passed:
            failures.append(
                {
                    "expectation": expectation["type"],
                    "kwargs": kwargs,
                    "unexpected_count": total["unexpected_count"],
                    "partial_unexpected_list": total["sample"],
                    "error": None,
                }
            )
    return ValidationOutcome(success=not failures, evaluated=len(expectations), failures=failures)


def _parameter(value: Any, parameters: dict[str, Any] | None) -> Any:
    if isinstance(value, dict) and "$PARAMETER" in value:
        return (parameters or {})[value["$PARAMETER"]]
    return value


def _failure(configuration, result: dict, exception_info) -> dict[str, Any]:
    raised = (exception_info or {}).get("raised_exception")
    return {
        "expectation": configuration.type,
        "kwargs": {k: v for k, v in configuration.kwargs.items() if k != "batch_id"},
        "unexpected_count": result.get("unexpected_count"),
        "partial_unexpected_list": [str(v) for v in (result.get("partial_unexpected_list") or [])[:5]],
        "error": (exception_info or {}).get("exception_message") if raised else None,
    }


#: A validated frame from this size up has GE's garbage collected at once (see `_run`).
COLLECT_AFTER_BYTES = 4 * 2**20


def _run(
    spec: SuiteSpec,
    expectations: list[dict],
    frame: pl.DataFrame,
    parameters: dict[str, Any] | None,
    result_format: str = "SUMMARY",
):
    """Great Expectations' validation result of `expectations` on `frame` (COMPLETE: with
    the positions of the unexpected rows)."""
    missing = sorted(set(spec.parameters) - set(parameters or {}))
    if missing:
        raise ValueError(f"suite {spec.name}: no value for its parameters {', '.join(missing)}")
    gx, context = _context()
    suite = gx.ExpectationSuite(name=spec.name, expectations=expectations)
    if len(suite.expectations) != len(expectations):
        raise ValueError(f"suite {spec.name}: some expectations are not valid Great Expectations configurations")
    source_name = f"warehouse_{spec.name}"
    if source_name in context.data_sources.all():
        context.data_sources.delete(source_name)
    data_source = context.data_sources.add_pandas(name=source_name)
    batch_definition = data_source.add_dataframe_asset(name=spec.table).add_batch_definition_whole_dataframe("all")
    # Only the columns the suite names; text as categories (a 13-million-row answers table
    # then takes a tenth of the memory); through Arrow, so dates stay dates (polars' own
    # to_pandas makes them timestamps).
    frame = frame.select([c for c in frame.columns if c in spec.columns] or frame.columns)
    frame = frame.with_columns(pl.col(pl.String).cast(pl.Categorical))
    # Integers as 64-bit: Great Expectations' pandas "between" is vectorised only for the
    # native int and float dtypes, and tests a narrower integer value by value (4x slower).
    frame = frame.with_columns(cs.integer().cast(pl.Int64))
    size = frame.estimated_size()
    batch = batch_definition.get_batch(batch_parameters={"dataframe": frame.to_arrow().to_pandas()})
    try:
        return batch.validate(suite, expectation_parameters=dict(parameters or {}), result_format=result_format)
    finally:
        # The context would otherwise keep the data source, and with it the last frame
        # validated, for the rest of the run. The data source, its execution engine and the
        # batch refer to each other, so only a full garbage collection frees them: the
        # engine's caches are emptied so that the frame goes now (at scale 3, 0.5 GB was
        # held after each table's validation).
        context.data_sources.delete(source_name)
        batches = batch.data.execution_engine.batch_manager
        batches.reset_batch_cache()
        batches.batch_data_cache.clear()
        del batch, batches, batch_definition, data_source
        # What the validation made refers to itself (results, metrics, the engine): only the
        # garbage collector frees it. Collected now after a large frame, the process holds
        # one batch's worth, not several (answers at scale 3: +0.38 GB at 1M-row batches,
        # against +0.97 GB); a small frame's is left to Python's own collections, since a
        # full collection costs more the more objects the process made since the freeze.
        if size >= COLLECT_AFTER_BYTES:
            gc.collect()
