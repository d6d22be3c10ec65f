{#- The small-group rule: a suppressed row shows no score-like value, and a row with fewer
    than var('min_group_size') respondents is suppressed. Fails for every row that breaks it. -#}
{% test suppression_rule(model, score_columns, count_column='n_respondents') %}
select *
from {{ model }}
where
    ({{ count_column }} < {{ var('min_group_size') }} and not is_suppressed)
    or (is_suppressed and (
        {%- for column in score_columns %}
        {{ column }} is not null{% if not loop.last %} or{% endif %}
        {%- endfor %}
    ))
{% endtest %}
