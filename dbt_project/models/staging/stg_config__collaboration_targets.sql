select
    cast(collaboration_id as string) as collaboration_id,
    cast(metric_id as string) as metric_id,
    cast(direction as string) as direction,
    cast(target_value as double) as target_value,
    cast(target_date as date) as target_date
from {{ source('clean', 'collaboration_targets') }}
