select
    cast(metric_id as varchar) as metric_id,
    cast(metric_name as varchar) as metric_name,
    cast(domain as varchar) as domain,
    cast(unit as varchar) as unit,
    cast(polarity as varchar) as polarity,
    cast(description as varchar) as description,
    cast(target_value as double) as target_value,
    cast(is_poolable as boolean) as is_poolable,
    cast(period_grain as varchar) as period_grain,
    cast(observed_from_month as integer) as observed_from_month,
    cast(observed_to_month as integer) as observed_to_month
from {{ source('clean', 'metric_catalogue') }}
