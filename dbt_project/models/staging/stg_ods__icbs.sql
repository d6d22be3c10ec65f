select
    cast(icb_code as varchar) as icb_code,
    cast(icb_name as varchar) as icb_name,
    cast(icb_ons_code as varchar) as icb_ons_code
from {{ source('clean', 'icbs') }}
