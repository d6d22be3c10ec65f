-- For each collaboration, wave and target metric: the metric before fieldwork and after it.
--
-- Windows by the metric's period grain:
-- * month: baseline = the N months before the first fieldwork month, follow-up = the N
--   months after the last one (N = var('outcome_window_months')); fieldwork months belong
--   to neither.
-- * year: baseline = the last period that ends before fieldwork starts, follow-up = the
--   first period that starts after fieldwork ends. A yearly period is the part of its year
--   the value describes (the metric's observed_from_month to observed_to_month: the Staff
--   Survey's autumn fieldwork, September to November; the whole year by default).
--
-- Like for like, on membership and on reporting: an organisation counts in either window
-- only if it was a member for the whole span (from the baseline's start to the follow-up's
-- end) and reported the metric in every published period of both windows (a period is
-- published when any organisation has a value for it). A member that joined or left
-- (`membership_changed`) or whose reporting stopped or started (`coverage_changed`) would
-- change the total, not the collaboration's performance: it is left out of both windows,
-- named in `organisations_not_reporting` or `comparison_note`, and the change is computed
-- over the others. `comparison_note` says so on every row whose compared set is not all
-- the members of the span.
--
-- Each window sums the compared organisations' numerators and denominators (a count: the
-- mean per period of their total); a metric published without counts (SHMI) is the mean of
-- the compared organisations' values. `is_provisional` marks a window with fewer published
-- periods than var('outcome_min_months') (month) or none (year). Sums are exact DECIMALs
-- (macros/exact_arithmetic.sql), the same on every build.
{%- set window_months = var('outcome_window_months') %}
{%- set min_months = var('outcome_min_months') %}
with waves as (
    select * from {{ ref('stg_config__collaboration_waves') }}
),

targets as (
    select * from {{ ref('stg_config__collaboration_targets') }}
),

members as (
    select * from {{ ref('stg_config__collaboration_members') }}
),

metrics as (
    select
        metric_id,
        is_poolable,
        coalesce(period_grain, 'month') as period_grain,
        coalesce(observed_from_month, 1) as observed_from_month,
        coalesce(observed_to_month, 12) as observed_to_month
    from {{ ref('stg_config__metrics') }}
),

organisation_values as (
    select org_code, metric_id, period_month, period_grain, numerator, denominator, value
    from {{ ref('int_metric_values__organisation') }}
    where value is not null
),

published_periods as (
    select distinct metric_id, period_month, period_grain from organisation_values
),

spc_points as (
    select * from {{ ref('int_system_metrics__spc') }}
    where entity_type = 'collaboration'
),

wave_targets as (
    select
        waves.collaboration_id,
        waves.wave,
        targets.metric_id,
        targets.direction,
        targets.target_value,
        targets.target_date,
        waves.fieldwork_start,
        waves.fieldwork_end,
        coalesce(metrics.period_grain, 'month') as period_grain,
        coalesce(metrics.is_poolable, true) as is_poolable,
        coalesce(metrics.observed_from_month, 1) as observed_from_month,
        coalesce(metrics.observed_to_month, 12) as observed_to_month,
        {{ dbt.date_trunc('year', 'waves.fieldwork_start') }} as fieldwork_start_year,
        {{ dbt.date_trunc('year', 'waves.fieldwork_end') }} as fieldwork_end_year
    from waves
    inner join targets
        on waves.collaboration_id = targets.collaboration_id
    left join metrics
        on targets.metric_id = metrics.metric_id
),

-- Each window as a range of period starts [from, to), and the span members must cover.
windows as (
    select
        wave_targets.*,
        case
            when period_grain = 'year'
                then
                    case
                        when
                            fieldwork_start
                            >= {{ dbt.dateadd('month', 'observed_to_month', 'fieldwork_start_year') }}
                            then fieldwork_start_year
                        else {{ dbt.dateadd('year', -1, 'fieldwork_start_year') }}
                    end
            else {{ dbt.dateadd('month', -window_months, dbt.date_trunc('month', 'fieldwork_start')) }}
        end as baseline_from,
        case
            when period_grain = 'year'
                then
                    case
                        when
                            fieldwork_end
                            < {{ dbt.dateadd('month', 'observed_from_month - 1', 'fieldwork_end_year') }}
                            then fieldwork_end_year
                        else {{ dbt.dateadd('year', 1, 'fieldwork_end_year') }}
                    end
            else {{ dbt.dateadd('month', 1, dbt.date_trunc('month', 'fieldwork_end')) }}
        end as followup_from
    from wave_targets
),

