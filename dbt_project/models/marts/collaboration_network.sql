-- The collaboration as a network, wave by wave, from the published edges only
-- (int_network_edges: an edge withheld for a small group counts nowhere here):
--   density       ties / ordered pairs with a published closeness (possible ties);
--   reciprocity   ties returned / ties whose return rating is published;
--   degree_centralisation  Freeman's in-degree centralisation: sum over the n member
--                 organisations of (largest in-degree - in-degree) / (n - 1)^2; 0 when
--                 every organisation receives as many ties, 1 when one receives a tie from
--                 every other and no other receives any;
--   mean_trust, mean_value  the mean of the published edges' ratings (each edge counts the same);
-- and each one's change since the previous wave with a network.
with members as (
    select * from {{ ref('int_network_members') }}
),

edges as (
    select * from {{ ref('int_network_edges') }}
),

in_degrees as (
    select
        members.collaboration_id,
        members.wave,
        members.organisation_code,
        sum(case when edges.is_tie then 1 else 0 end) as in_degree
    from members
    left join edges
        on
            members.collaboration_id = edges.collaboration_id
            and members.wave = edges.wave
            and members.organisation_code = edges.to_organisation
    group by members.collaboration_id, members.wave, members.organisation_code
),

degree_spread as (
    select
        collaboration_id,
        wave,
        count(*) as n_organisations,
        count(*) * max(in_degree) - sum(in_degree) as shortfall_from_largest
    from in_degrees
    group by collaboration_id, wave
),

edge_totals as (
    select
        collaboration_id,
        wave,
        count(distinct case when closeness_raw is not null then from_organisation end) as n_rating_organisations,
        count(closeness_raw) as n_possible_ties,
        sum(case when is_tie then 1 else 0 end) as n_ties,
        {{ exact_avg('trust_raw') }} as mean_trust_raw,
        {{ exact_avg('value_raw') }} as mean_value_raw
    from edges
    group by collaboration_id, wave
),

returned as (
    select
        edges.collaboration_id,
        edges.wave,
        sum(case when edges.is_tie and reverse_edges.closeness_raw is not null then 1 else 0 end) as n_ties_answerable,
        sum(case when edges.is_tie and reverse_edges.is_tie then 1 else 0 end) as n_ties_returned
    from edges
    inner join edges as reverse_edges
        on
            edges.collaboration_id = reverse_edges.collaboration_id
            and edges.wave = reverse_edges.wave
            and edges.from_organisation = reverse_edges.to_organisation
            and edges.to_organisation = reverse_edges.from_organisation
    group by edges.collaboration_id, edges.wave
),

measures as (
    select
        degree_spread.collaboration_id,
        degree_spread.wave,
        degree_spread.n_organisations,
        coalesce(edge_totals.n_rating_organisations, 0) as n_rating_organisations,
        coalesce(edge_totals.n_possible_ties, 0) as n_possible_ties,
        coalesce(edge_totals.n_ties, 0) as n_ties,
        case
            when edge_totals.n_possible_ties > 0
                then cast(edge_totals.n_ties as double) / edge_totals.n_possible_ties
        end as density_raw,
        case
            when returned.n_ties_answerable > 0
                then cast(returned.n_ties_returned as double) / returned.n_ties_answerable
        end as reciprocity_raw,
        case
            when edge_totals.n_possible_ties > 0 and degree_spread.n_organisations >= 2
                then
                    cast(degree_spread.shortfall_from_largest as double)
                    / ((degree_spread.n_organisations - 1) * (degree_spread.n_organisations - 1))
        end as centralisation_raw,
        edge_totals.mean_trust_raw,
        edge_totals.mean_value_raw
    from degree_spread
    left join edge_totals
        on
            degree_spread.collaboration_id = edge_totals.collaboration_id
            and degree_spread.wave = edge_totals.wave
    left join returned
        on
            degree_spread.collaboration_id = returned.collaboration_id
            and degree_spread.wave = returned.wave
)

select
    cast(collaboration_id as string) as collaboration_id,
    cast(wave as integer) as wave,
    cast(n_organisations as integer) as n_organisations,
    cast(n_rating_organisations as integer) as n_rating_organisations,
    cast(n_possible_ties as integer) as n_possible_ties,
    cast(n_ties as integer) as n_ties,
    cast({{ var('network_tie_closeness') }} as double) as tie_closeness,
    {{ round_half_up('density_raw', 4) }} as density,
    {{ round_half_up('reciprocity_raw', 4) }} as reciprocity,
    {{ round_half_up('centralisation_raw', 4) }} as degree_centralisation,
    {{ round_half_up('mean_trust_raw', 2) }} as mean_trust,
    {{ round_half_up('mean_value_raw', 2) }} as mean_value,
    {{ round_half_up('density_raw - lag(density_raw) over (partition by collaboration_id order by wave)', 4) }}
        as density_change,
    {{ round_half_up('reciprocity_raw - lag(reciprocity_raw) over (partition by collaboration_id order by wave)', 4) }}
        as reciprocity_change,
    {{ round_half_up(
        'centralisation_raw - lag(centralisation_raw) over (partition by collaboration_id order by wave)', 4) }}
        as degree_centralisation_change,
    {{ round_half_up('mean_trust_raw - lag(mean_trust_raw) over (partition by collaboration_id order by wave)', 2) }}
        as mean_trust_change,
    {{ round_half_up('mean_value_raw - lag(mean_value_raw) over (partition by collaboration_id order by wave)', 2) }}
        as mean_value_change
from measures
-- In grain order, so the table's rows are stored in the same order on every build.
order by collaboration_id, wave
