-- Partner-to-partner ratings as a network's directed edges: for each collaboration, wave and
-- ordered pair of member organisations, how the first organisation's respondents rate their
-- relationship with the second (means: closeness 0-4, trust and value on the codebook's
-- agreement scale), whether that is a tie (closeness at least var('network_tie_closeness'))
-- and whether the tie is returned. Suppressed, with every rating null, when fewer than
-- var('min_group_size') of the rating organisation's respondents rated the other; a tie's
-- `is_reciprocated` is null when the return rating is not published, so a suppressed
-- rating cannot be read from it either (see int_network_edges).
with edges as (
    select * from {{ ref('int_network_edges') }}
)

select
    cast(edges.collaboration_id as string) as collaboration_id,
    cast(edges.wave as integer) as wave,
    cast(edges.from_organisation as string) as from_organisation,
    cast(edges.to_organisation as string) as to_organisation,
    cast(edges.n_respondents as integer) as n_respondents,
    cast(edges.closeness as double) as closeness,
    cast(edges.trust as double) as trust,
    cast(edges.value as double) as value,
    cast(edges.is_tie as boolean) as is_tie,
    cast(case when edges.is_tie then reverse_edges.is_tie end as boolean) as is_reciprocated,
    cast(edges.is_suppressed as boolean) as is_suppressed
from edges
inner join edges as reverse_edges
    on
        edges.collaboration_id = reverse_edges.collaboration_id
        and edges.wave = reverse_edges.wave
        and edges.from_organisation = reverse_edges.to_organisation
        and edges.to_organisation = reverse_edges.from_organisation
-- In grain order, so the table's rows are stored in the same order on every build.
order by collaboration_id, wave, from_organisation, to_organisation
