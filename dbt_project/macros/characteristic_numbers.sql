{#- The characteristics of every instrument (from its items) with their item count and a
    small integer key, deterministic (ordered by instrument and characteristic), so any
    model can map int_respondent_characteristic_totals.characteristic_number back. -#}
{% macro characteristic_numbers() %}
    select
        row_number() over (order by instrument_id, characteristic_id) as characteristic_number,
        instrument_id,
        characteristic_id,
        n_items
    from (
        select instrument_id, characteristic_id, count(*) as n_items
        from {{ ref('stg_diagnostic__items') }}
        group by 1, 2
    ) as items_per_characteristic
{% endmacro %}
