{#- The distinct values of a column in a group, sorted and comma-separated (an aggregate). -#}
{% macro string_list(column) -%}
    {{ return(adapter.dispatch('string_list')(column)) }}
{%- endmacro %}

{% macro default__string_list(column) -%}
    {{ dbt.listagg('distinct ' ~ column, "', '", 'order by ' ~ column) }}
{%- endmacro %}
