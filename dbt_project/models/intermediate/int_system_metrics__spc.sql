-- Statistical process control (XmR charts, NHS England "Making Data Count") for every system
-- metric series: one row per entity × metric × month, as int_system_metrics__series.
--
-- Points are the months with a value, in month order (months without a value are carried
-- through with null SPC columns and are skipped over: the moving range, runs and trends
-- join the points either side of them). A change point starts a new segment; within a
-- segment the centre line is the mean of the (baseline) points, the moving range is
-- |x_t − x_{t−1}| (none for the segment's first point), mR-bar is the mean of the (baseline)
-- moving ranges, process limits are mean ± limit_multiplier · mR-bar and the close-to-limit
-- lines mean ± close_to_limit_fraction · limit_multiplier · mR-bar. The means are exact
-- (macros/exact_arithmetic.sql: the same whatever order the points are added in), the lines
-- are rounded to 6 decimals, and every rule compares the point with the lines as published,
-- so each flag can be re-checked from its row.
-- Runs and trends are gaps-and-islands over window functions (no recursion); plain ANSI
-- SQL throughout (the rule list is built by the flag_list macro).
--
-- Materialised as a table, not the folder's view: seven window passes over ~1M rows
-- (about 6 s on the 2-core development machine) are worth computing once per build rather
-- than on every read by the marts.
{{ config(materialized='table') }}
{%- set decimals = 6 %}
{%- set segment = 'entity_type, entity_id, metric_id, segment_start' %}
with series as (
    select * from {{ ref('int_system_metrics__series') }}
),

metrics as (
    select * from {{ ref('stg_config__metrics') }}
),

settings as (
    select * from {{ ref('stg_config__spc_settings') }}
),

change_points as (
    select * from {{ ref('stg_config__spc_change_points') }}
),

series_keys as (
    select distinct entity_type, entity_id, metric_id
    from series
),

-- The change points that apply to each series (null entity_type / entity_id = all). Where
-- several fall on one month, the most specific (entity, then entity type, then the whole
-- metric) gives the segment's baseline_points.
series_change_points as (
    select
        series_keys.entity_type,
        series_keys.entity_id,
        series_keys.metric_id,
        change_points.change_month,
        change_points.baseline_points,
        row_number() over (
            partition by
                series_keys.entity_type, series_keys.entity_id, series_keys.metric_id, change_points.change_month
            order by
                case
                    when change_points.entity_id is not null then 0
                    when change_points.entity_type is not null then 1
                    else 2
                end,
                case when change_points.baseline_points is null then 1 else 0 end,
                change_points.baseline_points
        ) as precedence
    from series_keys
    inner join change_points
        on
            change_points.metric_id = series_keys.metric_id
            and (change_points.entity_type is null or change_points.entity_type = series_keys.entity_type)
            and (change_points.entity_id is null or change_points.entity_id = series_keys.entity_id)
),

-- The points (rows with a value) and the change points on one timeline; a change point
-- sorts before the point of its own month, so that month opens the new segment.
timeline as (
    select
        entity_type, entity_id, metric_id, period_month, numerator, denominator, value,
        1 as is_point,
        cast(null as integer) as change_baseline_points
    from series
    where value is not null
    union all
    select
        entity_type,
        entity_id,
        metric_id,
        change_month,
        cast(null as double precision),
        cast(null as double precision),
        cast(null as double precision),
        0 as is_point,
        baseline_points
    from series_change_points
    where precedence = 1
),

-- Segment start: the latest change point on or before the month, else the series' first
-- point.
segmented as (
    select
        timeline.*,
        coalesce(
            max(case when is_point = 0 then period_month end) over (
                partition by entity_type, entity_id, metric_id
                order by period_month, is_point
                rows between unbounded preceding and current row
            ),
            min(case when is_point = 1 then period_month end) over (
                partition by entity_type, entity_id, metric_id
            )
        ) as segment_start
    from timeline
),

-- Within each segment (whose change point, if any, is its first row): the points, each
-- point's number, the previous point, and the change point's baseline_points.
sequenced as (
    select
        segmented.*,
        cast(sum(is_point) over (partition by {{ segment }}) as integer) as spc_points,
        cast(sum(is_point) over (
            partition by {{ segment }} order by period_month, is_point rows between unbounded preceding and current row
        ) as integer) as point_number,
        lag(value) over (partition by {{ segment }} order by period_month, is_point) as previous_value,
        max(change_baseline_points) over (partition by {{ segment }}) as segment_baseline_points
    from segmented
),

with_settings as (
    select
        sequenced.entity_type,
        sequenced.entity_id,
        sequenced.metric_id,
        sequenced.period_month,
        sequenced.numerator,
        sequenced.denominator,
        sequenced.value,
        sequenced.segment_start,
        sequenced.spc_points,
        sequenced.point_number,
        sequenced.previous_value,
        abs(sequenced.value - sequenced.previous_value) as raw_moving_range,
        case
            when coalesce(sequenced.segment_baseline_points, settings.baseline_points) is null then 1
            when sequenced.point_number <= coalesce(sequenced.segment_baseline_points, settings.baseline_points) then 1
            else 0
        end as in_baseline,
        settings.minimum_points,
        settings.shift_points,
        settings.trend_points,
        settings.limit_multiplier,
        settings.close_to_limit_fraction,
        settings.screen_moving_range_outliers,
        settings.moving_range_outlier_multiplier
    from sequenced
    cross join settings
    where sequenced.is_point = 1
),

centred as (
    select
        with_settings.*,
        {{ exact_avg('case when in_baseline = 1 then value end', over='partition by ' ~ segment) }} as raw_mean,
        {{ exact_avg('case when in_baseline = 1 then raw_moving_range end', over='partition by ' ~ segment) }}
            as unscreened_mr_bar
    from with_settings
),

-- Optional screening (NHSRplotthedots): moving ranges above
-- moving_range_outlier_multiplier · mR-bar are left out and mR-bar is recomputed once
-- (compared at 6 decimals, like the published moving_range, so an exact tie stays in).
{%- set kept_moving_range %}
    case
        when
            in_baseline = 1
            and round(raw_moving_range, {{ decimals }})
            <= round(moving_range_outlier_multiplier * unscreened_mr_bar, {{ decimals }})
            then raw_moving_range
    end
{%- endset %}
screened as (
    select
        centred.*,
        case
            when screen_moving_range_outliers
                then {{ exact_avg(kept_moving_range, over='partition by ' ~ segment) }}
            else unscreened_mr_bar
        end as mr_bar
    from centred
),

charted as (
    select
        screened.*,
        case when spc_points >= minimum_points and mr_bar is not null then 1 else 0 end as has_limits
    from screened
),

lines as (
    select
        charted.*,
        case when has_limits = 1 then round(raw_mean, {{ decimals }}) end as spc_mean,
        case when has_limits = 1 then round(raw_mean - limit_multiplier * mr_bar, {{ decimals }}) end as spc_lower,
        case when has_limits = 1 then round(raw_mean + limit_multiplier * mr_bar, {{ decimals }}) end as spc_upper,
        case
            when has_limits = 1
                then round(raw_mean - close_to_limit_fraction * limit_multiplier * mr_bar, {{ decimals }})
        end as spc_lower_close,
        case
            when has_limits = 1
                then round(raw_mean + close_to_limit_fraction * limit_multiplier * mr_bar, {{ decimals }})
        end as spc_upper_close
    from charted
),

-- side: above (1) or below (-1) the centre line, 0 on it (which breaks a run). direction:
-- up (1) or down (-1) from the previous point; 0 for a tie (which breaks a trend) and for
-- the segment's first point.
sided as (
    select
        lines.*,
        case when value > spc_mean then 1 when value < spc_mean then -1 else 0 end as side,
        case
            when previous_value is null then 0
            when value > previous_value then 1
            when value < previous_value then -1
            else 0
        end as direction,
        case when value > spc_upper_close then 1 else 0 end as beyond_upper_close,
        case when value < spc_lower_close then 1 else 0 end as beyond_lower_close
    from lines
),

-- Two points beyond the same close-to-limit line at most two points apart lie in one
-- window of three consecutive points.
neighbours as (
    select
        sided.*,
        lag(side) over (partition by {{ segment }} order by period_month) as previous_side,
        lead(side) over (partition by {{ segment }} order by period_month) as next_side,
        lag(direction) over (partition by {{ segment }} order by period_month) as previous_direction,
        lead(direction) over (partition by {{ segment }} order by period_month) as next_direction,
        sum(beyond_upper_close) over (
            partition by {{ segment }} order by period_month rows between 2 preceding and 2 following
        ) as upper_close_nearby,
        sum(beyond_lower_close) over (
            partition by {{ segment }} order by period_month rows between 2 preceding and 2 following
        ) as lower_close_nearby
    from sided
),

-- Gaps and islands: consecutive points with the same side (or the same direction) form a
-- run. A run starts at a point whose side differs from the previous point's and ends at a
-- point whose side differs from the next point's, so a point's run goes from the latest
-- start up to it to the earliest end from it on (running max / min: one sort, no join).
-- up_run_end_after / down_run_end_after: the end of the next run of rises (falls) after the
-- point, for the point just before a run, which is the first point of its trend.
runs as (
    select
        neighbours.*,
        max(case when previous_side is null or previous_side <> side then point_number end) over (
            partition by {{ segment }} order by period_month rows between unbounded preceding and current row
        ) as side_run_first,
        min(case when next_side is null or next_side <> side then point_number end) over (
            partition by {{ segment }} order by period_month rows between current row and unbounded following
        ) as side_run_last,
        max(case when previous_direction is null or previous_direction <> direction then point_number end) over (
            partition by {{ segment }} order by period_month rows between unbounded preceding and current row
        ) as direction_run_first,
        min(case when next_direction is null or next_direction <> direction then point_number end) over (
            partition by {{ segment }} order by period_month rows between current row and unbounded following
        ) as direction_run_last,
        min(case when direction = 1 and (next_direction is null or next_direction <> 1) then point_number end) over (
            partition by {{ segment }} order by period_month rows between 1 following and unbounded following
        ) as up_run_end_after,
        min(case when direction = -1 and (next_direction is null or next_direction <> -1) then point_number end) over (
            partition by {{ segment }} order by period_month rows between 1 following and unbounded following
        ) as down_run_end_after
    from neighbours
),

-- A trend of n points is a run of n − 1 rises (falls): the points of those steps and the
-- point before the first step.
rules as (
    select
        runs.*,
        case when has_limits = 1 and value > spc_upper then 1 else 0 end as above_upper_limit,
        case when has_limits = 1 and value < spc_lower then 1 else 0 end as below_lower_limit,
        case
            when has_limits = 1 and side = 1 and side_run_last - side_run_first + 1 >= shift_points then 1 else 0
        end as shift_above,
        case
            when has_limits = 1 and side = -1 and side_run_last - side_run_first + 1 >= shift_points then 1 else 0
        end as shift_below,
        case
            when
                has_limits = 1 and direction = 1
                and direction_run_last - direction_run_first + 1 >= trend_points - 1 then 1
            when
                has_limits = 1 and direction <> 1 and next_direction = 1
                and up_run_end_after - point_number >= trend_points - 1 then 1
            else 0
        end as trend_up,
        case
            when
                has_limits = 1 and direction = -1
                and direction_run_last - direction_run_first + 1 >= trend_points - 1 then 1
            when
                has_limits = 1 and direction <> -1 and next_direction = -1
                and down_run_end_after - point_number >= trend_points - 1 then 1
            else 0
        end as trend_down,
        case when has_limits = 1 and beyond_upper_close = 1 and upper_close_nearby >= 2 then 1 else 0 end
            as two_of_three_high,
        case when has_limits = 1 and beyond_lower_close = 1 and lower_close_nearby >= 2 then 1 else 0 end
            as two_of_three_low
    from runs
),

classified as (
    select
        rules.*,
        case
            when
                rules.above_upper_limit + rules.shift_above + rules.trend_up + rules.two_of_three_high > 0
                then 1
            else 0
        end as high_side,
        case
            when
                rules.below_lower_limit + rules.shift_below + rules.trend_down + rules.two_of_three_low > 0
                then 1
            else 0
        end as low_side,
        metrics.polarity,
        metrics.target_value
    from rules
    left join metrics
        on rules.metric_id = metrics.metric_id
),

charted_points as (
    select
        entity_type,
        entity_id,
        metric_id,
        period_month,
        numerator,
        denominator,
        value,
        segment_start,
        spc_points,
        spc_mean,
        spc_lower,
        spc_upper,
        spc_lower_close,
        spc_upper_close,
        round(raw_moving_range, {{ decimals }}) as moving_range,
        -- A point with both high- and low-side rules (e.g. the turning point between a trend
        -- up and a trend down) is a concern whatever the polarity: a possible deterioration
        -- is never shown as an improvement. A metric missing from the metric config counts
        -- as neutral.
        case
            when has_limits = 0 then null
            when high_side = 0 and low_side = 0 then 'common_cause'
            when polarity = 'higher_is_better' and low_side = 0 then 'improvement'
            when polarity = 'lower_is_better' and high_side = 0 then 'improvement'
            when polarity in ('higher_is_better', 'lower_is_better') then 'concern'
            else 'special_cause_neutral'
        end as spc_signal,
        case
            when has_limits = 1 then
            {{ flag_list([
                'above_upper_limit', 'below_lower_limit', 'shift_above', 'shift_below',
                'trend_up', 'trend_down', 'two_of_three_high', 'two_of_three_low'
            ]) }}
        end as spc_rules,
        -- Assurance: a target outside the process limits will consistently be passed or
        -- failed (by polarity); a target on or inside the limits is hit and miss.
        case
            when has_limits = 0 or target_value is null then null
            when polarity = 'higher_is_better'
                then
                    case
                        when spc_lower > target_value then 'consistently_pass'
                        when spc_upper < target_value then 'consistently_fail'
                        else 'hit_and_miss'
                    end
            when polarity = 'lower_is_better' then
                case
                    when spc_upper < target_value then 'consistently_pass'
                    when spc_lower > target_value then 'consistently_fail'
                    else 'hit_and_miss'
                end
        end as spc_assurance
    from classified
),

-- Months without a value are not points: they keep their row with null SPC columns.
gaps as (
    select entity_type, entity_id, metric_id, period_month, numerator, denominator, value
    from series
    where value is null
)

select
    cast(entity_type as varchar) as entity_type,
    cast(entity_id as varchar) as entity_id,
    cast(metric_id as varchar) as metric_id,
    cast(period_month as date) as period_month,
    cast(numerator as double precision) as numerator,
    cast(denominator as double precision) as denominator,
    cast(value as double precision) as value,
    cast(segment_start as date) as segment_start,
    cast(spc_points as integer) as spc_points,
    cast(spc_mean as double precision) as spc_mean,
    cast(spc_lower as double precision) as spc_lower,
    cast(spc_upper as double precision) as spc_upper,
    cast(spc_lower_close as double precision) as spc_lower_close,
    cast(spc_upper_close as double precision) as spc_upper_close,
    cast(moving_range as double precision) as moving_range,
    cast(spc_signal as varchar) as spc_signal,
    cast(spc_rules as varchar) as spc_rules,
    cast(spc_assurance as varchar) as spc_assurance
from charted_points
union all
select
    cast(entity_type as varchar),
    cast(entity_id as varchar),
    cast(metric_id as varchar),
    cast(period_month as date),
    cast(numerator as double precision),
    cast(denominator as double precision),
    cast(value as double precision),
    cast(null as date),
    cast(null as integer),
    cast(null as double precision),
    cast(null as double precision),
    cast(null as double precision),
    cast(null as double precision),
    cast(null as double precision),
    cast(null as double precision),
    cast(null as varchar),
    cast(null as varchar),
    cast(null as varchar)
from gaps
