-- Betweenness of each organisation of a network: over every ordered pair of other
-- organisations (s, t) joined by a shortest path, the share of their shortest paths that
-- pass through it, summed: sum of sigma(s, v) x sigma(v, t) / sigma(s, t) where
-- d(s, v) + d(v, t) = d(s, t) (int_network_geodesics; Freeman 1977, directed). Each term is
-- fixed at 12 decimals and summed exactly, so the total is the same on every build.
-- `betweenness_normalised` divides by (n - 1)(n - 2), the most any organisation of n can
-- have (null with fewer than 3 organisations).
with nodes as (
    select * from {{ ref('int_network_members') }}
),

geodesics as (
    select * from {{ ref('int_network_geodesics') }}
),

sizes as (
    select collaboration_id, wave, count(*) as n_organisations
    from nodes
    group by collaboration_id, wave
),

through as (
    select
        to_middle.collaboration_id,
        to_middle.wave,
        to_middle.target_organisation as organisation_code,
        {{ exact_sum(
            'cast(to_middle.n_paths * from_middle.n_paths as double) / whole_path.n_paths'
        ) }} as betweenness
    from geodesics as to_middle
    inner join geodesics as from_middle
        on
            to_middle.collaboration_id = from_middle.collaboration_id
            and to_middle.wave = from_middle.wave
            and to_middle.target_organisation = from_middle.source_organisation
    inner join geodesics as whole_path
        on
            to_middle.collaboration_id = whole_path.collaboration_id
            and to_middle.wave = whole_path.wave
            and to_middle.source_organisation = whole_path.source_organisation
            and from_middle.target_organisation = whole_path.target_organisation
    where
        to_middle.source_organisation <> from_middle.target_organisation
        and to_middle.distance + from_middle.distance = whole_path.distance
    group by to_middle.collaboration_id, to_middle.wave, to_middle.target_organisation
)

select
    nodes.collaboration_id,
    nodes.wave,
    nodes.organisation_code,
    sizes.n_organisations,
    cast(coalesce(through.betweenness, 0) as double) as betweenness,
    case
        when sizes.n_organisations >= 3
            then
                cast(coalesce(through.betweenness, 0) as double)
                / ((sizes.n_organisations - 1) * (sizes.n_organisations - 2))
    end as betweenness_normalised
from nodes
inner join sizes
    on
        nodes.collaboration_id = sizes.collaboration_id
        and nodes.wave = sizes.wave
left join through
    on
        nodes.collaboration_id = through.collaboration_id
        and nodes.wave = through.wave
        and nodes.organisation_code = through.organisation_code
