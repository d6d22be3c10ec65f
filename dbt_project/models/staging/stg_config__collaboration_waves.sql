select
    cast(collaboration_id as string) as collaboration_id,
    cast(wave as integer) as wave,
    cast(fieldwork_start as date) as fieldwork_start,
    cast(fieldwork_end as date) as fieldwork_end
from {{ source('clean', 'collaboration_waves') }}
