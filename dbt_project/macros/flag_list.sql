{#- The names of the 0/1 flag columns that are 1 on the row, sorted and comma-separated
    (e.g. 'above_upper_limit,shift_above'); null when none is set. Each column's name is
    the word written out. Plain ANSI SQL (|| and substring ... from), so it runs anywhere. -#}
{% macro flag_list(flag_columns) %}
    {%- set flags = flag_columns | sort -%}
    case when {% for flag in flags %}{{ flag }} = 1{% if not loop.last %} or {% endif %}{% endfor %} then
        substring(
            {%- for flag in flags %}
            case when {{ flag }} = 1 then ',{{ flag }}' else '' end{% if not loop.last %} ||{% endif %}
            {%- endfor %}
            from 2)
    end
{%- endmacro %}
