"""The metric catalogue (``config/metrics.yaml``) and the long table of metric values it defines.

Each metric says what it is (name, domain, unit, polarity, optional target) and, for each
source that provides it, how to compute a numerator and an optional denominator from that
source's clean columns, as SQL-like expressions (``attendances - breaches``), with an optional
row filter (``department_type = '1'``), in the restricted language of `ingest.metric_expressions`. A new metric from an existing source is YAML only.

Values are kept as numerator and denominator so that any group of organisations is pooled
by summing both, never by averaging rates. A metric without a denominator can be pooled
only if it is a count; otherwise (SHMI, say) it is published per organisation only.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Iterator
from pathlib import Path
from typing import Literal

import polars as pl
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from ingest.config_files import load_yaml_model
from ingest.metric_expressions import MetricExpressionError, parse_metric_expression

Domain = Literal["outcome", "patient_experience", "staff_experience", "access", "activity"]
Polarity = Literal["higher_is_better", "lower_is_better", "neutral"]
Unit = Literal["proportion", "count", "ratio", "score"]

#: Columns of the long table, in order.
METRIC_VALUES_SCHEMA = {
    "metric_id": pl.String,
    "org_code": pl.String,
    "period_start": pl.Date,
    "period_grain": pl.String,
    "numerator": pl.Float64,
    "denominator": pl.Float64,
    "value": pl.Float64,
    "unit": pl.String,
    "source": pl.String,
    "source_file": pl.String,
    "source_rows": pl.Int64,
}
#: Numerators and denominators are summed as exact decimals at this many places, so a total
#: does not depend on the order polars adds the rows in (as in dbt: macros/exact_arithmetic.sql).
EXACT_DECIMAL = pl.Decimal(38, 12)


def _parse(expression: str) -> pl.Expr:
    """The expression built by `ingest.metric_expressions` (never run as SQL: see there)."""
    try:
        return parse_metric_expression(expression)
    except MetricExpressionError as error:
        raise ValueError(f"not a valid SQL expression: {expression!r} ({error})") from error


class Definition(BaseModel):
    """How one source provides a metric."""

    model_config = ConfigDict(extra="forbid")
    numerator: str
    denominator: str | None = None
    filter: str | None = None

    @field_validator("numerator", "denominator", "filter")
    @classmethod
    def _valid_sql(cls, expression: str | None) -> str | None:
        if expression is not None:
            _parse(expression)
        return expression


class Metric(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    name: str
    domain: Domain
    unit: Unit
    polarity: Polarity
    description: str
    target: float | None = Field(default=None, description="A standard the value is judged against, in its unit.")
    #: For a metric published yearly: the months of its year that a value describes (first,
    #: last), e.g. [9, 11] for the NHS Staff Survey's autumn fieldwork. Outcome windows use
    #: them to pick the last period before a diagnostic wave and the first after it. Default:
    #: the whole year.
    observed_months: tuple[int, int] | None = None
    #: Source name -> definition; where two sources give the same organisation and period,
    #: the one listed first wins.
    sources: dict[str, Definition] = Field(min_length=1)

    @property
    def poolable(self) -> bool:
        """True if organisations can be pooled: a count, or a numerator over a denominator."""
        return self.unit == "count" or all(d.denominator is not None for d in self.sources.values())

    @model_validator(mode="after")
    def _consistent(self) -> Metric:
        with_denominator = {d.denominator is not None for d in self.sources.values()}
        if len(with_denominator) > 1:
            raise ValueError("either every source gives a denominator or none does")
        if self.unit == "proportion" and with_denominator != {True}:
            raise ValueError("a proportion needs a denominator")
        if self.observed_months is not None:
            first, last = self.observed_months
            if not (1 <= first <= last <= 12):
                raise ValueError("observed_months is [first, last], months 1-12 with first <= last")
        return self


class MetricCatalogue(BaseModel):
    model_config = ConfigDict(extra="forbid")
    metrics: list[Metric] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique_ids(self) -> MetricCatalogue:
        ids = [m.id for m in self.metrics]
        repeated = sorted({i for i in ids if ids.count(i) > 1})
        if repeated:
            raise ValueError(f"metric ids are repeated: {', '.join(repeated)}")
        return self

    def for_source(self, source: str) -> list[tuple[Metric, Definition]]:
        return [(m, m.sources[source]) for m in self.metrics if source in m.sources]


class MetricCatalogueError(ValueError):
    pass


def load_metric_catalogue(path: Path, sources: Iterable[str] | None = None) -> MetricCatalogue:
    """The catalogue; with `sources` (the publication sources declared), a metric naming any
    other source is an error naming the file, the metric and the source."""
    catalogue = load_yaml_model(Path(path), MetricCatalogue, MetricCatalogueError, "metric catalogue")
    if sources is not None:
        known = set(sources)
        unknown = [
            f"metric {m.id!r} names source {s!r}" for m in catalogue.metrics for s in m.sources if s not in known
        ]
        if unknown:
            raise MetricCatalogueError(
                f"{path}: invalid metric catalogue: {'; '.join(unknown)}, which is not a declared source "
                f"(sources with a layout: {', '.join(sorted(known)) or 'none'})"
            )
    return catalogue


def metric_grain(metric: Metric, source_grains: dict[str, str]) -> str | None:
    """'month' or 'year': the period grain of the metric's sources (None if unknown)."""
    grains = {source_grains[source] for source in metric.sources if source in source_grains}
    return grains.pop() if len(grains) == 1 else None


