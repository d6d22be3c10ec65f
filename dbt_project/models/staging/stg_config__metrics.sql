select
    cast(metric_id as string) as metric_id,
    cast(metric_name as string) as metric_name,
    cast(domain as string) as domain,
    cast(unit as string) as unit,
    cast(polarity as string) as polarity,
    cast(description as string) as description,
    cast(target_value as double) as target_value,
    cast(is_poolable as boolean) as is_poolable,
    cast(period_grain as string) as period_grain,
    cast(observed_from_month as integer) as observed_from_month,
    cast(observed_to_month as integer) as observed_to_month
from {{ source('clean', 'metric_catalogue') }}
