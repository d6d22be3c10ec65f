-- Warnings a collaboration's readers must see beside its figures: members whose data for a
-- target metric stopped while they were still members, and members that report under a
-- successor code. One row per collaboration, member organisation, target metric and warning.
with members as (
    select * from {{ ref('stg_config__collaboration_members') }}
),

targets as (
    select * from {{ ref('stg_config__collaboration_targets') }}
),

collaborations as (
    select collaboration_id, collaboration_name from {{ ref('stg_config__collaborations') }}
),

successors as (
    select * from {{ ref('stg_ods__organisation_successors') }}
    where not is_split and reporting_code <> org_code
),

organisation_values as (
    select org_code, metric_id, period_month, period_grain
    from {{ ref('int_metric_values__organisation') }}
    where value is not null
),

published_periods as (
    select
        metric_id,
        period_month,
        period_grain,
        case
            when period_grain = 'year' then {{ dbt.dateadd('year', 1, 'period_month') }}
            else {{ dbt.dateadd('month', 1, 'period_month') }}
        end as period_end
    from (select distinct metric_id, period_month, period_grain from organisation_values) as periods
),

latest_published as (
    select metric_id, max(period_month) as latest_period_published
    from published_periods
    group by 1
),

member_targets as (
    select
        members.collaboration_id,
        members.org_code,
        members.joined_on,
        members.left_on,
        targets.metric_id
    from members
    inner join targets
        on members.collaboration_id = targets.collaboration_id
),

last_reported as (
    select org_code, metric_id, max(period_month) as last_period_reported
    from organisation_values
    group by 1, 2
),

-- Published periods after a member's last report in which it was still a member.
missed as (
    select
        member_targets.collaboration_id,
        member_targets.org_code,
        member_targets.metric_id,
        last_reported.last_period_reported,
        max(published_periods.period_grain) as period_grain,
        count(*) as periods_missing
    from member_targets
    inner join last_reported
        on
            member_targets.org_code = last_reported.org_code
            and member_targets.metric_id = last_reported.metric_id
    inner join published_periods
        on
            member_targets.metric_id = published_periods.metric_id
            and published_periods.period_month > last_reported.last_period_reported
            and member_targets.joined_on < published_periods.period_end
            and (member_targets.left_on is null or member_targets.left_on >= published_periods.period_month)
    group by 1, 2, 3, 4
),

stopped as (
    select
        missed.collaboration_id,
        missed.org_code,
        missed.metric_id,
        missed.period_grain,
        'stopped_reporting' as warning,
        missed.last_period_reported,
        latest_published.latest_period_published,
        missed.periods_missing,
        missed.org_code || ' has not reported ' || missed.metric_id || ' since '
        || {{ period_label('missed.last_period_reported', 'missed.period_grain') }}
        || ': merged? add a successor (or end its membership of ' || missed.collaboration_id || '); '
        || missed.metric_id || ' is published to '
        || {{ period_label('latest_published.latest_period_published', 'missed.period_grain') }} || '.' as message
    from missed
    inner join latest_published
        on missed.metric_id = latest_published.metric_id
),

under_successor as (
    select
        member_targets.collaboration_id,
        member_targets.org_code,
        member_targets.metric_id,
        max(published_periods.period_grain) as period_grain,
        'reports_under_successor' as warning,
        cast(null as date) as last_period_reported,
        max(latest_published.latest_period_published) as latest_period_published,
        cast(null as integer) as periods_missing,
        member_targets.org_code || ' reports under its successor ' || max(successors.reporting_code)
        || ' (ODS successor from ' || cast(max(successors.succeeded_on) as {{ dbt.type_string() }}) || '), so '
        || member_targets.org_code || '''s own code has no ' || member_targets.metric_id
        || ' data: name ' || max(successors.reporting_code) || ' as the member of '
        || member_targets.collaboration_id || '.' as message
    from member_targets
    inner join successors
        on member_targets.org_code = successors.org_code
    left join published_periods
        on member_targets.metric_id = published_periods.metric_id
    left join latest_published
        on member_targets.metric_id = latest_published.metric_id
    group by 1, 2, 3
),

warnings as (
    select * from stopped
    union all
    select * from under_successor
)

select
    cast(warnings.collaboration_id as string) as collaboration_id,
    cast(collaborations.collaboration_name as string) as collaboration_name,
    cast(warnings.org_code as string) as org_code,
    cast(warnings.metric_id as string) as metric_id,
    cast(warnings.period_grain as string) as period_grain,
    cast(warnings.warning as string) as warning,
    cast(warnings.last_period_reported as date) as last_period_reported,
    cast(warnings.latest_period_published as date) as latest_period_published,
    cast(warnings.periods_missing as integer) as periods_missing,
    cast(warnings.message as string) as message
from warnings
left join collaborations
    on warnings.collaboration_id = collaborations.collaboration_id
-- In grain order, so the table's rows are stored in the same order on every build.
order by warnings.collaboration_id, warnings.org_code, warnings.metric_id, warnings.warning  -- noqa: AM06
