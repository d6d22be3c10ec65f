-- For each collaboration, wave and target metric: the metric before fieldwork and after it.
-- Baseline = the N months before the first fieldwork month, follow-up = the N months after
-- the last one (N = var('outcome_window_months')); fieldwork months belong to neither.
-- Like for like: only organisations that were members for the whole span, from the first
-- baseline month to the last follow-up month, count in either window. A member that
-- joined or left in between would change the total, not the collaboration's performance
-- (`membership_changed` says when someone was left out). Each window sums those
-- organisations' numerators and denominators, or for a count gives the monthly mean of
-- their total. `is_provisional` marks a window with fewer than var('outcome_min_months').
-- Sums are exact DECIMALs (macros/exact_arithmetic.sql), the same on every build.
{%- set window_months = var('outcome_window_months') %}
{%- set min_months = var('outcome_min_months') %}
with waves as (
    select * from {{ ref('stg_config__collaboration_waves') }}
),

targets as (
    select * from {{ ref('stg_config__collaboration_targets') }}
),

members as (
    select * from {{ ref('stg_config__collaboration_members') }}
),

organisation_months as (
    select * from {{ ref('int_metric_values__organisation') }}
    where period_grain = 'month' and numerator is not null
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
        {{ dbt.date_trunc('month', 'waves.fieldwork_end') }} as last_fieldwork_month,
        {{ dbt.dateadd('month', -window_months, dbt.date_trunc('month', 'waves.fieldwork_start')) }} as baseline_start,
        {{ dbt.dateadd('month', window_months + 1, dbt.date_trunc('month', 'waves.fieldwork_end')) }}
            as followup_end_exclusive
    from waves
    inner join targets
        on waves.collaboration_id = targets.collaboration_id
),

-- Members for the whole span of a wave's windows, and whether anyone was left out.
wave_members as (
    select
        windows.collaboration_id,
        windows.wave,
        windows.metric_id,
        members.org_code,
        case
            when
                members.joined_on <= windows.baseline_start
                and (
                    members.left_on is null
                    or members.left_on >= {{ dbt.dateadd('day', -1, 'windows.followup_end_exclusive') }}
                )
                then 1
            else 0
        end as is_steady
    from windows
    inner join members
        on
            windows.collaboration_id = members.collaboration_id
            and members.joined_on < windows.followup_end_exclusive
            and (members.left_on is null or members.left_on >= windows.baseline_start)
),

membership as (
    select
        collaboration_id,
        wave,
        metric_id,
        sum(is_steady) as steady_members,
        max(1 - is_steady) as membership_changed
    from wave_members
    group by 1, 2, 3
),

collaboration_months as (
    select
        wave_members.collaboration_id,
        wave_members.wave,
        wave_members.metric_id,
        organisation_months.period_month,
        {{ exact_sum('organisation_months.numerator') }} as numerator,
        {{ exact_sum('organisation_months.denominator') }} as denominator
    from wave_members
    inner join organisation_months
        on
            wave_members.org_code = organisation_months.org_code
            and wave_members.metric_id = organisation_months.metric_id
    where wave_members.is_steady = 1
    group by 1, 2, 3, 4
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
        on
            windows.collaboration_id = collaboration_months.collaboration_id
            and windows.wave = collaboration_months.wave
            and windows.metric_id = collaboration_months.metric_id
    where
        (
            collaboration_months.period_month
            >= {{ dbt.dateadd('month', -window_months, 'windows.first_fieldwork_month') }}
            and collaboration_months.period_month < windows.first_fieldwork_month
        )
        or (
            collaboration_months.period_month > windows.last_fieldwork_month
            and collaboration_months.period_month
            <= {{ dbt.dateadd('month', window_months, 'windows.last_fieldwork_month') }}
        )
),

pooled as (
    select
        collaboration_id,
        wave,
        metric_id,
        {{ exact_sum("case when window_name = 'baseline' then numerator end") }} as baseline_numerator,
        {{ exact_sum("case when window_name = 'baseline' then coalesce(denominator, 1) end") }}
            as baseline_denominator,
        count(distinct case when window_name = 'baseline' then period_month end) as baseline_months,
        {{ exact_sum("case when window_name = 'followup' then numerator end") }} as followup_numerator,
        {{ exact_sum("case when window_name = 'followup' then coalesce(denominator, 1) end") }}
            as followup_denominator,
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
        on
            windows.collaboration_id = spc_points.entity_id
            and windows.metric_id = spc_points.metric_id
            and spc_points.period_month > windows.last_fieldwork_month
            and spc_points.period_month <= {{ dbt.dateadd('month', window_months, 'windows.last_fieldwork_month') }}
    group by 1, 2, 3
),

valued as (
    select
        windows.*,
        {{ round_double(
            'cast(pooled.baseline_numerator as double)'
            ~ ' / nullif(cast(pooled.baseline_denominator as double), 0)', 4) }} as baseline_value,
        coalesce(pooled.baseline_months, 0) as baseline_months,
        {{ round_double(
            'cast(pooled.followup_numerator as double)'
            ~ ' / nullif(cast(pooled.followup_denominator as double), 0)', 4) }} as followup_value,
        coalesce(pooled.followup_months, 0) as followup_months,
        case
            when followup_signals.any_improvement = 1 and followup_signals.any_concern = 1 then 'mixed'
            when followup_signals.any_improvement = 1 then 'improvement'
            when followup_signals.any_concern = 1 then 'concern'
            when followup_signals.any_neutral = 1 then 'special_cause_neutral'
            when followup_signals.any_common = 1 then 'common_cause'
        end as spc_signal_since_wave,
        coalesce(membership.steady_members, 0) as steady_members,
        coalesce(membership.membership_changed, 0) = 1 as membership_changed
    from windows
    left join membership
        on
            windows.collaboration_id = membership.collaboration_id
            and windows.wave = membership.wave
            and windows.metric_id = membership.metric_id
    left join pooled
        on
            windows.collaboration_id = pooled.collaboration_id
            and windows.wave = pooled.wave
            and windows.metric_id = pooled.metric_id
    left join followup_signals
        on
            windows.collaboration_id = followup_signals.collaboration_id
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
    {{ round_double('followup_value - baseline_value', 4) }} as change,
    cast(steady_members as integer) as organisations_compared,
    membership_changed,
    baseline_months < {{ min_months }} or followup_months < {{ min_months }} as is_provisional,
    {{ round_double("case when direction = 'decrease' then -1 else 1 end * (followup_value - baseline_value)", 4) }}
        as directed_change,
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