def catalogue_tables(
    catalogue: MetricCatalogue, source_grains: dict[str, str] | None = None
) -> dict[str, pl.DataFrame]:
    """The catalogue as two tables: one row per metric (with its period grain, from
    `source_grains`: source -> 'month' or 'year'), one per metric and source."""
    source_grains = source_grains or {}
    metrics = pl.DataFrame(
        [
            {
                "metric_id": m.id,
                "metric_name": m.name,
                "domain": m.domain,
                "unit": m.unit,
                "polarity": m.polarity,
                "description": m.description,
                "target_value": m.target,
                "is_poolable": m.poolable,
                "period_grain": metric_grain(m, source_grains),
                "observed_from_month": m.observed_months[0] if m.observed_months else 1,
                "observed_to_month": m.observed_months[1] if m.observed_months else 12,
            }
            for m in catalogue.metrics
        ],
        schema_overrides={"target_value": pl.Float64, "period_grain": pl.String},
    )
    definitions = pl.DataFrame(
        [
            {"metric_id": m.id, "source": source, "priority": rank, **d.model_dump()}
            for m in catalogue.metrics
            for rank, (source, d) in enumerate(m.sources.items(), start=1)
        ],
        schema={
            "metric_id": pl.String,
            "source": pl.String,
            "priority": pl.Int64,
            "numerator": pl.String,
            "denominator": pl.String,
            "filter": pl.String,
        },
    )
    return {"metric_catalogue": metrics, "metric_definitions": definitions}


def source_metric_values(
    frame: pl.DataFrame, source: str, catalogue: MetricCatalogue, metric_ids: Collection[str] | None = None
) -> pl.DataFrame:
    """Long rows (metric, organisation, period) from one source's clean table.

    Rows the filter drops, or whose numerator (or denominator, where defined) is missing or
    not a finite number (a division by zero, say), give no value. Several rows for one
    organisation and period (A&E department types, say) are summed, exactly (EXACT_DECIMAL:
    the same total in any order). A definition that
    names a column the source does not have fails with the metric, source and column.
    `metric_ids`: only these metrics (default: every metric the source gives).
    """
    parts = []
    for metric, definition in catalogue.for_source(source):
        if metric_ids is not None and metric.id not in metric_ids:
            continue
        selected = frame
        try:
            if definition.filter:
                selected = selected.filter(_parse(definition.filter))
            numerator = _parse(definition.numerator)
            denominator = _parse(definition.denominator) if definition.denominator else pl.lit(None, dtype=pl.Float64)
            rows = selected.select(
                "org_code",
                "period_start",
                "period_grain",
                "source_file",
                numerator.cast(pl.Float64).alias("numerator"),
                denominator.cast(pl.Float64).alias("denominator"),
            )
        except pl.exceptions.ColumnNotFoundError as error:
            raise MetricCatalogueError(
                f"metric catalogue: metric {metric.id!r}, source {source!r} uses a column "
                f"that {source} does not have ({str(error).splitlines()[0]})"
            ) from error
        rows = rows.filter(pl.col("numerator").is_finite())
        if definition.denominator:
            rows = rows.filter(pl.col("denominator").is_finite())
        parts.append(
            rows.group_by("org_code", "period_start", "period_grain")
            .agg(
                pl.col("numerator").cast(EXACT_DECIMAL).sum().cast(pl.Float64),
                pl.col("denominator").cast(EXACT_DECIMAL).sum().cast(pl.Float64)
                if definition.denominator
                else pl.lit(None, dtype=pl.Float64).alias("denominator"),
                pl.col("source_file").min(),
                pl.len().alias("source_rows"),
            )
            .with_columns(metric_id=pl.lit(metric.id), unit=pl.lit(metric.unit), source=pl.lit(source))
        )
    if not parts:
        return pl.DataFrame(schema=METRIC_VALUES_SCHEMA)
    values = pl.concat(parts, how="diagonal_relaxed").with_columns(
        value=pl.when(pl.col("denominator").is_null())
        .then(pl.col("numerator"))
        .when(pl.col("denominator") != 0)
        .then(pl.col("numerator") / pl.col("denominator"))
    )
    return values.select([pl.col(name).cast(dtype) for name, dtype in METRIC_VALUES_SCHEMA.items()])


