select
    cast(org_code as varchar) as org_code,
    cast(reporting_code as varchar) as reporting_code,
    cast(succeeded_on as date) as succeeded_on,
    cast(is_split as boolean) as is_split,
    cast(successor_codes as varchar) as successor_codes,
    cast(chain as varchar) as successor_chain
from {{ source('clean', 'organisation_successors') }}
