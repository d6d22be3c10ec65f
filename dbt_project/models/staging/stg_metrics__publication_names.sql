select
    cast(org_code as varchar) as org_code,
    cast(org_name as varchar) as org_name
from {{ source('clean', 'publication_names') }}
