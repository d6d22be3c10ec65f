-- Membership over time: who was a member of which collaboration, from when until when.
with members as (
    select * from {{ ref('stg_config__collaboration_members') }}
),

organisations as (
    select * from {{ ref('stg_ods__organisations') }}
)

select
    cast(members.collaboration_id as string) as collaboration_id,
    cast(members.org_code as string) as org_code,
    cast(organisations.org_name as string) as org_name,
    cast(members.joined_on as date) as joined_on,
    cast(members.left_on as date) as left_on,
    cast(members.left_on is null as boolean) as is_current_member
from members
left join organisations on members.org_code = organisations.org_code
-- In grain order, so the table's rows are stored in the same order on every build.
order by collaboration_id, org_code
