{#- round_half_up (macros/round_half_up.sql) rounds half away from zero on the decimal value,
    the same on every engine: the double 3.675 (stored as 3.67499999999999982...) is fixed
    at 12 decimals first, 3.675000000000, so it rounds to 3.68. The expected values are
    Python's Decimal(x) fixed at 12 decimals, then quantize(..., ROUND_HALF_UP) (checked in
    tests/test_portable_sql.py). Returns the cases that differ. Attached to
    collaboration_health, whose scores are rounded so; it reads no table. -#}
{% test round_half_up_is_half_up_on_the_decimal(model) %}
{%- set cases = [
    ['3.675', 2, '3.68'], ['2.925', 2, '2.93'], ['1.005', 2, '1.01'], ['-2.675', 2, '-2.68'],
    ['0.125', 2, '0.13'], ['-0.125', 2, '-0.13'], ['2.5', 0, '3.0'], ['-2.5', 0, '-3.0'],
    ['13955.455', 2, '13955.46'], ['1982.2115', 3, '1982.212'], ['0.9860625', 6, '0.986063'], ['0.12345', 4, '0.1235'],
] %}
with rounded as (
    {%- for x, places, expected in cases %}
        select
            {{ x }} as x,
            {{ places }} as places,
            cast({{ expected }} as double) as expected,
            {{ round_half_up('cast(' ~ x ~ ' as double)', places) }} as rounded
        {% if not loop.last %}union all{% endif %}
    {%- endfor %}
)

select *
from rounded
where rounded is null or rounded <> expected
{% endtest %}
