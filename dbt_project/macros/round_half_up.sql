{#- `expression` rounded half-up at `places` decimals, as published figures are: fixed at 12
    decimals first (exact decimal arithmetic), so a mean lying exactly halfway in decimal
    (3.105, stored in binary as 3.10499999...) rounds up, as a reader would expect. -#}
{% macro round_half_up(expression, places) -%}
    cast(round(cast({{ expression }} as decimal(38, 12)), {{ places }}) as double)
{%- endmacro %}
