-- For each collaboration, wave and metric: the metric pooled over the member organisations
-- in the N months before fieldwork starts (baseline) and the N months after it ends
-- (follow-up), N = var('outcome_window_months'). Fieldwork months belong to neither window.
-- Monthly collaboration series come from int_system_metrics__series, where an
-- organisation counts only for months in which it was a member; the window sums their
-- numerators and denominators (a count metric gives its mean per month).
{%- set window_months = var('outcome_window_months') %}
with waves as (
    select * from {{ ref('stg_config__collaboration_waves') }}
),

collaboration_months as (
    select * from {{ ref('int_system_metrics__series') }}
    where entity_type = 'collaboration' and period_grain = 'month'
),

health as (
    select * from {{ ref('collaboration_health') }}
),

windows as (
    select
        collaboration_id,
        wave,
        fieldwork_start,
        fieldwork_end,
        {{ dbt.date_trunc('month', 'fieldwork_start') }} as first_fieldwork_month,
        {{ dbt.date_trunc('month', 'fieldwork_end') }} as last_fieldwork_month
    from waves
),

metrics as (
    select distinct metric_id from collaboration_months
),

member_values as (
    select
        windows.collaboration_id,
        windows.wave,
        collaboration_months.metric_id,
        collaboration_months.period_month,
        case
            when collaboration_months.period_month < windows.first_fieldwork_month then 'baseline'
            else 'followup'
        end as window_name,
        collaboration_months.numerator,
        coalesce(collaboration_months.denominator, 1) as denominator
    from windows
    inner join collaboration_months
        on windows.collaboration_id = collaboration_months.entity_id
    where
        (
            collaboration_months.period_month >= {{ dbt.dateadd('month', -window_months, 'windows.first_fieldwork_month') }}
            and collaboration_months.period_month < windows.first_fieldwork_month
        )
        or (
            collaboration_months.period_month > windows.last_fieldwork_month
            and collaboration_months.period_month <= {{ dbt.dateadd('month', window_months, 'windows.last_fieldwork_month') }}
        )
),

pooled as (
    select
        collaboration_id,
        wave,
        metric_id,
        sum(case when window_name = 'baseline' then numerator end) as baseline_numerator,
        sum(case when window_name = 'baseline' then denominator end) as baseline_denominator,
        count(distinct case when window_name = 'baseline' then period_month end) as baseline_months,
        sum(case when window_name = 'followup' then numerator end) as followup_numerator,
        sum(case when window_name = 'followup' then denominator end) as followup_denominator,
        count(distinct case when window_name = 'followup' then period_month end) as followup_months
    from member_values
    group by 1, 2, 3
),

wave_health as (
    select
        collaboration_id,
        wave,
        round(avg(score), 2) as health_score
    from health
    group by 1, 2
),

valued as (
    select
        windows.collaboration_id,
        windows.wave,
        metrics.metric_id,
        windows.fieldwork_start,
        windows.fieldwork_end,
        wave_health.health_score,
        round(1.0 * pooled.baseline_numerator / nullif(pooled.baseline_denominator, 0), 4) as baseline_value,
        coalesce(pooled.baseline_months, 0) as baseline_months,
        round(1.0 * pooled.followup_numerator / nullif(pooled.followup_denominator, 0), 4) as followup_value,
        coalesce(pooled.followup_months, 0) as followup_months
    from windows
    cross join metrics
    left join pooled
        on windows.collaboration_id = pooled.collaboration_id
        and windows.wave = pooled.wave
        and metrics.metric_id = pooled.metric_id
    left join wave_health
        on windows.collaboration_id = wave_health.collaboration_id
        and windows.wave = wave_health.wave
)

select
    collaboration_id,
    wave,
    metric_id,
    fieldwork_start,
    fieldwork_end,
    health_score,
    baseline_value,
    cast(baseline_months as integer) as baseline_months,
    followup_value,
    cast(followup_months as integer) as followup_months,
    round(followup_value - baseline_value, 4) as change
from valued
