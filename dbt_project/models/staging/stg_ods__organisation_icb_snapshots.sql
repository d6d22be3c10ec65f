select
    cast(org_code as string) as org_code,
    cast(icb_code as string) as icb_code,
    cast(as_at as date) as as_at,
    cast(source_file as string) as source_file
from {{ source('clean', 'organisation_icb_snapshots') }}
