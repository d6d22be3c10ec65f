-- Collaboration health per characteristic. Each member organisation counts equally (the
-- mean of its respondents' scores), so a large trust does not drown a small partner.
-- Groups of fewer than var('min_group_size') respondents are suppressed.
with respondent_scores as (
    select * from {{ ref('int_respondent_characteristic_scores') }}
),

characteristics as (
    select * from {{ ref('stg_diagnostic__characteristics') }}
),

organisation_scores as (
    select
        collaboration_id,
        wave,
        instrument_id,
        characteristic_id,
        organisation_code,
        avg(respondent_score) as organisation_score,
        count(*) as n_respondents
    from respondent_scores
    group by 1, 2, 3, 4, 5
),

collaboration_scores as (
    select
        collaboration_id,
        wave,
        instrument_id,
        characteristic_id,
        round(avg(organisation_score), 2) as score_all,
        sum(n_respondents) as n_respondents,
        count(*) as n_organisations
    from organisation_scores
    group by 1, 2, 3, 4
),

flagged as (
    select
        *,
        n_respondents < {{ var('min_group_size') }} as is_suppressed
    from collaboration_scores
)

select
    flagged.collaboration_id,
    flagged.wave,
    flagged.characteristic_id,
    characteristics.characteristic_name,
    flagged.instrument_id,
    case when flagged.is_suppressed then null else flagged.score_all end as score,
    cast(flagged.n_respondents as integer) as n_respondents,
    cast(flagged.n_organisations as integer) as n_organisations,
    case
        when flagged.is_suppressed then null
        when flagged.score_all >= 4.0 then 'strength'
        when flagged.score_all >= 3.0 then 'borderline'
        else 'concern'
    end as band,
    flagged.is_suppressed
from flagged
inner join characteristics
    on flagged.instrument_id = characteristics.instrument_id
    and flagged.characteristic_id = characteristics.characteristic_id
