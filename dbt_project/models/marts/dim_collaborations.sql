-- Collaborations as declared: purpose, kinds of value, ICB, instrument, members and targets.
with collaborations as (
    select * from {{ ref('stg_config__collaborations') }}
),

members as (
    select * from {{ ref('stg_config__collaboration_members') }}
),

targets as (
    select * from {{ ref('stg_config__collaboration_targets') }}
),

icbs as (
    select * from {{ ref('stg_ods__icbs') }}
),

member_counts as (
    select
        collaboration_id,
        count(*) as members_ever,
        sum(case when left_on is null then 1 else 0 end) as members_now
    from members
    group by 1
),

target_lists as (
    select
        collaboration_id,
        {{ string_list('metric_id') }} as target_metrics
    from targets
    group by 1
)

select
    cast(collaborations.collaboration_id as string) as collaboration_id,
    cast(collaborations.collaboration_name as string) as collaboration_name,
    cast(collaborations.icb_code as string) as icb_code,
    cast(icbs.icb_name as string) as icb_name,
    cast(collaborations.purpose as string) as purpose,
    cast(collaborations.value_kinds as string) as value_kinds,
    cast(collaborations.instrument_id as string) as instrument_id,
    cast(coalesce(member_counts.members_ever, 0) as integer) as members_ever,
    cast(coalesce(member_counts.members_now, 0) as integer) as members_now,
    cast(target_lists.target_metrics as string) as target_metrics
from collaborations
left join icbs on collaborations.icb_code = icbs.icb_code
left join member_counts on collaborations.collaboration_id = member_counts.collaboration_id
left join target_lists on collaborations.collaboration_id = target_lists.collaboration_id
-- In grain order, so the table's rows are stored in the same order on every build.
order by collaboration_id  -- noqa: AM06
