{#- The distinct values of a column in a group, sorted and comma-separated (an aggregate). -#}
{% macro string_list(column) -%}
    {{ return(adapter.dispatch('string_list')(column)) }}
{%- endmacro %}

{% macro default__string_list(column) -%}
    {{ dbt.listagg('distinct ' ~ column, "', '", 'order by ' ~ column) }}
{%- endmacro %}

{#- dbt-spark's listagg takes no order: the sorted set of distinct values, joined; null, as
    listagg gives, when every value is null (array_join of an empty set is ''). -#}
{% macro spark__string_list(column) -%}
    nullif(array_join(array_sort(collect_set({{ column }})), ', '), '')
{%- endmacro %}
