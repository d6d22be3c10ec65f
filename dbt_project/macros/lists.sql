{#- Lists (arrays) of values: DuckDB and Spark both have them, under different names.

    value_list(expression): an aggregate, the group's values as a list (order not defined).
    list_contains_value(list, value): true when the list holds the value. -#}
{% macro value_list(expression) -%}
    {{- return(adapter.dispatch('value_list')(expression)) -}}
{%- endmacro %}

{% macro duckdb__value_list(expression) -%}
    list({{ expression }})
{%- endmacro %}

{% macro spark__value_list(expression) -%}
    collect_list({{ expression }})
{%- endmacro %}

{% macro default__value_list(expression) -%}
    array_agg({{ expression }})
{%- endmacro %}

{% macro list_contains_value(list, value) -%}
    {{- return(adapter.dispatch('list_contains_value')(list, value)) -}}
{%- endmacro %}

{% macro duckdb__list_contains_value(list, value) -%}
    list_contains({{ list }}, {{ value }})
{%- endmacro %}

{% macro spark__list_contains_value(list, value) -%}
    array_contains({{ list }}, {{ value }})
{%- endmacro %}

{% macro default__list_contains_value(list, value) -%}
    {{ value }} = any({{ list }})
{%- endmacro %}
