select
    cast(collaboration_id as varchar) as collaboration_id,
    cast(name as varchar) as collaboration_name,
    cast(icb_code as varchar) as icb_code
from {{ source('clean', 'collaborations') }}
