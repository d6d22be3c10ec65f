-- Statistical process control (XmR charts) for every system metric series: one row per
-- entity × metric × month, as int_system_metrics__series. The fine points of the rules
-- follow the convention configured in config/spc.yaml (stg_config__spc_settings: NHS
-- England's Making Data Count Single Chart Tool by default, its SPC SQL, or NHSRplotthedots).
-- `collab-health spc` runs this same model on an analyst's CSV (orchestration/spc_command.py):
-- it reads only its four refs below.
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
-- Runs and trends are gaps-and-islands over window functions (no recursion), over the whole
-- series whether or not they may cross a recalculation; plain ANSI SQL throughout (the rule
-- list is built by the flag_list macro).
--
-- Materialised as a table, not the folder's view: seven window passes over ~1M rows
-- (about 6-8 s on the 2-core development machine) are worth computing once per build rather
-- than on every read by the marts.
{{ config(materialized='table') }}
{%- set decimals = 6 %}
{%- set segment = 'entity_type, entity_id, metric_id, segment_start' %}
{#- The named window `series_order` spelt out where a frame is added to it: Spark cannot
    extend a named window. #}
{%- set series_order = 'partition by entity_type, entity_id, metric_id order by period_month' %}
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
        cast(null as double),
        cast(null as double),
        cast(null as double),
        0 as is_point,
        baseline_points
    from series_change_points
    where precedence = 1
),

-- Segment start: the latest change point on or before the month, else the series' first
-- point. series_point_number numbers the points of the whole series (the runs number their
-- points with it, whether or not they cross a recalculation).
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
        ) as segment_start,
        cast(sum(is_point) over (
            partition by entity_type, entity_id, metric_id
            order by period_month, is_point
            rows between unbounded preceding and current row
        ) as integer) as series_point_number
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
        sequenced.series_point_number,
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
        settings.moving_range_outlier_multiplier,
        settings.moving_range_outlier_inclusive,
        settings.two_of_three_counts_points_beyond_limits,
        settings.conflicting_signals,
        settings.show_mean_below_minimum_points,
        case when settings.rules_cross_recalculation = 'all' then 1 else 0 end as side_runs_cross,
        case when settings.rules_cross_recalculation in ('all', 'trend_only') then 1 else 0 end as trend_runs_cross
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

-- Optional screening (NHSRplotthedots): moving ranges above (or, inclusive, at or above)
-- moving_range_outlier_multiplier · mR-bar are left out and mR-bar is recomputed once
-- (compared at 6 decimals, like the published moving_range).
{%- set kept_moving_range %}
    case
        when
            in_baseline = 1
            and (
                {{ round_double('raw_moving_range', decimals) }}
                < {{ round_double('moving_range_outlier_multiplier * unscreened_mr_bar', decimals) }}
                or (
                    not moving_range_outlier_inclusive
                    and {{ round_double('raw_moving_range', decimals) }}
                    = {{ round_double('moving_range_outlier_multiplier * unscreened_mr_bar', decimals) }}
                )
            )
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

-- A segment with minimum_points or more gets limits (given a moving range); with fewer, its
-- mean is still shown when show_mean_below_minimum_points.
charted as (
    select
        screened.*,
        case when spc_points >= minimum_points and mr_bar is not null then 1 else 0 end as has_limits,
        case when spc_points >= minimum_points or show_mean_below_minimum_points then 1 else 0 end as has_mean
    from screened
),

lines as (
    select
        charted.*,
        case when has_mean = 1 then {{ round_double('raw_mean', decimals) }} end as spc_mean,
        case
            when has_limits = 1 then {{ round_double('raw_mean - limit_multiplier * mr_bar', decimals) }}
        end as spc_lower,
        case
            when has_limits = 1 then {{ round_double('raw_mean + limit_multiplier * mr_bar', decimals) }}
        end as spc_upper,
        case
            when has_limits = 1
                then {{ round_double('raw_mean - close_to_limit_fraction * limit_multiplier * mr_bar', decimals) }}
        end as spc_lower_close,
        case
            when has_limits = 1
                then {{ round_double('raw_mean + close_to_limit_fraction * limit_multiplier * mr_bar', decimals) }}
        end as spc_upper_close
    from charted
),

-- Every rule looks only at points with limits, each against its own segment's lines: a
-- point without limits breaks every run. side: above (1) or below (-1) the centre line, 0
-- on it (which breaks a run). close_high / close_low: beyond a close-to-limit line, counting
-- for "two of three" (a point beyond the process limit only when
-- two_of_three_counts_points_beyond_limits).
sided as (
    select
        lines.*,
        case
            when has_limits = 0 then 0
            when value > spc_mean then 1
            when value < spc_mean then -1
            else 0
        end as side,
        case
            when
                value > spc_upper_close
                and (two_of_three_counts_points_beyond_limits or value <= spc_upper)
                then 1
            else 0
        end as close_high,
        case
            when
                value < spc_lower_close
                and (two_of_three_counts_points_beyond_limits or value >= spc_lower)
                then 1
            else 0
        end as close_low
    from lines
),