bounded as (
    select
        windows.*,
        case
            when period_grain = 'year' then {{ dbt.dateadd('year', 1, 'baseline_from') }}
            else {{ dbt.date_trunc('month', 'fieldwork_start') }}
        end as baseline_to,
        case
            when period_grain = 'year' then {{ dbt.dateadd('year', 1, 'followup_from') }}
            else {{ dbt.dateadd('month', window_months, 'followup_from') }}
        end as followup_to,
        -- Members must cover this span: the months the two windows' values describe.
        case
            when period_grain = 'year' then {{ dbt.dateadd('month', 'observed_from_month - 1', 'baseline_from') }}
            else baseline_from
        end as span_start,
        case
            when period_grain = 'year' then {{ dbt.dateadd('month', 'observed_to_month', 'followup_from') }}
            else {{ dbt.dateadd('month', window_months, 'followup_from') }}
        end as span_end,
        case when period_grain = 'year' then 1 else {{ min_months }} end as min_periods
    from windows
),

window_periods as (
    select
        bounded.collaboration_id,
        bounded.wave,
        bounded.metric_id,
        published_periods.period_month,
        case when published_periods.period_month < bounded.baseline_to then 'baseline' else 'followup' end
            as window_name
    from bounded
    inner join published_periods
        on
            bounded.metric_id = published_periods.metric_id
            and bounded.period_grain = published_periods.period_grain
            and (
                (
                    published_periods.period_month >= bounded.baseline_from
                    and published_periods.period_month < bounded.baseline_to
                )
                or (
                    published_periods.period_month >= bounded.followup_from
                    and published_periods.period_month < bounded.followup_to
                )
            )
),

period_counts as (
    select
        collaboration_id,
        wave,
        metric_id,
        sum(case when window_name = 'baseline' then 1 else 0 end) as baseline_periods,
        sum(case when window_name = 'followup' then 1 else 0 end) as followup_periods
    from window_periods
    group by 1, 2, 3
),

-- Every member during the span; `is_steady` = a member for the whole of it.
wave_members as (
    select
        bounded.collaboration_id,
        bounded.wave,
        bounded.metric_id,
        members.org_code,
        members.joined_on,
        members.left_on,
        case
            when
                members.joined_on <= bounded.span_start
                and (members.left_on is null or members.left_on >= {{ dbt.dateadd('day', -1, 'bounded.span_end') }})
                then 1
            else 0
        end as is_steady
    from bounded
    inner join members
        on
            bounded.collaboration_id = members.collaboration_id
            and members.joined_on < bounded.span_end
            and (members.left_on is null or members.left_on >= bounded.span_start)
),

-- How many of the windows' published periods each steady member reported.
member_reporting as (
    select
        wave_members.collaboration_id,
        wave_members.wave,
        wave_members.metric_id,
        wave_members.org_code,
        count(case when window_periods.window_name = 'baseline' then organisation_values.period_month end)
            as baseline_reported,
        count(case when window_periods.window_name = 'followup' then organisation_values.period_month end)
            as followup_reported,
        max(organisation_values.period_month) as last_reported
    from wave_members
    left join window_periods
        on
            wave_members.collaboration_id = window_periods.collaboration_id
            and wave_members.wave = window_periods.wave
            and wave_members.metric_id = window_periods.metric_id
    left join organisation_values
        on
            wave_members.org_code = organisation_values.org_code
            and wave_members.metric_id = organisation_values.metric_id
            and window_periods.period_month = organisation_values.period_month
    where wave_members.is_steady = 1
    group by 1, 2, 3, 4
),

classified as (
    select
        member_reporting.*,
        coalesce(period_counts.baseline_periods, 0) as baseline_periods,
        coalesce(period_counts.followup_periods, 0) as followup_periods,
        case
            when
                member_reporting.baseline_reported = coalesce(period_counts.baseline_periods, 0)
                and member_reporting.followup_reported = coalesce(period_counts.followup_periods, 0)
                then 1
            else 0
        end as is_compared
    from member_reporting
    left join period_counts
        on
            member_reporting.collaboration_id = period_counts.collaboration_id
            and member_reporting.wave = period_counts.wave
            and member_reporting.metric_id = period_counts.metric_id
),

-- The compared organisations pooled, period by period.
collaboration_periods as (
    select
        window_periods.collaboration_id,
        window_periods.wave,
        window_periods.metric_id,
        window_periods.period_month,
        window_periods.window_name,
        {{ exact_sum('organisation_values.numerator') }} as numerator,
        {{ exact_sum('organisation_values.denominator') }} as denominator,
        {{ exact_avg('organisation_values.value') }} as mean_value
    from classified
    inner join window_periods
        on
            classified.collaboration_id = window_periods.collaboration_id
            and classified.wave = window_periods.wave
            and classified.metric_id = window_periods.metric_id
    inner join organisation_values
        on
            classified.org_code = organisation_values.org_code
            and window_periods.metric_id = organisation_values.metric_id
            and window_periods.period_month = organisation_values.period_month
    where classified.is_compared = 1
    group by 1, 2, 3, 4, 5
),

