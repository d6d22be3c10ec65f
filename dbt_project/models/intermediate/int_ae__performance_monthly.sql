-- A&E four-hour performance per organisation and month, as numerator and denominator so
-- that any group of organisations can be pooled: attendances within 4 hours / attendances.
-- All department types, booked appointments included (as NHS England's headline measure).
with monthly as (
    select * from {{ ref('stg_ae__monthly') }}
),

totals as (
    select
        org_code,
        period_month,
        attendances_type1 + attendances_type2 + attendances_other
            + coalesce(attendances_booked_type1, 0) + coalesce(attendances_booked_type2, 0)
            + coalesce(attendances_booked_other, 0) as attendances,
        over_4h_type1 + over_4h_type2 + over_4h_other
            + coalesce(over_4h_booked_type1, 0) + coalesce(over_4h_booked_type2, 0)
            + coalesce(over_4h_booked_other, 0) as over_4h
    from monthly
)

select
    org_code,
    period_month,
    'ae_4h_all' as metric_id,
    attendances - over_4h as numerator,
    attendances as denominator
from totals
where attendances > 0
