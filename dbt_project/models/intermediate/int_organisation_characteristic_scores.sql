{{ config(materialized='table') }}
-- Each member organisation's score per characteristic: the mean of its respondents' scores,
-- with the within-organisation variance that the marts' intervals need. Both are exact
-- aggregates (macros/exact_arithmetic.sql), the same on every build.
with respondent_scores as (
    select * from {{ ref('int_respondent_characteristic_scores') }}
)

select
    collaboration_id,
    wave,
    instrument_id,
    characteristic_id,
    organisation_code,
    {{ exact_avg('respondent_score') }} as organisation_score,
    {{ exact_var_samp('respondent_score') }} as respondent_variance,
    count(*) as n_respondents
from respondent_scores
group by 1, 2, 3, 4, 5
