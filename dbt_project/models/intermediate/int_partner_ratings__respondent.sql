-- Each respondent's rating of each partner, per dimension: closeness (the one closeness
-- item, 0-4), trust and value (the mean of the dimension's items the respondent answered,
-- kept only when they answered at least half of them, as characteristic scores are).
with ratings as (
    select * from {{ ref('stg_diagnostic__partner_ratings') }}
),

items as (
    select instrument_id, dimension, count(*) as n_items
    from {{ ref('stg_diagnostic__partner_items') }}
    group by instrument_id, dimension
),

per_dimension as (
    select
        instrument_id,
        collaboration_id,
        wave,
        organisation_code,
        partner_code,
        respondent_key,
        dimension,
        sum(answer_value) as answer_total,
        count(*) as n_answered
    from ratings
    group by instrument_id, collaboration_id, wave, organisation_code, partner_code, respondent_key, dimension
)

select
    per_dimension.instrument_id,
    per_dimension.collaboration_id,
    per_dimension.wave,
    per_dimension.organisation_code,
    per_dimension.partner_code,
    per_dimension.respondent_key,
    max(case when per_dimension.dimension = 'closeness' then per_dimension.answer_total end) as closeness,
    max(
        case
            when per_dimension.dimension = 'trust' and 2 * per_dimension.n_answered >= items.n_items
                then cast(per_dimension.answer_total as double) / per_dimension.n_answered
        end
    ) as trust_score,
    max(
        case
            when per_dimension.dimension = 'value' and 2 * per_dimension.n_answered >= items.n_items
                then cast(per_dimension.answer_total as double) / per_dimension.n_answered
        end
    ) as value_score
from per_dimension
inner join items
    on
        per_dimension.instrument_id = items.instrument_id
        and per_dimension.dimension = items.dimension
group by
    per_dimension.instrument_id,
    per_dimension.collaboration_id,
    per_dimension.wave,
    per_dimension.organisation_code,
    per_dimension.partner_code,
    per_dimension.respondent_key