def metric_values(frames: dict[str, pl.DataFrame], catalogue: MetricCatalogue) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The long table over every source, and the rows set aside because a source listed
    earlier for the same metric already gave that organisation and period; both in
    (metric, organisation, period) order."""
    kept, set_aside = [pl.DataFrame(schema=METRIC_VALUES_SCHEMA)], [pl.DataFrame(schema=METRIC_VALUES_SCHEMA)]
    for _, metric_kept, metric_set_aside in metric_values_by_metric(frames, catalogue):
        kept.append(metric_kept)
        set_aside.append(metric_set_aside)
    return pl.concat(kept, rechunk=False), pl.concat(set_aside, rechunk=False)


def metric_values_by_metric(
    frames: dict[str, pl.DataFrame], catalogue: MetricCatalogue
) -> Iterator[tuple[str, pl.DataFrame, pl.DataFrame]]:
    """`metric_values` one metric at a time, in metric order: (metric id, kept, set aside).

    Metrics are independent, so only one metric's rows from every source need be held (at
    national scale every metric at once is three million rows)."""
    priority = catalogue_tables(catalogue)["metric_definitions"].select("metric_id", "source", "priority")
    # Sorted, the first row of each metric, organisation and period is the kept one.
    first = pl.struct("metric_id", "org_code", "period_start").is_first_distinct()
    for metric_id in sorted({metric.id for metric in catalogue.metrics}):
        ranked = (
            pl.concat(
                [source_metric_values(frame, source, catalogue, {metric_id}) for source, frame in frames.items()]
                or [pl.DataFrame(schema=METRIC_VALUES_SCHEMA)]
            )
            .join(priority, on=["metric_id", "source"], how="left")
            .sort("org_code", "period_start", "priority")
            .with_columns(_first=first)  # once, for both halves
        )
        kept = pl.col("_first")
        yield (
            metric_id,
            ranked.filter(kept).drop("priority", "_first"),
            ranked.filter(~kept).drop("priority", "_first"),
        )


def publication_names(frames: dict[str, pl.DataFrame]) -> pl.DataFrame:
    """The name each publication gives each organisation code (the latest period's name),
    for organisations the ODS trust reference does not hold (CCGs, independent providers)."""
    named = [
        frame.select("org_code", "org_name", "period_start").filter(pl.col("org_name").is_not_null())
        for frame in frames.values()
        if "org_name" in frame.columns
    ]
    if not named:
        return pl.DataFrame(schema={"org_code": pl.String, "org_name": pl.String})
    return (
        pl.concat(named)
        .with_columns(pl.col("org_name").str.strip_chars())
        .filter(~pl.col("org_name").str.to_lowercase().is_in(["", "total"]))
        .sort("org_code", "period_start", "org_name")
        .group_by("org_code", maintain_order=True)
        .agg(pl.col("org_name").last())
    )
