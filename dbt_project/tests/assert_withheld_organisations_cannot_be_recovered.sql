-- Privacy: wherever the collaboration score is published, the organisations withheld from
-- collaboration_health_by_organisation hold no respondents or at least 5 between them, so
-- no small group's score can be recovered by subtraction. Returns the offending groups.
-- (Shown in Dagster as a check on collaboration_health_by_organisation.)
{{ config(severity='error', meta={'dagster': {'ref': {'name': 'collaboration_health_by_organisation'}}}) }}
select
    organisations.collaboration_id,
    organisations.wave,
    organisations.characteristic,
    sum(case when organisations.is_suppressed then organisations.n_respondents else 0 end) as withheld_respondents
from {{ ref('collaboration_health_by_organisation') }} as organisations
inner join {{ ref('collaboration_health') }} as collaboration
    on
        organisations.collaboration_id = collaboration.collaboration_id
        and organisations.wave = collaboration.wave
        and organisations.characteristic = collaboration.characteristic
where not collaboration.is_suppressed
group by 1, 2, 3
having
    sum(
        case when organisations.is_suppressed then organisations.n_respondents else 0 end
    ) between 1 and {{ var('min_group_size') }}
    - 1
