-- Privacy: a withheld rating is published nowhere in the network marts. Returns every
-- published tie whose is_reciprocated is set although the rating back is withheld (it
-- would tell whether the withheld rating is a tie), and every organisation whose own
-- figures show although its ratings are withheld.
{{ config(severity='error', meta={'dagster': {'ref': {'name': 'collaboration_network_edges'}}}) }}
select
    edges.collaboration_id,
    edges.wave,
    edges.from_organisation as organisation_code,
    'is_reciprocated shows a withheld rating back' as problem
from {{ ref('collaboration_network_edges') }} as edges
inner join {{ ref('collaboration_network_edges') }} as reverse_edges
    on
        edges.collaboration_id = reverse_edges.collaboration_id
        and edges.wave = reverse_edges.wave
        and edges.from_organisation = reverse_edges.to_organisation
        and edges.to_organisation = reverse_edges.from_organisation
where edges.is_reciprocated is not null and reverse_edges.closeness is null
union all
select
    collaboration_id,
    wave,
    organisation_code,
    'its own ratings show although withheld' as problem
from {{ ref('collaboration_network_by_organisation') }}
where
    is_suppressed
    and (out_degree is not null or trust_given is not null or value_given is not null)
