select
    cast(collaboration_id as string) as collaboration_id,
    cast(org_code as string) as org_code,
    cast(joined_on as date) as joined_on,
    cast(left_on as date) as left_on
from {{ source('clean', 'collaboration_members') }}
