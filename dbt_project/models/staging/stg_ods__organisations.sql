select
    cast(org_code as string) as org_code,
    cast(org_name as string) as org_name,
    cast(region_code as string) as region_code,
    cast(icb_code as string) as icb_code,
    cast(opened_on as date) as opened_on,
    cast(closed_on as date) as closed_on,
    cast(source_file as string) as source_file
from {{ source('clean', 'organisations') }}
