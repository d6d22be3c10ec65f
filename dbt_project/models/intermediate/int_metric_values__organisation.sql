-- Metric values per organisation as it exists now. A predecessor's values roll up to its
-- reporting code (the end of its merger chain; a split keeps its own code): for a metric
-- that can be pooled, its whole history (numerators and denominators are summed, so the
-- successor's series is continuous); for one that cannot (SHMI, published without counts),
-- only from the successor date, so that no published value is lost by averaging ratios:
-- earlier values stay under the predecessor's own code. Where unpoolable values of several
-- codes still meet in one period, the value is left empty rather than averaged. Sums are
-- exact (macros/exact_arithmetic.sql), so they are the same on every build.
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
        case
            when successors.reporting_code is null then metric_values.org_code
            when metrics.is_poolable or metric_values.period_month >= successors.succeeded_on
                then successors.reporting_code
            else metric_values.org_code
        end as org_code,
        metric_values.metric_id,
        metric_values.period_month,
        metric_values.period_grain,
        metrics.is_poolable,
        count(*) as n_source_codes,
        {{ exact_sum('metric_values.numerator') }} as numerator,
        {{ exact_sum('metric_values.denominator') }} as denominator,
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
        else cast(numerator as double) / nullif(cast(denominator as double), 0)
    end as value
from rolled
