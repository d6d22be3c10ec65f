-- When each organisation belonged to each ICB, from the reference snapshots: a snapshot
-- holds from its month until the next snapshot of the same organisation. Periods before the
-- earliest extract take the earliest extract's mapping (ICBs began in July 2022; earlier
-- periods are placed in the ICB of the earliest mapping we hold). An organisation that
-- first appears in a later extract is not pushed back before it: those periods are left
-- out of every ICB rather than placed in an ICB that did not exist yet.
with snapshots as (
    select
        org_code,
        icb_code,
        as_at,
        {{ dbt.date_trunc('month', 'as_at') }} as as_at_month
    from {{ ref('stg_ods__organisation_icb_snapshots') }}
),

-- One snapshot per organisation and month (the later extract of the month wins).
monthly as (
    select org_code, icb_code, as_at_month
    from (
        select
            *,
            row_number() over (partition by org_code, as_at_month order by as_at desc, icb_code asc) as pick
        from snapshots
    ) as ranked
    where pick = 1
),

earliest as (
    select min(as_at_month) as first_extract_month from snapshots
)

select
    monthly.org_code,
    monthly.icb_code,
    case
        when monthly.as_at_month = earliest.first_extract_month then null
        else monthly.as_at_month
    end as valid_from,
    lead(monthly.as_at_month) over (partition by monthly.org_code order by monthly.as_at_month) as valid_to
from monthly
cross join earliest
