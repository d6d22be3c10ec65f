select
    cast(metric_id as varchar) as metric_id,
    cast(org_code as varchar) as org_code,
    cast(period_start as date) as period_month,
    cast(period_grain as varchar) as period_grain,
    cast(numerator as double) as numerator,
    cast(denominator as double) as denominator,
    cast(value as double) as value,
    cast(unit as varchar) as unit,
    cast(source as varchar) as source,
    cast(source_file as varchar) as source_file
from {{ source('clean', 'metric_values') }}
