-- For each collaboration, wave and target metric: the metric before fieldwork and after it.
-- Baseline = the N months before the first fieldwork month, follow-up = the N months after
-- the last one (N = var('outcome_window_months')); fieldwork months belong to neither.
-- Values come from the collaboration's monthly series (int_system_metrics__series), where
-- an organisation counts only for months in which it was a member: each window sums their
-- numerators and denominators, or for a count gives the mean per month.
{%- set window_months = var('outcome_window_months') %}
with waves as (
    select * from {{ ref('stg_config__collaboration_waves') }}
),

targets as (
    select * from {{ ref('stg_config__collaboration_targets') }}
),

collaboration_months as (
    select * from {{ ref('int_system_metrics__series') }}
    where entity_type = 'collaboration' and period_grain = 'month'
),

spc_points as (
    select * from {{ ref('int_system_metrics__spc') }}
    where entity_type = 'collaboration'
),

windows as (
    select
        waves.collaboration_id,
        waves.wave,
        targets.metric_id,
        targets.direction,
        targets.target_value,
        targets.target_date,
        waves.fieldwork_start,
        waves.fieldwork_end,
        {{ dbt.date_trunc('month', 'waves.fieldwork_start') }} as first_fieldwork_month,
        {{ dbt.date_trunc('month', 'waves.fieldwork_end') }} as last_fieldwork_month
    from waves
    inner join targets
        on waves.collaboration_id = targets.collaboration_id
),

window_months as (
    select
        windows.collaboration_id,
        windows.wave,
        windows.metric_id,
        collaboration_months.period_month,
        case
            when collaboration_months.period_month < windows.first_fieldwork_month then 'baseline'
            else 'followup'
        end as window_name,
        collaboration_months.numerator,
        collaboration_months.denominator
    from windows
    inner join collaboration_months
        on windows.collaboration_id = collaboration_months.entity_id
        and windows.metric_id = collaboration_months.metric_id
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
        sum(case when window_name = 'baseline' then coalesce(denominator, 1) end) as baseline_denominator,
        count(distinct case when window_name = 'baseline' then period_month end) as baseline_months,
        sum(case when window_name = 'followup' then numerator end) as followup_numerator,
        sum(case when window_name = 'followup' then coalesce(denominator, 1) end) as followup_denominator,
        count(distinct case when window_name = 'followup' then period_month end) as followup_months
    from window_months
    group by 1, 2, 3
),

-- The SPC signals of the collaboration's series in the follow-up months.
followup_signals as (
    select
        windows.collaboration_id,
        windows.wave,
        windows.metric_id,
        max(case when spc_points.spc_signal = 'improvement' then 1 else 0 end) as any_improvement,
        max(case when spc_points.spc_signal = 'concern' then 1 else 0 end) as any_concern,
        max(case when spc_points.spc_signal = 'special_cause_neutral' then 1 else 0 end) as any_neutral,
        max(case when spc_points.spc_signal = 'common_cause' then 1 else 0 end) as any_common
    from windows
    inner join spc_points
        on windows.collaboration_id = spc_points.entity_id
        and windows.metric_id = spc_points.metric_id
        and spc_points.period_month > windows.last_fieldwork_month
        and spc_points.period_month <= {{ dbt.dateadd('month', window_months, 'windows.last_fieldwork_month') }}
    group by 1, 2, 3
),

valued as (
    select
        windows.*,
        round(1.0 * pooled.baseline_numerator / nullif(pooled.baseline_denominator, 0), 4) as baseline_value,
        coalesce(pooled.baseline_months, 0) as baseline_months,
        round(1.0 * pooled.followup_numerator / nullif(pooled.followup_denominator, 0), 4) as followup_value,
        coalesce(pooled.followup_months, 0) as followup_months,
        case
            when followup_signals.any_improvement = 1 and followup_signals.any_concern = 1 then 'mixed'
            when followup_signals.any_improvement = 1 then 'improvement'
            when followup_signals.any_concern = 1 then 'concern'
            when followup_signals.any_neutral = 1 then 'special_cause_neutral'
            when followup_signals.any_common = 1 then 'common_cause'
        end as spc_signal_since_wave
    from windows
    left join pooled
        on windows.collaboration_id = pooled.collaboration_id
        and windows.wave = pooled.wave
        and windows.metric_id = pooled.metric_id
    left join followup_signals
        on windows.collaboration_id = followup_signals.collaboration_id
        and windows.wave = followup_signals.wave
        and windows.metric_id = followup_signals.metric_id
)

select
    collaboration_id,
    wave,
    metric_id,
    direction,
    target_value,
    target_date,
    fieldwork_start,
    fieldwork_end,
    baseline_value,
    cast(baseline_months as integer) as baseline_months,
    followup_value,
    cast(followup_months as integer) as followup_months,
    round(followup_value - baseline_value, 4) as change,
    round(case when direction = 'decrease' then -1 else 1 end * (followup_value - baseline_value), 4) as directed_change,
    case
        when followup_value is null or baseline_value is null then null
        when direction = 'increase' then followup_value > baseline_value
        else followup_value < baseline_value
    end as is_improvement,
    case
        when target_value is null or followup_value is null then null
        when direction = 'increase' then followup_value >= target_value
        else followup_value <= target_value
    end as target_met,
    spc_signal_since_wave
from valued