pooled as (
    select
        collaboration_id,
        wave,
        metric_id,
        {{ exact_sum("case when window_name = 'baseline' then numerator end") }} as baseline_numerator,
        {{ exact_sum("case when window_name = 'baseline' then coalesce(denominator, 1) end") }}
            as baseline_denominator,
        {{ exact_avg("case when window_name = 'baseline' then mean_value end") }} as baseline_mean_value,
        {{ exact_sum("case when window_name = 'followup' then numerator end") }} as followup_numerator,
        {{ exact_sum("case when window_name = 'followup' then coalesce(denominator, 1) end") }}
            as followup_denominator,
        {{ exact_avg("case when window_name = 'followup' then mean_value end") }} as followup_mean_value
    from collaboration_periods
    group by 1, 2, 3
),

-- Who was left out, and why, one line each.
left_out as (
    select
        collaboration_id,
        wave,
        metric_id,
        org_code,
        0 as is_coverage,
        org_code || ' ('
        || case
            when left_on is not null and left_on < {{ dbt.dateadd('day', -1, 'span_end') }}
                then 'left on ' || cast(left_on as {{ dbt.type_string() }})
            else 'joined on ' || cast(joined_on as {{ dbt.type_string() }})
        end
        || ', during the span)' as reason
    from (
        select wave_members.*, bounded.span_end
        from wave_members
        inner join bounded
            on
                wave_members.collaboration_id = bounded.collaboration_id
                and wave_members.wave = bounded.wave
                and wave_members.metric_id = bounded.metric_id
        where wave_members.is_steady = 0
    ) as movers
    union all
    select
        classified.collaboration_id,
        classified.wave,
        classified.metric_id,
        classified.org_code,
        1 as is_coverage,
        classified.org_code || ' ('
        || case
            when classified.last_reported is null then 'no data in the windows'
            else
                'reported '
                || cast(classified.baseline_reported + classified.followup_reported as {{ dbt.type_string() }})
                || ' of ' || cast(classified.baseline_periods + classified.followup_periods as {{ dbt.type_string() }})
                || ' published periods in the windows, last '
                || {{ period_label('classified.last_reported', 'bounded.period_grain') }}
        end
        || ')' as reason
    from classified
    inner join bounded
        on
            classified.collaboration_id = bounded.collaboration_id
            and classified.wave = bounded.wave
            and classified.metric_id = bounded.metric_id
    where classified.is_compared = 0
),

membership as (
    select
        wave_members.collaboration_id,
        wave_members.wave,
        wave_members.metric_id,
        count(*) as organisations_declared,
        max(1 - wave_members.is_steady) as membership_changed,
        sum(coalesce(classified.is_compared, 0)) as organisations_compared,
        max(
            case when classified.is_compared = 0 and classified.last_reported is not null then 1 else 0 end
        ) as coverage_changed
    from wave_members
    left join classified
        on
            wave_members.collaboration_id = classified.collaboration_id
            and wave_members.wave = classified.wave
            and wave_members.metric_id = classified.metric_id
            and wave_members.org_code = classified.org_code
    group by 1, 2, 3
),

notes as (
    select
        collaboration_id,
        wave,
        metric_id,
        {{ string_list("case when is_coverage = 1 then org_code end") }} as organisations_not_reporting,
        {{ string_list('reason', '; ') }} as left_out_reasons
    from left_out
    group by 1, 2, 3
),

-- The SPC signals of the collaboration's series in the follow-up periods.
followup_signals as (
    select
        bounded.collaboration_id,
        bounded.wave,
        bounded.metric_id,
        max(case when spc_points.spc_signal = 'improvement' then 1 else 0 end) as any_improvement,
        max(case when spc_points.spc_signal = 'concern' then 1 else 0 end) as any_concern,
        max(case when spc_points.spc_signal = 'special_cause_neutral' then 1 else 0 end) as any_neutral,
        max(case when spc_points.spc_signal = 'common_cause' then 1 else 0 end) as any_common,
        max(spc_points.spc_points) as series_points
    from bounded
    inner join spc_points
        on
            bounded.collaboration_id = spc_points.entity_id
            and bounded.metric_id = spc_points.metric_id
            and spc_points.period_month >= bounded.followup_from
            and spc_points.period_month < bounded.followup_to
    group by 1, 2, 3
),

