-- Every respondent's answers per characteristic, aggregated once per build and shared by
-- int_respondent_characteristic_scores and the Cronbach's alpha models: the number of
-- items answered, their mean and their sum, and the characteristic's item count. Grain:
-- one row per respondent (respondent_number, see int_respondents__numbered) per
-- characteristic (characteristic_number, see the characteristic_numbers macro) they
-- answered at least one item of. Narrow integer keys keep the table cheap to write and read.
-- Answers are whole numbers on the instrument's scale: their sums are integer arithmetic,
-- the same in any order (macros/exact_arithmetic.sql).
{{ config(materialized='table') }}
with respondents as (
    select * from {{ ref('int_respondents__numbered') }}
),

characteristics as (
    {{ characteristic_numbers() }}
)

select
    respondents.respondent_number,
    characteristics.characteristic_number,
    {{ exact_avg('answers.score_value', places=0) }} as respondent_score,
    count(*) as n_items_answered,
    cast({{ exact_sum('answers.score_value', places=0) }} as integer) as score_total,
    max(characteristics.n_items) as n_items
from {{ ref('stg_diagnostic__answers') }} as answers
inner join respondents
    on
        answers.collaboration_id = respondents.collaboration_id
        and answers.wave = respondents.wave
        and answers.respondent_key = respondents.respondent_key
inner join characteristics
    on
        answers.instrument_id = characteristics.instrument_id
        and answers.characteristic_id = characteristics.characteristic_id
group by 1, 2
