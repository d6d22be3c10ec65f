-- The organisations of each network: the members of a collaboration during a wave's
-- fieldwork (joined by its end, not left before its start), for the collaboration-waves
-- with partner ratings. Every member is a node, rated or not.
with members as (
    select * from {{ ref('stg_config__collaboration_members') }}
),

waves as (
    select * from {{ ref('stg_config__collaboration_waves') }}
),

rated_waves as (
    select collaboration_id, wave, min(instrument_id) as instrument_id
    from {{ ref('stg_diagnostic__partner_ratings') }}
    group by collaboration_id, wave
),

high_from as (
    select instrument_id, max(high_from) as high_from
    from {{ ref('stg_diagnostic__partner_items') }}
    group by instrument_id
)

select
    members.collaboration_id,
    waves.wave,
    members.org_code as organisation_code,
    rated_waves.instrument_id,
    high_from.high_from
from members
inner join waves
    on members.collaboration_id = waves.collaboration_id
inner join rated_waves
    on
        waves.collaboration_id = rated_waves.collaboration_id
        and waves.wave = rated_waves.wave
left join high_from
    on rated_waves.instrument_id = high_from.instrument_id
where
    members.joined_on <= waves.fieldwork_end
    and (members.left_on is null or members.left_on >= waves.fieldwork_start)
