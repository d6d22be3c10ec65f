select
    cast(region_code as varchar) as region_code,
    cast(region_name as varchar) as region_name
from {{ source('clean', 'regions') }}
