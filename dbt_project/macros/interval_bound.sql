{#- One end of a 95% interval, score ± 1.96 × standard error, clipped to the instrument's
    scale and rounded half-up to 2 decimals (round_half_up); null when the row is suppressed or the error unknown. -#}
{% macro interval_bound(score, standard_error, side) %}
    case when not is_suppressed and {{ standard_error }} is not null then
        {% if side == 'low' -%}
        {{ round_half_up('greatest(scale_min, ' ~ score ~ ' - 1.96 * ' ~ standard_error ~ ')', 2) }}
        {%- else -%}
        {{ round_half_up('least(scale_max, ' ~ score ~ ' + 1.96 * ' ~ standard_error ~ ')', 2) }}
        {%- endif %}
    end
{% endmacro %}
