-- Every series the SPC charts are drawn on: organisations, collaborations and ICBs, by
-- metric and period. Collaborations and ICBs pool their organisations by summing
-- numerators and denominators (never by averaging rates), and only for metrics that can
-- be pooled. An organisation counts for a collaboration only in periods that overlap its
-- membership, and for the ICB it belonged to as at each period. The sums are exact
-- DECIMALs (macros/exact_arithmetic.sql): the same totals whatever order they are added in.
-- A pooled series flags the
-- organisations that reported in its previous period and still belong but gave no value
-- (n_organisations_not_reporting, organisations_not_reporting).
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

-- Each organisation's value in each collaboration and ICB it belongs to in that period.
pooled_organisations as (
    select
        'collaboration' as entity_type,
        members.collaboration_id as entity_id,
        poolable_values.org_code,
        poolable_values.metric_id,
        poolable_values.period_month,
        poolable_values.period_grain,
        poolable_values.numerator,
        poolable_values.denominator
    from poolable_values
    inner join members
        on
            poolable_values.org_code = members.org_code
            and members.joined_on < poolable_values.period_end
            and (members.left_on is null or members.left_on >= poolable_values.period_month)
    union all
    select
        'icb' as entity_type,
        icb_periods.icb_code as entity_id,
        poolable_values.org_code,
        poolable_values.metric_id,
        poolable_values.period_month,
        poolable_values.period_grain,
        poolable_values.numerator,
        poolable_values.denominator
    from poolable_values
    inner join icb_periods
        on
            poolable_values.org_code = icb_periods.org_code
            and (icb_periods.valid_from is null or icb_periods.valid_from <= poolable_values.period_month)
            and (icb_periods.valid_to is null or poolable_values.period_month < icb_periods.valid_to)
),

aggregated as (
    select
        entity_type,
        entity_id,
        metric_id,
        period_month,
        period_grain,
        {{ exact_sum('numerator') }} as numerator,
        {{ exact_sum('denominator') }} as denominator,
        count(distinct org_code) as n_organisations
    from pooled_organisations
    group by 1, 2, 3, 4, 5
),

-- Coverage: the organisations pooled in a series' previous period that still belong to
-- the collaboration (a member) or the ICB (as at this period) but give no value now: a
-- member that merged without a successor record, or a late or missing return. Their
-- absence, not performance, moves the total.
previous_periods as (
    select
        entity_type,
        entity_id,
        metric_id,
        period_month,
        lag(period_month) over (partition by entity_type, entity_id, metric_id order by period_month) as previous_month
    from aggregated
),

still_belonging as (
    select
        previous_periods.entity_type,
        previous_periods.entity_id,
        previous_periods.metric_id,
        previous_periods.period_month,
        earlier.org_code
    from previous_periods
    inner join pooled_organisations as earlier
        on
            previous_periods.entity_type = earlier.entity_type
            and previous_periods.entity_id = earlier.entity_id
            and previous_periods.metric_id = earlier.metric_id
            and previous_periods.previous_month = earlier.period_month
    left join members
        on
            previous_periods.entity_type = 'collaboration'
            and previous_periods.entity_id = members.collaboration_id
            and earlier.org_code = members.org_code
            and members.joined_on <= previous_periods.period_month
            and (members.left_on is null or members.left_on >= previous_periods.period_month)
    left join icb_periods
        on
            previous_periods.entity_type = 'icb'
            and previous_periods.entity_id = icb_periods.icb_code
            and earlier.org_code = icb_periods.org_code
            and (icb_periods.valid_from is null or icb_periods.valid_from <= previous_periods.period_month)
            and (icb_periods.valid_to is null or previous_periods.period_month < icb_periods.valid_to)
    where members.org_code is not null or icb_periods.org_code is not null
),

not_reporting as (
    select
        still_belonging.entity_type,
        still_belonging.entity_id,
        still_belonging.metric_id,
        still_belonging.period_month,
        count(distinct still_belonging.org_code) as n_organisations_not_reporting,
        {{ string_list('still_belonging.org_code') }} as organisations_not_reporting
    from still_belonging
    left join pooled_organisations as now_pooled
        on
            still_belonging.entity_type = now_pooled.entity_type
            and still_belonging.entity_id = now_pooled.entity_id
            and still_belonging.metric_id = now_pooled.metric_id
            and still_belonging.period_month = now_pooled.period_month
            and still_belonging.org_code = now_pooled.org_code
    where now_pooled.org_code is null
    group by 1, 2, 3, 4
),

pooled as (
    select
        aggregated.*,
        coalesce(not_reporting.n_organisations_not_reporting, 0) as n_organisations_not_reporting,
        not_reporting.organisations_not_reporting
    from aggregated
    left join not_reporting
        on
            aggregated.entity_type = not_reporting.entity_type
            and aggregated.entity_id = not_reporting.entity_id
            and aggregated.metric_id = not_reporting.metric_id
            and aggregated.period_month = not_reporting.period_month
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
    1 as n_organisations,
    0 as n_organisations_not_reporting,
    cast(null as {{ dbt.type_string() }}) as organisations_not_reporting
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
    cast(n_organisations as integer) as n_organisations,
    cast(n_organisations_not_reporting as integer) as n_organisations_not_reporting,
    organisations_not_reporting
from pooled
