{#- Wilder Collaboration Factors Inventory bands on a 1–5 scale: strength (4.0 and above),
    borderline (3.0 to 3.99), concern (below 3.0). Scores on another scale are first
    rescaled linearly to 1–5. The score is rounded half-up to 2 decimals (round_half_up) before banding, as shown. -#}
{% macro wilder_band(score, scale_min, scale_max) %}
    case
        when {{ score }} is null then null
        when {{ round_half_up('1 + 4.0 * (' ~ score ~ ' - ' ~ scale_min ~ ') / (' ~ scale_max ~ ' - ' ~ scale_min ~ ')', 2) }} >= 4.0 then 'strength'
        when {{ round_half_up('1 + 4.0 * (' ~ score ~ ' - ' ~ scale_min ~ ') / (' ~ scale_max ~ ' - ' ~ scale_min ~ ')', 2) }} >= 3.0 then 'borderline'
        else 'concern'
    end
{% endmacro %}