valued as (
    select
        bounded.*,
        case
            when bounded.is_poolable
                then {{ round_half_up(safe_ratio('pooled.baseline_numerator', 'pooled.baseline_denominator'), 4) }}
            else {{ round_half_up('pooled.baseline_mean_value', 4) }}
        end as baseline_value,
        coalesce(period_counts.baseline_periods, 0) as baseline_months,
        case
            when bounded.is_poolable
                then {{ round_half_up(safe_ratio('pooled.followup_numerator', 'pooled.followup_denominator'), 4) }}
            else {{ round_half_up('pooled.followup_mean_value', 4) }}
        end as followup_value,
        coalesce(period_counts.followup_periods, 0) as followup_months,
        -- The change from the unrounded values, then rounded.
        case
            when bounded.is_poolable
                then
                    {{ safe_ratio('pooled.followup_numerator', 'pooled.followup_denominator') }}
                    - {{ safe_ratio('pooled.baseline_numerator', 'pooled.baseline_denominator') }}
            else pooled.followup_mean_value - pooled.baseline_mean_value
        end as raw_change,
        case
            when followup_signals.any_improvement = 1 and followup_signals.any_concern = 1 then 'mixed'
            when followup_signals.any_improvement = 1 then 'improvement'
            when followup_signals.any_concern = 1 then 'concern'
            when followup_signals.any_neutral = 1 then 'special_cause_neutral'
            when followup_signals.any_common = 1 then 'common_cause'
        end as spc_signal_since_wave,
        followup_signals.series_points,
        coalesce(membership.organisations_declared, 0) as organisations_declared,
        coalesce(membership.organisations_compared, 0) as organisations_compared,
        coalesce(membership.membership_changed, 0) = 1 as membership_changed,
        coalesce(membership.coverage_changed, 0) = 1 as coverage_changed,
        notes.organisations_not_reporting,
        notes.left_out_reasons
    from bounded
    left join period_counts
        on
            bounded.collaboration_id = period_counts.collaboration_id
            and bounded.wave = period_counts.wave
            and bounded.metric_id = period_counts.metric_id
    left join membership
        on
            bounded.collaboration_id = membership.collaboration_id
            and bounded.wave = membership.wave
            and bounded.metric_id = membership.metric_id
    left join notes
        on
            bounded.collaboration_id = notes.collaboration_id
            and bounded.wave = notes.wave
            and bounded.metric_id = notes.metric_id
    left join pooled
        on
            bounded.collaboration_id = pooled.collaboration_id
            and bounded.wave = pooled.wave
            and bounded.metric_id = pooled.metric_id
    left join followup_signals
        on
            bounded.collaboration_id = followup_signals.collaboration_id
            and bounded.wave = followup_signals.wave
            and bounded.metric_id = followup_signals.metric_id
)

select
    collaboration_id,
    wave,
    metric_id,
    period_grain,
    direction,
    target_value,
    target_date,
    fieldwork_start,
    fieldwork_end,
    cast(baseline_from as date) as baseline_start,
    cast(followup_from as date) as followup_start,
    baseline_value,
    cast(baseline_months as integer) as baseline_months,
    followup_value,
    cast(followup_months as integer) as followup_months,
    {{ round_half_up('raw_change', 4) }} as change,
    cast(organisations_declared as integer) as organisations_declared,
    cast(organisations_compared as integer) as organisations_compared,
    membership_changed,
    organisations_not_reporting,
    coverage_changed,
    case
        when organisations_compared < organisations_declared
            then
                'Like for like over ' || cast(organisations_compared as {{ dbt.type_string() }}) || ' of '
                || cast(organisations_declared as {{ dbt.type_string() }})
                || ' members: left out ' || left_out_reasons || '.'
    end as comparison_note,
    baseline_months < min_periods or followup_months < min_periods as is_provisional,
    {{ round_half_up("case when direction = 'decrease' then -1 else 1 end * raw_change", 4) }} as directed_change,
    case
        when followup_value is null or baseline_value is null then null
        when direction = 'increase' then followup_value > baseline_value
        else followup_value < baseline_value
    end as is_improvement,
    case
        when target_value is null or followup_value is null then null
        when direction = 'increase' then followup_value >= target_value
        else followup_value <= target_value
    end as target_met,
    spc_signal_since_wave,
    case
        when spc_signal_since_wave is not null then null
        when followup_months = 0 then 'No SPC verdict yet: the follow-up period is not published.'
        when not is_poolable
            then
                'No SPC verdict: the metric is published without counts, so it has no collaboration series '
                || '(see each member''s own chart).'
        else
            'No SPC verdict: the collaboration''s series has only '
            || cast(coalesce(series_points, 0) as {{ dbt.type_string() }}) || ' '
            || case when period_grain = 'year' then 'yearly' else 'monthly' end
            || ' points, too few for process limits.'
    end as spc_note
from valued
