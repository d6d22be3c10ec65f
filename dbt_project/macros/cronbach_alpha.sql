{#- Cronbach's alpha of each characteristic's items, per group of respondents.

    alpha = k / (k - 1) * (1 - sum of item variances / variance of respondents' item totals),
    over respondents who answered every item of the characteristic (listwise), using
    sample variances, summed exactly (macros/exact_arithmetic.sql). Null with fewer than
    two items, fewer than two complete respondents, or no variance in the totals.
    `group_columns`: ['collaboration_id', 'wave'], or with 'organisation_code' — the two
    grains int_characteristic_variances computes (in one pass over the answers) the
    variances for. -#}
{% macro cronbach_alpha(group_columns) %}
{%- set groups = group_columns | join(', ') -%}
{%- set by_organisation = 'organisation_code' in group_columns -%}
{%- if group_columns | reject('in', ['collaboration_id', 'wave', 'organisation_code']) | list
    or 'collaboration_id' not in group_columns or 'wave' not in group_columns -%}
    {{ exceptions.raise_compiler_error("cronbach_alpha: group_columns must be [collaboration_id, wave] with or without organisation_code, not " ~ group_columns) }}
{%- endif -%}
with variances as (
    select *
    from {{ ref('int_characteristic_variances') }}
    where is_by_organisation = {{ 'true' if by_organisation else 'false' }}
),

summed as (
    select {{ groups }}, characteristic_id, {{ exact_sum('variance') }} as item_variance_sum
    from variances
    where item_id is not null
    group by {{ groups }}, characteristic_id
),

total_variances as (
    select {{ groups }}, characteristic_id, n_items, variance as total_variance, n_respondents as n_complete
    from variances
    where item_id is null
)

select
    {% for column in group_columns %}summed.{{ column }}, {% endfor %}
    summed.characteristic_id,
    total_variances.n_complete as n_complete_respondents,
    case
        when total_variances.n_complete >= 2 and total_variances.total_variance > 0
            then (1.0 * total_variances.n_items / (total_variances.n_items - 1))
                * (1 - cast(summed.item_variance_sum as double) / total_variances.total_variance)
    end as cronbach_alpha
from summed
inner join total_variances
    on {% for column in group_columns %}summed.{{ column }} is not distinct from total_variances.{{ column }} and {% endfor %}
    summed.characteristic_id = total_variances.characteristic_id
{% endmacro %}
