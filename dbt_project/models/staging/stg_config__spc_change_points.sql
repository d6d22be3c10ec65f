select
    cast(metric_id as string) as metric_id,
    cast(entity_type as string) as entity_type,
    cast(entity_id as string) as entity_id,
    cast(change_month as date) as change_month,
    cast(baseline_points as integer) as baseline_points,
    cast(reason as string) as reason
from {{ source('clean', 'spc_change_points') }}
