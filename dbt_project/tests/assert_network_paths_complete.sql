-- int_network_geodesics follows shortest paths var('network_max_path_length') ties deep.
-- Fails, naming the pairs, if a tie leads from a reached pair to a pair not yet reached:
-- a path would need more steps than the var allows (raise it in dbt_project.yml).
{{ config(severity='error', meta={'dagster': {'ref': {'name': 'int_network_geodesics'}}}) }}
with geodesics as (
    select * from {{ ref('int_network_geodesics') }}
),

ties as (
    select * from {{ ref('int_network_edges') }}
    where is_tie
)

select
    geodesics.collaboration_id,
    geodesics.wave,
    geodesics.source_organisation,
    ties.to_organisation as unreached_target
from geodesics
inner join ties
    on
        geodesics.collaboration_id = ties.collaboration_id
        and geodesics.wave = ties.wave
        and geodesics.target_organisation = ties.from_organisation
left join geodesics as known
    on
        geodesics.collaboration_id = known.collaboration_id
        and geodesics.wave = known.wave
        and geodesics.source_organisation = known.source_organisation
        and ties.to_organisation = known.target_organisation
where
    known.target_organisation is null
    and ties.to_organisation <> geodesics.source_organisation
