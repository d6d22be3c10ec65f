{#- Cronbach's alpha of each characteristic's items, per group of respondents.

    alpha = k / (k - 1) * (1 - sum of item variances / variance of respondents' item totals),
    over respondents who answered every item of the characteristic (listwise), using
    sample variances. Null with fewer than two items, fewer than two complete respondents,
    or no variance in the totals. `group_columns` are columns of the respondents model
    (e.g. ['collaboration_id', 'wave'] or with 'organisation_code'). -#}
{% macro cronbach_alpha(group_columns) %}
{%- set groups = group_columns | join(', ') -%}
with answers as (
    select
        {% for column in group_columns %}respondents.{{ column }}, {% endfor %}
        answers.respondent_key,
        answers.instrument_id,
        answers.characteristic_id,
        answers.item_id,
        answers.score_value
    from {{ ref('stg_diagnostic__answers') }} as answers
    inner join {{ ref('stg_diagnostic__respondents') }} as respondents
        on answers.collaboration_id = respondents.collaboration_id
        and answers.wave = respondents.wave
        and answers.respondent_key = respondents.respondent_key
),

items_per_characteristic as (
    select instrument_id, characteristic_id, count(*) as n_items
    from {{ ref('stg_diagnostic__items') }}
    group by 1, 2
),

answered as (
    select {{ groups }}, respondent_key, instrument_id, characteristic_id, count(*) as n_answered
    from answers
    group by {{ groups }}, respondent_key, instrument_id, characteristic_id
),

complete as (
    select answers.*, items_per_characteristic.n_items
    from answers
    inner join answered
        on {% for column in group_columns %}answers.{{ column }} = answered.{{ column }} and {% endfor %}
        answers.respondent_key = answered.respondent_key
        and answers.characteristic_id = answered.characteristic_id
    inner join items_per_characteristic
        on answers.instrument_id = items_per_characteristic.instrument_id
        and answers.characteristic_id = items_per_characteristic.characteristic_id
    where items_per_characteristic.n_items > 1
        and answered.n_answered = items_per_characteristic.n_items
),

item_variances as (
    select {{ groups }}, characteristic_id, item_id, max(n_items) as n_items, var_samp(score_value) as item_variance
    from complete
    group by {{ groups }}, characteristic_id, item_id
),

totals as (
    select {{ groups }}, characteristic_id, respondent_key, sum(score_value) as total
    from complete
    group by {{ groups }}, characteristic_id, respondent_key
),

total_variances as (
    select {{ groups }}, characteristic_id, var_samp(total) as total_variance, count(*) as n_complete
    from totals
    group by {{ groups }}, characteristic_id
),

summed as (
    select {{ groups }}, characteristic_id, max(n_items) as n_items, sum(item_variance) as item_variance_sum
    from item_variances
    group by {{ groups }}, characteristic_id
)

select
    {% for column in group_columns %}summed.{{ column }}, {% endfor %}
    summed.characteristic_id,
    total_variances.n_complete as n_complete_respondents,
    case
        when total_variances.n_complete >= 2 and total_variances.total_variance > 0
            then (1.0 * summed.n_items / (summed.n_items - 1))
                * (1 - summed.item_variance_sum / total_variances.total_variance)
    end as cronbach_alpha
from summed
inner join total_variances
    on {% for column in group_columns %}summed.{{ column }} = total_variances.{{ column }} and {% endfor %}
    summed.characteristic_id = total_variances.characteristic_id
{% endmacro %}
