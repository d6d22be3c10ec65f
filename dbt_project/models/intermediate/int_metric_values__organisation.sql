-- Metric values per organisation as it exists now: each predecessor's values roll up to
-- its reporting code (the end of its merger chain; a split keeps its own code). Where
-- several codes land on one organisation and period, numerators and denominators are
-- summed; a metric that cannot be pooled (published without counts) is then left empty
-- rather than averaged.
with metric_values as (
    select * from {{ ref('stg_metrics__values') }}
),

successors as (
    select * from {{ ref('stg_ods__organisation_successors') }}
),

metrics as (
    select * from {{ ref('stg_config__metrics') }}
),

rolled as (
    select
        coalesce(successors.reporting_code, metric_values.org_code) as org_code,
        metric_values.metric_id,
        metric_values.period_month,
        metric_values.period_grain,
        metrics.is_poolable,
        count(*) as n_source_codes,
        sum(metric_values.numerator) as numerator,
        sum(metric_values.denominator) as denominator,
        max(metric_values.value) as single_value
    from metric_values
    inner join metrics
        on metric_values.metric_id = metrics.metric_id
    left join successors
        on metric_values.org_code = successors.org_code
    group by 1, 2, 3, 4, 5
)

select
    org_code,
    metric_id,
    period_month,
    period_grain,
    cast(n_source_codes as integer) as n_source_codes,
    case when n_source_codes = 1 or is_poolable then numerator end as numerator,
    case when n_source_codes = 1 or is_poolable then denominator end as denominator,
    case
        when n_source_codes = 1 then single_value
        when not is_poolable then null
        when denominator is null then numerator
        else numerator / nullif(denominator, 0)
    end as value
from rolled
