select
    cast(collaboration_id as varchar) as collaboration_id,
    cast(name as varchar) as collaboration_name,
    cast(icb_code as varchar) as icb_code,
    cast(purpose as varchar) as purpose,
    cast(value_kinds as varchar) as value_kinds,
    cast(instrument_id as varchar) as instrument_id
from {{ source('clean', 'collaborations') }}
