{#- Fails for every combination of `combination_of_columns` that occurs more than once
    (the grain test; our own, as dbt packages cannot be installed here).

    Grouping millions of rows by several text columns is slow and memory-hungry, so the
    rows are first grouped by one 64-bit hash of the combination; only combinations whose
    hash occurs more than once (true duplicates, or a rare hash collision) are then grouped
    by their values. The failing rows are exactly those of the plain
    `group by ... having count(*) > 1`, on every engine: Spark's hash() is 32-bit, so it
    only lets more combinations through to the second grouping. -#}
{% test unique_combination_of_columns(model, combination_of_columns) %}
{%- set columns = combination_of_columns | join(', ') -%}
with repeated_hashes as (
    select hash({{ columns }}) as combination_hash
    from {{ model }}
    group by 1
    having count(*) > 1
)

select {{ columns }}, count(*) as n_rows
from {{ model }}
where hash({{ columns }}) in (select combination_hash from repeated_hashes)
group by {{ columns }}
having count(*) > 1
{% endtest %}
