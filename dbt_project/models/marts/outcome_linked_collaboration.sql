-- Outcome-linked collaboration metrics: for each collaboration, wave and target metric
-- (monthly or yearly), the wave's health score beside the metric before and after
-- fieldwork, like for like (see int_outcome_windows: what was compared and what was left
-- out), progress in the direction the collaboration declared, SPC signals since the wave
-- and progress to target.
with outcome_windows as (
    select * from {{ ref('int_outcome_windows') }}
),

health as (
    select * from {{ ref('collaboration_health') }}
),

wave_health as (
    select
        collaboration_id,
        wave,
        -- The mean of 2-decimal scores (an exact sum: macros/exact_arithmetic.sql) often
        -- lies exactly halfway (e.g. 3.105, stored in binary as 3.10499999...): published
        -- half-up on the decimal value (round_half_up).
        {{ round_half_up(exact_avg('score'), 2) }} as health_score,
        count(score) as characteristics_scored
    from health
    group by 1, 2
),

-- The wave's partner network (issue 20), where the collaboration has one.
network as (
    select * from {{ ref('collaboration_network') }}
)

select
    outcome_windows.collaboration_id,
    outcome_windows.wave,
    outcome_windows.metric_id,
    outcome_windows.period_grain,
    outcome_windows.direction,
    outcome_windows.fieldwork_start,
    outcome_windows.fieldwork_end,
    wave_health.health_score,
    cast(coalesce(wave_health.characteristics_scored, 0) as integer) as characteristics_scored,
    outcome_windows.baseline_start,
    outcome_windows.baseline_value,
    outcome_windows.baseline_months,
    outcome_windows.followup_start,
    outcome_windows.followup_value,
    outcome_windows.followup_months,
    outcome_windows.change,
    outcome_windows.directed_change,
    outcome_windows.is_improvement,
    outcome_windows.organisations_declared,
    outcome_windows.organisations_compared,
    outcome_windows.membership_changed,
    outcome_windows.organisations_not_reporting,
    outcome_windows.coverage_changed,
    outcome_windows.comparison_note,
    outcome_windows.is_provisional,
    outcome_windows.spc_signal_since_wave,
    outcome_windows.spc_note,
    outcome_windows.target_value,
    outcome_windows.target_date,
    outcome_windows.target_met,
    network.density as network_density,
    network.reciprocity as network_reciprocity,
    network.degree_centralisation as network_degree_centralisation,
    network.mean_trust as network_mean_trust,
    network.mean_value as network_mean_value
from outcome_windows
left join wave_health
    on
        outcome_windows.collaboration_id = wave_health.collaboration_id
        and outcome_windows.wave = wave_health.wave
left join network
    on
        outcome_windows.collaboration_id = network.collaboration_id
        and outcome_windows.wave = network.wave
-- In grain order, so the table's rows are stored in the same order on every build.
order by outcome_windows.collaboration_id, outcome_windows.wave, outcome_windows.metric_id  -- noqa: AM06
