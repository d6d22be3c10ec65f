select
    cast(org_code as string) as org_code,
    cast(org_name as string) as org_name
from {{ source('clean', 'publication_names') }}
