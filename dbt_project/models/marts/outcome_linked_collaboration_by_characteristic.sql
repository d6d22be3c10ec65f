-- The companion of outcome_linked_collaboration: the same before/after figures beside each
-- characteristic's health score at the wave (null where the group is suppressed).
with outcome_windows as (
    select * from {{ ref('int_outcome_windows') }}
),

health as (
    select * from {{ ref('collaboration_health') }}
)

select
    outcome_windows.collaboration_id,
    outcome_windows.wave,
    health.characteristic,
    health.characteristic_name,
    outcome_windows.metric_id,
    outcome_windows.period_grain,
    outcome_windows.direction,
    health.score as health_score,
    health.band,
    health.n_respondents,
    health.is_suppressed,
    outcome_windows.baseline_value,
    outcome_windows.baseline_months,
    outcome_windows.followup_value,
    outcome_windows.followup_months,
    outcome_windows.change,
    -- Too short a window is not compared across collaborations.
    case when not outcome_windows.is_provisional then outcome_windows.directed_change end as directed_change,
    outcome_windows.is_improvement,
    outcome_windows.is_provisional,
    outcome_windows.organisations_compared,
    outcome_windows.coverage_changed,
    outcome_windows.comparison_note
from outcome_windows
inner join health
    on
        outcome_windows.collaboration_id = health.collaboration_id
        and outcome_windows.wave = health.wave
-- In grain order, so the table's rows are stored in the same order on every build.
order by outcome_windows.collaboration_id, outcome_windows.wave, health.characteristic, outcome_windows.metric_id
