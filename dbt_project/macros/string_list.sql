{#- The distinct values of a column in a group, sorted and joined by `separator` (an
    aggregate); null when the group has no value, on both engines. -#}
{% macro string_list(column, separator=', ') -%}
    {{ return(adapter.dispatch('string_list')(column, separator)) }}
{%- endmacro %}

{% macro default__string_list(column, separator) -%}
    {{ dbt.listagg('distinct ' ~ column, "'" ~ separator ~ "'", 'order by ' ~ column) }}
{%- endmacro %}

{#- dbt-spark's listagg takes no order: the sorted set of distinct values, joined (an empty
    set gives '', made null as DuckDB's listagg gives). -#}
{% macro spark__string_list(column, separator) -%}
    nullif(array_join(array_sort(collect_set({{ column }})), '{{ separator }}'), '')
{%- endmacro %}