-- The runs are found over the whole series, one window sort: its neighbours (one and two
-- points back, one on) and their segments. side_sum_3 / close_high_3 / close_low_3: over the
-- window of three consecutive points ending at the point (side_sum_3 = 3 or -3: all three on
-- one side of the mean).
neighbours as (
    select
        sided.*,
        lag(segment_start) over series_order as previous_segment,
        lag(segment_start, 2) over series_order as second_previous_segment,
        lead(segment_start) over series_order as next_segment,
        lag(side) over series_order as previous_side_in_series,
        lead(side) over series_order as next_side_in_series,
        lag(value) over series_order as previous_value_in_series,
        lag(value, 2) over series_order as second_previous_value_in_series,
        lead(value) over series_order as next_value_in_series,
        lag(has_limits) over series_order as previous_has_limits,
        lag(has_limits, 2) over series_order as second_previous_has_limits,
        lead(has_limits) over series_order as next_has_limits,
        sum(side) over ({{ series_order }} rows between 2 preceding and current row) as side_sum_3,
        sum(close_high) over ({{ series_order }} rows between 2 preceding and current row) as close_high_3,
        sum(close_low) over ({{ series_order }} rows between 2 preceding and current row) as close_low_3
    from sided
    window series_order as (partition by entity_type, entity_id, metric_id order by period_month)
),

-- Whether each neighbour is in the point's run group: the same segment, or any when the
-- runs cross a recalculation (rules_cross_recalculation: all for shifts and two of three;
-- all or trend_only for trends). previous_side / next_side: the neighbour's side, null when
-- it is not in the group (a run starts or ends there). high_window / low_window: the window
-- of three ending at the point lies in one group, all on one side of the mean, with at least
-- two close_high (close_low) points. direction: up (1) or down (-1) from the previous point
-- in the group; 0 for a tie (which breaks a trend), where either point has no limits and
-- at a group's first point (so a trend never runs from one group into the next).
-- previous_direction / next_direction: the neighbours' direction (null at the series' ends).
linked as (
    select
        neighbours.*,
        case
            when previous_segment = segment_start or side_runs_cross = 1 then previous_side_in_series
        end as previous_side,
        case when next_segment = segment_start or side_runs_cross = 1 then next_side_in_series end as next_side,
        case
            when
                (
                    second_previous_segment = segment_start
                    or (second_previous_segment is not null and side_runs_cross = 1)
                )
                and side_sum_3 = 3 and close_high_3 >= 2
                then 1
            else 0
        end as high_window,
        case
            when
                (
                    second_previous_segment = segment_start
                    or (second_previous_segment is not null and side_runs_cross = 1)
                )
                and side_sum_3 = -3 and close_low_3 >= 2
                then 1
            else 0
        end as low_window,
        case
            when
                has_limits = 0 or coalesce(previous_has_limits, 0) = 0
                or (previous_segment <> segment_start and trend_runs_cross = 0)
                then 0
            when value > previous_value_in_series then 1
            when value < previous_value_in_series then -1
            else 0
        end as direction,
        case
            when previous_segment is null then null
            when
                previous_has_limits = 0 or coalesce(second_previous_has_limits, 0) = 0
                or (second_previous_segment <> previous_segment and trend_runs_cross = 0)
                then 0
            when previous_value_in_series > second_previous_value_in_series then 1
            when previous_value_in_series < second_previous_value_in_series then -1
            else 0
        end as previous_direction,
        case
            when next_segment is null then null
            when
                has_limits = 0 or next_has_limits = 0
                or (next_segment <> segment_start and trend_runs_cross = 0)
                then 0
            when next_value_in_series > value then 1
            when next_value_in_series < value then -1
            else 0
        end as next_direction
    from neighbours
),

