"""The Wilder bands on an instrument's own scale, for the reports' legend and overall score.

The warehouse bands each characteristic (dbt macro `wilder_band`): strength 4.0 and above,
borderline 3.0 to 3.99, concern below 3.0 on a 1-5 scale, an instrument on another scale
rescaled linearly to 1-5 first, judged on the score rounded to 2 decimals. The reports need
the same rule twice more: to print the thresholds on the instrument's own scale, and to
band the overall score (the mean of the characteristics). `band_of` mirrors the macro;
tests check it against every band the warehouse published.
"""

from __future__ import annotations

#: Lower bounds on the 1-5 scale.
BORDERLINE_FROM, STRENGTH_FROM = 3.0, 4.0
ORDER = {"concern": 0, "borderline": 1, "strength": 2}


def _to_own_scale(value: float, scale_min: float, scale_max: float) -> float:
    return scale_min + (value - 1) * (scale_max - scale_min) / 4


def thresholds(scale_min: float, scale_max: float) -> tuple[float, float]:
    """(borderline from, strength from) on the instrument's own scale."""
    return _to_own_scale(BORDERLINE_FROM, scale_min, scale_max), _to_own_scale(STRENGTH_FROM, scale_min, scale_max)


def band_of(score: float | None, scale_min: float, scale_max: float) -> str | None:
    """The band of `score` on the instrument's scale, as the warehouse's macro gives it."""
    if score is None:
        return None
    rescaled = round(1 + 4.0 * (score - scale_min) / (scale_max - scale_min), 2)
    if rescaled >= STRENGTH_FROM:
        return "strength"
    if rescaled >= BORDERLINE_FROM:
        return "borderline"
    return "concern"


def _number(value: float) -> str:
    return f"{value:.1f}" if round(value, 1) == value else f"{value:.2f}"


def legend(scale_min: float, scale_max: float) -> str:
    """The band legend in words, on the instrument's scale."""
    borderline, strength = thresholds(scale_min, scale_max)
    return (
        f"strength {_number(strength)} and above, borderline {_number(borderline)} to under {_number(strength)}, "
        f"concern below {_number(borderline)}, on the instrument's {scale_min:g} to {scale_max:g} scale"
    )
