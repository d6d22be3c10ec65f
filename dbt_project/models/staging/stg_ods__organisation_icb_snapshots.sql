select
    cast(org_code as varchar) as org_code,
    cast(icb_code as varchar) as icb_code,
    cast(as_at as date) as as_at,
    cast(source_file as varchar) as source_file
from {{ source('clean', 'organisation_icb_snapshots') }}
