{#- Fails for every non-null value outside the row's own instrument scale, so an instrument
    on any scale (1-5, 1-7, 0-10) passes without editing tests. `lower`/`upper` are SQL
    expressions over the row (default: the scale_min and scale_max columns). -#}
{% test within_scale(model, column_name, lower='scale_min', upper='scale_max') %}
select {{ column_name }}, {{ lower }} as lower_bound, {{ upper }} as upper_bound
from {{ model }}
where {{ column_name }} < {{ lower }} or {{ column_name }} > {{ upper }}
{% endtest %}
