-- A respondent's score on a characteristic: the mean of the items they answered for it
-- (reverse-keyed items already reversed in score_value), kept only when they answered at
-- least half of the characteristic's items. The answers are aggregated once, in
-- int_respondent_characteristic_totals; this view puts the respondent's and the
-- characteristic's keys back.
with totals as (
    select * from {{ ref('int_respondent_characteristic_totals') }}
),

respondents as (
    select * from {{ ref('int_respondents__numbered') }}
),

characteristics as (
    {{ characteristic_numbers() }}
)

select
    respondents.collaboration_id,
    respondents.wave,
    respondents.respondent_key,
    respondents.organisation_code,
    characteristics.instrument_id,
    characteristics.characteristic_id,
    totals.respondent_score,
    totals.n_items_answered,
    totals.n_items
from totals
inner join respondents
    on totals.respondent_number = respondents.respondent_number
inner join characteristics
    on totals.characteristic_number = characteristics.characteristic_number
where 2 * totals.n_items_answered >= totals.n_items
