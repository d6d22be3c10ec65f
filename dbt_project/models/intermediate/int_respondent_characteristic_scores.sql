-- A respondent's score on a characteristic: the mean of the items they answered for it
-- (reverse-keyed items already reversed in score_value), kept only when they answered at
-- least half of the characteristic's items.
with answers as (
    select * from {{ ref('stg_diagnostic__answers') }}
),

respondents as (
    select * from {{ ref('stg_diagnostic__respondents') }}
),

items_per_characteristic as (
    select instrument_id, characteristic_id, count(*) as n_items
    from {{ ref('stg_diagnostic__items') }}
    group by 1, 2
),

respondent_scores as (
    select
        answers.collaboration_id,
        answers.wave,
        answers.respondent_key,
        respondents.organisation_code,
        answers.instrument_id,
        answers.characteristic_id,
        avg(answers.score_value) as respondent_score,
        count(*) as n_items_answered
    from answers
    inner join respondents
        on answers.collaboration_id = respondents.collaboration_id
        and answers.wave = respondents.wave
        and answers.respondent_key = respondents.respondent_key
    group by 1, 2, 3, 4, 5, 6
)

select
    respondent_scores.*,
    items_per_characteristic.n_items
from respondent_scores
inner join items_per_characteristic
    on respondent_scores.instrument_id = items_per_characteristic.instrument_id
    and respondent_scores.characteristic_id = items_per_characteristic.characteristic_id
where 2 * respondent_scores.n_items_answered >= items_per_characteristic.n_items
