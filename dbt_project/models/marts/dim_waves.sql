-- Diagnostic waves with their fieldwork and the outcome windows around them.
{%- set window_months = var('outcome_window_months') %}
with waves as (
    select * from {{ ref('stg_config__collaboration_waves') }}
),

respondents as (
    select collaboration_id, wave, count(*) as n_respondents
    from {{ ref('stg_diagnostic__respondents') }}
    group by 1, 2
)

select
    cast(waves.collaboration_id as string) as collaboration_id,
    cast(waves.wave as integer) as wave,
    cast(waves.fieldwork_start as date) as fieldwork_start,
    cast(waves.fieldwork_end as date) as fieldwork_end,
    cast({{ dbt.dateadd('month', -window_months, dbt.date_trunc('month', 'waves.fieldwork_start')) }} as date)
        as baseline_start,
    cast({{ dbt.dateadd('month', 1, dbt.date_trunc('month', 'waves.fieldwork_end')) }} as date) as followup_start,
    cast({{ dbt.dateadd('month', window_months, dbt.date_trunc('month', 'waves.fieldwork_end')) }} as date)
        as followup_end_month,
    cast(coalesce(respondents.n_respondents, 0) as integer) as n_respondents
from waves
left join respondents
    on
        waves.collaboration_id = respondents.collaboration_id
        and waves.wave = respondents.wave
-- In grain order, so the table's rows are stored in the same order on every build.
order by collaboration_id, wave  -- noqa: AM06
