select
    cast(region_code as string) as region_code,
    cast(region_name as string) as region_name
from {{ source('clean', 'regions') }}
