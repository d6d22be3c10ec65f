-- Every series the SPC charts are drawn on: organisations, collaborations and ICBs, by
-- metric and period. Collaborations and ICBs pool their organisations by summing
-- numerators and denominators (never by averaging rates), and only for metrics that can
-- be pooled. An organisation counts for a collaboration only in periods that overlap its
-- membership, and for the ICB it belonged to as at each period. The sums are exact
-- DECIMALs (macros/exact_arithmetic.sql): the same totals whatever order they are added in.
--
-- Materialised as a table, not the folder's view: int_system_metrics__spc reads it three
-- times, system_metrics and the grain test once each (~1.1M rows at national scale).
{{ config(materialized='table') }}
with organisation_values as (
    select
        *,
        case
            when period_grain = 'year' then {{ dbt.dateadd('year', 1, 'period_month') }}
            else {{ dbt.dateadd('month', 1, 'period_month') }}
        end as period_end
    from {{ ref('int_metric_values__organisation') }}
),

metrics as (
    select * from {{ ref('stg_config__metrics') }}
),

members as (
    select * from {{ ref('stg_config__collaboration_members') }}
),

icb_periods as (
    select * from {{ ref('int_organisation_icb_periods') }}
),

poolable_values as (
    select organisation_values.*
    from organisation_values
    inner join metrics
        on organisation_values.metric_id = metrics.metric_id
    where metrics.is_poolable and organisation_values.numerator is not null
),

collaboration_values as (
    select
        members.collaboration_id as entity_id,
        poolable_values.metric_id,
        poolable_values.period_month,
        poolable_values.period_grain,
        {{ exact_sum('poolable_values.numerator') }} as numerator,
        {{ exact_sum('poolable_values.denominator') }} as denominator,
        count(distinct poolable_values.org_code) as n_organisations
    from poolable_values
    inner join members
        on
            poolable_values.org_code = members.org_code
            and members.joined_on < poolable_values.period_end
            and (members.left_on is null or members.left_on >= poolable_values.period_month)
    group by 1, 2, 3, 4
),

icb_values as (
    select
        icb_periods.icb_code as entity_id,
        poolable_values.metric_id,
        poolable_values.period_month,
        poolable_values.period_grain,
        {{ exact_sum('poolable_values.numerator') }} as numerator,
        {{ exact_sum('poolable_values.denominator') }} as denominator,
        count(distinct poolable_values.org_code) as n_organisations
    from poolable_values
    inner join icb_periods
        on
            poolable_values.org_code = icb_periods.org_code
            and (icb_periods.valid_from is null or icb_periods.valid_from <= poolable_values.period_month)
            and (icb_periods.valid_to is null or poolable_values.period_month < icb_periods.valid_to)
    group by 1, 2, 3, 4
),

pooled as (
    select 'collaboration' as entity_type, * from collaboration_values
    union all
    select 'icb' as entity_type, * from icb_values
)

select
    'organisation' as entity_type,
    org_code as entity_id,
    metric_id,
    period_month,
    period_grain,
    numerator,
    denominator,
    value,
    1 as n_organisations
from organisation_values

union all

select
    entity_type,
    entity_id,
    metric_id,
    period_month,
    period_grain,
    numerator,
    denominator,
    case
        when denominator is null then cast(numerator as double)
        else cast(numerator as double) / nullif(cast(denominator as double), 0)
    end as value,
    cast(n_organisations as integer) as n_organisations
from pooled
