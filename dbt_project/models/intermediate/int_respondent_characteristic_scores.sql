-- A respondent's score on a characteristic: the mean of the items they answered for it
-- (reverse-keyed items already reversed in score_value).
with answers as (
    select * from {{ ref('stg_diagnostic__answers') }}
),

respondents as (
    select * from {{ ref('stg_diagnostic__respondents') }}
)

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
