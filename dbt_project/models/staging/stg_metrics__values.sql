select
    cast(metric_id as string) as metric_id,
    cast(org_code as string) as org_code,
    cast(period_start as date) as period_month,
    cast(period_grain as string) as period_grain,
    cast(numerator as double) as numerator,
    cast(denominator as double) as denominator,
    cast(value as double) as value,
    cast(unit as string) as unit,
    cast(source as string) as source,
    cast(source_file as string) as source_file
from {{ source('clean', 'metric_values') }}
