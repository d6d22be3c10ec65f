-- The metric catalogue (config/metrics.yaml) with the sources that provide each metric.
with metrics as (
    select * from {{ ref('stg_config__metrics') }}
),

metric_values as (
    select metric_id, source, min(period_month) as first_period, max(period_month) as last_period
    from {{ ref('stg_metrics__values') }}
    group by 1, 2
),

coverage as (
    select
        metric_id,
        {{ string_list('source') }} as sources,
        min(first_period) as first_period,
        max(last_period) as last_period
    from metric_values
    group by 1
)

select
    cast(metrics.metric_id as string) as metric_id,
    cast(metrics.metric_name as string) as metric_name,
    cast(metrics.domain as string) as domain,
    cast(metrics.unit as string) as unit,
    cast(metrics.polarity as string) as polarity,
    cast(metrics.description as string) as description,
    cast(metrics.target_value as double) as standard_value,
    cast(metrics.is_poolable as boolean) as is_poolable,
    cast(metrics.period_grain as string) as period_grain,
    cast(metrics.observed_from_month as integer) as observed_from_month,
    cast(metrics.observed_to_month as integer) as observed_to_month,
    cast(coverage.sources as string) as sources,
    cast(coverage.first_period as date) as first_period,
    cast(coverage.last_period as date) as last_period
from metrics
left join coverage on metrics.metric_id = coverage.metric_id
-- In grain order, so the table's rows are stored in the same order on every build.
order by metric_id  -- noqa: AM06
