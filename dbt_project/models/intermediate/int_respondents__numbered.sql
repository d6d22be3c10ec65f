-- Each diagnostic respondent (collaboration × wave × respondent_key) with a small integer
-- key, so the answer-level aggregations below group and join on integers rather than on
-- the long respondent_key strings (at national scale ~14M answers: the difference between
-- a few seconds in a few hundred MB and tens of seconds in gigabytes). Deterministic
-- numbering (ordered by the respondent's natural key). Internal, never published.
{{ config(materialized='table') }}
select
    row_number() over (order by collaboration_id, wave, respondent_key) as respondent_number,
    collaboration_id,
    wave,
    respondent_key,
    organisation_code
from {{ ref('stg_diagnostic__respondents') }}
