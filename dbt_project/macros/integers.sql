{#- A subquery of the whole numbers 1 to `n` (a compile-time number) in one column
    `column_name`: cross joins of the ten digits, as many as `n` has digits, so no
    recursion and nothing adapter-specific. Use as `from {{ integers(1000, 'i') }} as t`. -#}
{% macro integers(n, column_name='n') %}
    {%- set n = n | int -%}
    {%- set places = (n | string) | length -%}
    (
        select {% for place in range(places) %}{% if not loop.first %} + {% endif %}{{ 10 ** place }} * d{{ place }}.digit{% endfor %} + 1 as {{ column_name }}
        from {% for place in range(places) %}{% if not loop.first %}
            cross join {% endif %}(values (0), (1), (2), (3), (4), (5), (6), (7), (8), (9)) as d{{ place }} (digit){% endfor %}
        where {% for place in range(places) %}{% if not loop.first %} + {% endif %}{{ 10 ** place }} * d{{ place }}.digit{% endfor %} < {{ n }}
    )
{%- endmacro %}
