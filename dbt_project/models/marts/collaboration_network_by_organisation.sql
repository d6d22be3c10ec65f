-- Each member organisation's place in its collaboration's network, wave by wave, from the
-- published edges only (int_network_edges): ties received and given, partners who rate it
-- high on trust and on value, betweenness along ties, and the gap between how it rates its
-- partners and how they rate it. Its own ratings (given, out-degree, gaps) are withheld when
-- fewer than var('min_group_size') of its respondents rated partners.
{%- set min_group = var('min_group_size') %}
with members as (
    select * from {{ ref('int_network_members') }}
),

edges as (
    select * from {{ ref('int_network_edges') }}
),

respondent_ratings as (
    select * from {{ ref('int_partner_ratings__respondent') }}
),

betweenness as (
    select * from {{ ref('int_network_betweenness') }}
),

raters as (
    select collaboration_id, wave, organisation_code, count(distinct respondent_key) as n_respondents
    from respondent_ratings
    group by collaboration_id, wave, organisation_code
),

observed as (
    select collaboration_id, wave, count(closeness_raw) as n_possible_ties
    from edges
    group by collaboration_id, wave
),

given as (
    select
        collaboration_id,
        wave,
        from_organisation as organisation_code,
        count(closeness_raw) as n_rated,
        sum(case when is_tie then 1 else 0 end) as out_degree,
        {{ exact_avg('trust_raw') }} as trust_given_raw,
        {{ exact_avg('value_raw') }} as value_given_raw
    from edges
    group by collaboration_id, wave, from_organisation
),

received as (
    select
        collaboration_id,
        wave,
        to_organisation as organisation_code,
        count(closeness_raw) as n_rated_by,
        sum(case when is_tie then 1 else 0 end) as in_degree,
        sum(case when trust >= high_from then 1 else 0 end) as in_degree_trusted,
        sum(case when value >= high_from then 1 else 0 end) as in_degree_valued,
        {{ exact_avg('trust_raw') }} as trust_received_raw,
        {{ exact_avg('value_raw') }} as value_received_raw
    from edges
    group by collaboration_id, wave, to_organisation
),

joined as (
    select
        members.collaboration_id,
        members.wave,
        members.organisation_code,
        coalesce(raters.n_respondents, 0) as n_respondents,
        coalesce(raters.n_respondents, 0) < {{ min_group }} as is_suppressed,
        case when given.n_rated > 0 then given.out_degree end as out_degree,
        case when received.n_rated_by > 0 then received.in_degree end as in_degree,
        case when received.n_rated_by > 0 then received.in_degree_trusted end as in_degree_trusted,
        case when received.n_rated_by > 0 then received.in_degree_valued end as in_degree_valued,
        given.trust_given_raw,
        received.trust_received_raw,
        given.value_given_raw,
        received.value_received_raw,
        case when observed.n_possible_ties > 0 then betweenness.betweenness end as betweenness_raw,
        case when observed.n_possible_ties > 0 then betweenness.betweenness_normalised end as normalised_raw
    from members
    inner join observed
        on
            members.collaboration_id = observed.collaboration_id
            and members.wave = observed.wave
    left join raters
        on
            members.collaboration_id = raters.collaboration_id
            and members.wave = raters.wave
            and members.organisation_code = raters.organisation_code
    left join given
        on
            members.collaboration_id = given.collaboration_id
            and members.wave = given.wave
            and members.organisation_code = given.organisation_code
    left join received
        on
            members.collaboration_id = received.collaboration_id
            and members.wave = received.wave
            and members.organisation_code = received.organisation_code
    left join betweenness
        on
            members.collaboration_id = betweenness.collaboration_id
            and members.wave = betweenness.wave
            and members.organisation_code = betweenness.organisation_code
)

select
    cast(collaboration_id as string) as collaboration_id,
    cast(wave as integer) as wave,
    cast(organisation_code as string) as organisation_code,
    cast(n_respondents as integer) as n_respondents,
    cast(in_degree as integer) as in_degree,
    cast(out_degree as integer) as out_degree,
    cast(in_degree_trusted as integer) as in_degree_trusted,
    cast(in_degree_valued as integer) as in_degree_valued,
    {{ round_half_up('trust_received_raw', 2) }} as trust_received,
    {{ round_half_up('trust_given_raw', 2) }} as trust_given,
    {{ round_half_up('trust_given_raw - trust_received_raw', 2) }} as trust_gap,
    {{ round_half_up('value_received_raw', 2) }} as value_received,
    {{ round_half_up('value_given_raw', 2) }} as value_given,
    {{ round_half_up('value_given_raw - value_received_raw', 2) }} as value_gap,
    {{ round_half_up('betweenness_raw', 4) }} as betweenness,
    {{ round_half_up('normalised_raw', 4) }} as betweenness_normalised,
    cast(is_suppressed as boolean) as is_suppressed
from joined
-- In grain order, so the table's rows are stored in the same order on every build.
order by collaboration_id, wave, organisation_code
