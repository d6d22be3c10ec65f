-- System metrics with Making Data Count SPC: every organisation, collaboration and ICB
-- series, each point with its process limits and signal (see int_system_metrics__spc).
with points as (
    select * from {{ ref('int_system_metrics__spc') }}
),

series as (
    select
        entity_type,
        entity_id,
        metric_id,
        period_month,
        period_grain,
        n_organisations,
        n_organisations_not_reporting,
        organisations_not_reporting
    from {{ ref('int_system_metrics__series') }}
),

publication_names as (
    select * from {{ ref('stg_metrics__publication_names') }}
),

ods_names as (
    select org_code, org_name from {{ ref('stg_ods__organisations') }}
),

names as (
    -- The ODS name where ODS holds the code, else the name the publication gives.
    select
        'organisation' as entity_type,
        codes.org_code as entity_id,
        coalesce(ods.org_name, published.org_name) as entity_name
    from (
        select org_code from ods_names
        union
        select org_code from publication_names
    ) as codes
    left join ods_names as ods on codes.org_code = ods.org_code
    left join publication_names as published on codes.org_code = published.org_code
    union all
    select 'collaboration', collaboration_id, collaboration_name
    from {{ ref('stg_config__collaborations') }}
    union all
    select 'icb', icb_code, icb_name
    from {{ ref('stg_ods__icbs') }}
)

select
    cast(points.entity_type as string) as entity_type,
    cast(points.entity_id as string) as entity_id,
    cast(names.entity_name as string) as entity_name,
    cast(points.period_month as date) as period_month,
    cast(series.period_grain as string) as period_grain,
    cast(points.metric_id as string) as metric_id,
    cast(points.numerator as double) as numerator,
    cast(points.denominator as double) as denominator,
    cast(points.value as double) as value,
    cast(series.n_organisations as integer) as n_organisations,
    series.n_organisations_not_reporting > 0 as coverage_dropped,
    cast(series.organisations_not_reporting as string) as organisations_not_reporting,
    cast(points.segment_start as date) as spc_segment_start,
    cast(points.spc_points as integer) as spc_points,
    cast(points.spc_mean as double) as spc_mean,
    cast(points.spc_lower as double) as spc_lower,
    cast(points.spc_upper as double) as spc_upper,
    cast(points.spc_lower_close as double) as spc_lower_close,
    cast(points.spc_upper_close as double) as spc_upper_close,
    cast(points.spc_signal as string) as spc_signal,
    cast(points.spc_rules as string) as spc_rules,
    cast(points.spc_assurance as string) as spc_assurance
from points
inner join series
    on
        points.entity_type = series.entity_type
        and points.entity_id = series.entity_id
        and points.metric_id = series.metric_id
        and points.period_month = series.period_month
left join names
    on
        points.entity_type = names.entity_type
        and points.entity_id = names.entity_id
-- In grain order, so the table's rows are stored in the same order on every build.
order by entity_type, entity_id, metric_id, period_month
