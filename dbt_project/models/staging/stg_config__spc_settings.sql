select
    cast(minimum_points as integer) as minimum_points,
    cast(shift_points as integer) as shift_points,
    cast(trend_points as integer) as trend_points,
    cast(limit_multiplier as double) as limit_multiplier,
    cast(close_to_limit_fraction as double) as close_to_limit_fraction,
    cast(screen_moving_range_outliers as boolean) as screen_moving_range_outliers,
    cast(moving_range_outlier_multiplier as double) as moving_range_outlier_multiplier,
    cast(moving_range_outlier_inclusive as boolean) as moving_range_outlier_inclusive,
    cast(baseline_points as integer) as baseline_points,
    cast(two_of_three_counts_points_beyond_limits as boolean) as two_of_three_counts_points_beyond_limits,
    cast(conflicting_signals as string) as conflicting_signals,
    cast(rules_cross_recalculation as string) as rules_cross_recalculation,
    cast(show_mean_below_minimum_points as boolean) as show_mean_below_minimum_points
from {{ source('clean', 'spc_settings') }}
