-- Shortest paths along ties (int_network_edges.is_tie, directed: from the rating to the
-- rated organisation) between every two organisations of a network: their length
-- (`distance`, in ties) and how many there are (`n_paths`). Grain: one row per
-- collaboration, wave, source and target organisation the source reaches (never itself).
--
-- A breadth-first search from every organisation at once, as var('network_max_path_length')
-- steps of the same query, with no recursion (so it runs on any engine). The state is
-- every (source, target) pair with the distance and number of shortest paths found so far
-- (null and 0 while unreached). Each step joins the state to the network's moves: every tie,
-- and every organisation to itself, which carries each pair's state forward. A pair still
-- unreached gets distance k at step k when a pair first reached at step k - 1 (the
-- frontier) has a tie to it, with the sum of those pairs' path counts (a count of shortest
-- paths: Brandes' sigma). Each step reads the previous state once, so the query grows by
-- one join a step. The test assert_network_paths_complete fails if a path would need more
-- steps than the var allows.
{{ config(materialized='table') }}
{%- set steps = var('network_max_path_length') | int %}
with nodes as (
    select collaboration_id, wave, organisation_code from {{ ref('int_network_members') }}
),

moves as (
    select collaboration_id, wave, from_organisation, to_organisation, 1 as is_tie
    from {{ ref('int_network_edges') }}
    where is_tie
    union all
    select
        collaboration_id,
        wave,
        organisation_code as from_organisation,
        organisation_code as to_organisation,
        0 as is_tie
    from nodes
),

state_0 as (
    select
        sources.collaboration_id,
        sources.wave,
        sources.organisation_code as source_organisation,
        targets.organisation_code as target_organisation,
        case when sources.organisation_code = targets.organisation_code then 0 end as distance,
        cast(case when sources.organisation_code = targets.organisation_code then 1 else 0 end as bigint) as n_paths
    from nodes as sources
    inner join nodes as targets
        on
            sources.collaboration_id = targets.collaboration_id
            and sources.wave = targets.wave
),
{%- for step in range(1, steps + 1) %}

    state_{{ step }} as (
        select
            previous.collaboration_id,
            previous.wave,
            previous.source_organisation,
            moves.to_organisation as target_organisation,
            coalesce(
                max(case when moves.is_tie = 0 then previous.distance end),
                case
                    when sum(case when moves.is_tie = 1 and previous.distance = {{ step - 1 }} then 1 else 0 end) > 0
                        then {{ step }}
                end
            ) as distance,
            case
                when max(case when moves.is_tie = 0 then previous.distance end) is not null
                    then max(case when moves.is_tie = 0 then previous.n_paths end)
                else
                    sum(
                        case
                            when moves.is_tie = 1 and previous.distance = {{ step - 1 }} then previous.n_paths else 0
                        end
                    )
            end as n_paths
        from state_{{ step - 1 }} as previous
        inner join moves
            on
                previous.collaboration_id = moves.collaboration_id
                and previous.wave = moves.wave
                and previous.target_organisation = moves.from_organisation
        group by previous.collaboration_id, previous.wave, previous.source_organisation, moves.to_organisation
    ),
{%- endfor %}

reached as (
    select * from state_{{ steps }}
)

select
    collaboration_id,
    wave,
    source_organisation,
    target_organisation,
    cast(distance as integer) as distance,
    cast(n_paths as bigint) as n_paths
from reached
where distance > 0
order by collaboration_id, wave, source_organisation, target_organisation
