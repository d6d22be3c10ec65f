select
    cast(org_code as string) as org_code,
    cast(reporting_code as string) as reporting_code,
    cast(succeeded_on as date) as succeeded_on,
    cast(is_split as boolean) as is_split,
    cast(successor_codes as string) as successor_codes,
    cast(chain as string) as successor_chain
from {{ source('clean', 'organisation_successors') }}
