{#- A period as readers name it: "September 2024" for a month, "2024" for a year (the
    period's first day is `period_month`). DuckDB by default; Spark's own date format. -#}
{% macro period_label(period_month, period_grain) -%}
    {{ return(adapter.dispatch('period_label')(period_month, period_grain)) }}
{%- endmacro %}

{% macro default__period_label(period_month, period_grain) -%}
    case
        when {{ period_grain }} = 'year' then strftime({{ period_month }}, '%Y')
        else strftime({{ period_month }}, '%B %Y')
    end
{%- endmacro %}

{% macro spark__period_label(period_month, period_grain) -%}
    case
        when {{ period_grain }} = 'year' then date_format({{ period_month }}, 'yyyy')
        else date_format({{ period_month }}, 'MMMM yyyy')
    end
{%- endmacro %}
