-- When each organisation belonged to each ICB, from the reference snapshots: a snapshot
-- holds from its month until the next snapshot of the same organisation. Periods before an
-- organisation's first snapshot take that first snapshot (ICBs began in July 2022; earlier
-- periods are placed in the ICB of the earliest mapping we hold).
with snapshots as (
    select
        org_code,
        icb_code,
        {{ dbt.date_trunc('month', 'as_at') }} as as_at_month
    from {{ ref('stg_ods__organisation_icb_snapshots') }}
)

select
    org_code,
    icb_code,
    case
        when row_number() over (partition by org_code order by as_at_month) = 1 then null
        else as_at_month
    end as valid_from,
    lead(as_at_month) over (partition by org_code order by as_at_month) as valid_to
from snapshots
