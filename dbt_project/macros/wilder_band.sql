{#- Wilder Collaboration Factors Inventory bands on a 1–5 scale: strength (4.0 and above),
    borderline (3.0 to 3.99), concern (below 3.0). Scores on another scale are first
    rescaled linearly to 1–5. The score is rounded to 2 decimals before banding, as shown. -#}
{% macro wilder_band(score, scale_min, scale_max) %}
    {%- set banded = round_double(
        '1 + 4.0 * (' ~ score ~ ' - ' ~ scale_min ~ ') / (' ~ scale_max ~ ' - ' ~ scale_min ~ ')', 2) %}
    case
        when {{ score }} is null then null
        when {{ banded }} >= 4.0 then 'strength'
        when {{ banded }} >= 3.0 then 'borderline'
        else 'concern'
    end
{% endmacro %}
