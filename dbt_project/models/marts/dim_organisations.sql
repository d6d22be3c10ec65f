-- Organisations: every trust in the ODS reference, and every older code named in the
-- successor file, with the code its history reports under.
with organisations as (
    select * from {{ ref('stg_ods__organisations') }}
),

successors as (
    select * from {{ ref('stg_ods__organisation_successors') }}
),

codes as (
    select org_code from organisations
    union
    select org_code from successors
),

icbs as (
    select * from {{ ref('stg_ods__icbs') }}
),

regions as (
    select * from {{ ref('stg_ods__regions') }}
)

select
    cast(codes.org_code as string) as org_code,
    cast(organisations.org_name as string) as org_name,
    cast(organisations.region_code as string) as region_code,
    cast(regions.region_name as string) as region_name,
    cast(organisations.icb_code as string) as icb_code,
    cast(icbs.icb_name as string) as icb_name,
    cast(organisations.opened_on as date) as opened_on,
    cast(organisations.closed_on as date) as closed_on,
    cast(coalesce(successors.reporting_code, codes.org_code) as string) as reporting_code,
    cast(successors.successor_codes as string) as successor_codes,
    cast(successors.succeeded_on as date) as succeeded_on,
    cast(coalesce(successors.is_split, false) as boolean) as is_split
from codes
left join organisations on codes.org_code = organisations.org_code
left join successors on codes.org_code = successors.org_code
left join icbs on organisations.icb_code = icbs.icb_code
left join regions on organisations.region_code = regions.region_code
-- In grain order, so the table's rows are stored in the same order on every build.
order by org_code
