select
    cast(collaboration_id as string) as collaboration_id,
    cast(name as string) as collaboration_name,
    cast(icb_code as string) as icb_code,
    cast(purpose as string) as purpose,
    cast(value_kinds as string) as value_kinds,
    cast(instrument_id as string) as instrument_id
from {{ source('clean', 'collaborations') }}
