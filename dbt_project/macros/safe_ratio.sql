{#- numerator / denominator as one floating-point division of (exact) totals; null when the
    denominator is zero or null. -#}
{% macro safe_ratio(numerator, denominator) -%}
    (cast({{ numerator }} as double) / nullif(cast({{ denominator }} as double), 0))
{%- endmacro %}
