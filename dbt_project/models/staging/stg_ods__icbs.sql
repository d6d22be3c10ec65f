select
    cast(icb_code as string) as icb_code,
    cast(icb_name as string) as icb_name,
    cast(icb_ons_code as string) as icb_ons_code
from {{ source('clean', 'icbs') }}
