-- Every ordered pair of organisations in a network (int_network_members), with the rating
-- organisation's respondents' mean ratings of the other: closeness (0-4), trust and value
-- (each respondent's mean of the dimension's items; see int_partner_ratings__respondent).
-- Means are exact (macros/exact_arithmetic.sql). A pair is suppressed when fewer than
-- var('min_group_size') respondents of the rating organisation rated the other; each mean
-- is withheld (null) when fewer than that many respondents gave it. Only what is published
-- here (the *_raw columns) feeds any network measure, so no measure can be used to recover
-- a suppressed rating. A tie is a published closeness, rounded to 2 decimals, of at least
-- var('network_tie_closeness') (cooperation).
{%- set min_group = var('min_group_size') %}
with members as (
    select * from {{ ref('int_network_members') }}
),

respondent_ratings as (
    select * from {{ ref('int_partner_ratings__respondent') }}
),

pairs as (
    select
        raters.collaboration_id,
        raters.wave,
        raters.organisation_code as from_organisation,
        rated.organisation_code as to_organisation,
        raters.high_from
    from members as raters
    inner join members as rated
        on
            raters.collaboration_id = rated.collaboration_id
            and raters.wave = rated.wave
            and raters.organisation_code <> rated.organisation_code
),

edge_ratings as (
    select
        collaboration_id,
        wave,
        organisation_code,
        partner_code,
        count(*) as n_respondents,
        count(closeness) as n_closeness,
        {{ exact_avg('closeness', places=0) }} as closeness,
        count(trust_score) as n_trust,
        {{ exact_avg('trust_score') }} as trust,
        count(value_score) as n_value,
        {{ exact_avg('value_score') }} as value
    from respondent_ratings
    group by collaboration_id, wave, organisation_code, partner_code
),

published as (
    select
        pairs.collaboration_id,
        pairs.wave,
        pairs.from_organisation,
        pairs.to_organisation,
        pairs.high_from,
        coalesce(edge_ratings.n_respondents, 0) as n_respondents,
        coalesce(edge_ratings.n_respondents, 0) < {{ min_group }} as is_suppressed,
        case when edge_ratings.n_closeness >= {{ min_group }} then edge_ratings.closeness end as closeness_raw,
        case when edge_ratings.n_trust >= {{ min_group }} then edge_ratings.trust end as trust_raw,
        case when edge_ratings.n_value >= {{ min_group }} then edge_ratings.value end as value_raw
    from pairs
    left join edge_ratings
        on
            pairs.collaboration_id = edge_ratings.collaboration_id
            and pairs.wave = edge_ratings.wave
            and pairs.from_organisation = edge_ratings.organisation_code
            and pairs.to_organisation = edge_ratings.partner_code
)

select
    collaboration_id,
    wave,
    from_organisation,
    to_organisation,
    high_from,
    n_respondents,
    is_suppressed,
    closeness_raw,
    trust_raw,
    value_raw,
    {{ round_half_up('closeness_raw', 2) }} as closeness,
    {{ round_half_up('trust_raw', 2) }} as trust,
    {{ round_half_up('value_raw', 2) }} as value,
    {{ round_half_up('closeness_raw', 2) }} >= {{ var('network_tie_closeness') }} as is_tie
from published