-- Gaps and islands: consecutive points with the same side (or the same direction) form a
-- run. A run starts at a point whose side differs from the previous point's and ends at a
-- point whose side differs from the next point's, so a point's run goes from the latest
-- start up to it to the earliest end from it on (running max / min: one sort, no join).
-- up_run_end_after / down_run_end_after: the end of the next run of rises (falls) after the
-- point, for the point just before a run, which is the first point of its trend.
-- high_window_nearby / low_window_nearby: one of the three windows of three points that
-- hold the point (ending at it or at one of the next two) is a high_window (low_window).
runs as (
    select
        linked.*,
        max(case when previous_side is null or previous_side <> side then series_point_number end) over (
            {{ series_order }} rows between unbounded preceding and current row
        ) as side_run_first,
        min(case when next_side is null or next_side <> side then series_point_number end) over (
            {{ series_order }} rows between current row and unbounded following
        ) as side_run_last,
        max(high_window) over ({{ series_order }} rows between current row and 2 following) as high_window_nearby,
        max(low_window) over ({{ series_order }} rows between current row and 2 following) as low_window_nearby,
        max(
            case when previous_direction is null or previous_direction <> direction then series_point_number end
        ) over ({{ series_order }} rows between unbounded preceding and current row) as direction_run_first,
        min(case when next_direction is null or next_direction <> direction then series_point_number end) over (
            {{ series_order }} rows between current row and unbounded following
        ) as direction_run_last,
        min(
            case when direction = 1 and (next_direction is null or next_direction <> 1) then series_point_number end
        ) over ({{ series_order }} rows between 1 following and unbounded following) as up_run_end_after,
        min(
            case when direction = -1 and (next_direction is null or next_direction <> -1) then series_point_number end
        ) over ({{ series_order }} rows between 1 following and unbounded following) as down_run_end_after
    from linked
    window series_order as (partition by entity_type, entity_id, metric_id order by period_month)
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
                and up_run_end_after - series_point_number >= trend_points - 1 then 1
            else 0
        end as trend_up,
        case
            when
                has_limits = 1 and direction = -1
                and direction_run_last - direction_run_first + 1 >= trend_points - 1 then 1
            when
                has_limits = 1 and direction <> -1 and next_direction = -1
                and down_run_end_after - series_point_number >= trend_points - 1 then 1
            else 0
        end as trend_down,
        case when close_high = 1 and high_window_nearby = 1 then 1 else 0 end as two_of_three_high,
        case when close_low = 1 and low_window_nearby = 1 then 1 else 0 end as two_of_three_low
    from runs
),

-- high_side / low_side: any rule above / below. first_rule_side: the side of the first rule
-- that fires in the order beyond a limit, trend, two of three, shift (NHSRplotthedots); a
-- point ending one trend and starting the other takes the later trend's (the next step's)
-- direction. better_side: 1 when higher is better, -1 when lower is better, 0 for a neutral
-- metric or one missing from the metric config.
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
        case
            when rules.above_upper_limit = 1 then 1
            when rules.below_lower_limit = 1 then -1
            when rules.trend_up = 1 and rules.trend_down = 1 then rules.next_direction
            when rules.trend_up = 1 then 1
            when rules.trend_down = 1 then -1
            when rules.two_of_three_high = 1 then 1
            when rules.two_of_three_low = 1 then -1
            when rules.shift_above = 1 then 1
            when rules.shift_below = 1 then -1
            else 0
        end as first_rule_side,
        case
            when metrics.polarity = 'higher_is_better' then 1
            when metrics.polarity = 'lower_is_better' then -1
            else 0
        end as better_side,
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
        {{ round_double('raw_moving_range', decimals) }} as moving_range,
        -- A point with rules on both sides (e.g. the turning point between a trend up and a
        -- trend down) takes conflicting_signals: improvement, concern, or the side of its
        -- first rule.
        case
            when has_limits = 0 then null
            when high_side = 0 and low_side = 0 then 'common_cause'
            when better_side = 0 then 'special_cause_neutral'
            when conflicting_signals = 'first_rule'
                then case when first_rule_side = better_side then 'improvement' else 'concern' end
            when high_side = 1 and low_side = 1
                then case when conflicting_signals = 'improvement' then 'improvement' else 'concern' end
            when (high_side = 1 and better_side = 1) or (low_side = 1 and better_side = -1) then 'improvement'
            else 'concern'
        end as spc_signal,
        case
            when has_limits = 1 then
            {{ flag_list([
                'above_upper_limit', 'below_lower_limit', 'shift_above', 'shift_below',
                'trend_up', 'trend_down', 'two_of_three_high', 'two_of_three_low'
            ]) }}
        end as spc_rules,
        -- Assurance: a target outside the process limits will consistently be passed or
        -- failed (by polarity); a target on or inside the limits is hit and miss. A neutral
        -- metric's target gives no assurance.
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
    cast(entity_type as string) as entity_type,
    cast(entity_id as string) as entity_id,
    cast(metric_id as string) as metric_id,
    cast(period_month as date) as period_month,
    cast(numerator as double) as numerator,
    cast(denominator as double) as denominator,
    cast(value as double) as value,
    cast(segment_start as date) as segment_start,
    cast(spc_points as integer) as spc_points,
    cast(spc_mean as double) as spc_mean,
    cast(spc_lower as double) as spc_lower,
    cast(spc_upper as double) as spc_upper,
    cast(spc_lower_close as double) as spc_lower_close,
    cast(spc_upper_close as double) as spc_upper_close,
    cast(moving_range as double) as moving_range,
    cast(spc_signal as string) as spc_signal,
    cast(spc_rules as string) as spc_rules,
    cast(spc_assurance as string) as spc_assurance
from charted_points
union all
select
    cast(entity_type as string),
    cast(entity_id as string),
    cast(metric_id as string),
    cast(period_month as date),
    cast(numerator as double),
    cast(denominator as double),
    cast(value as double),
    cast(null as date),
    cast(null as integer),
    cast(null as double),
    cast(null as double),
    cast(null as double),
    cast(null as double),
    cast(null as double),
    cast(null as double),
    cast(null as string),
    cast(null as string),
    cast(null as string)
from gaps
