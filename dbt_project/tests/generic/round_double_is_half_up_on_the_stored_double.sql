{#- round_double (macros/rounding.sql) rounds a double half away from zero on its exact binary
    value, the same on every engine: 3.675 is stored as 3.67499999999999982..., so 3.67.
    The expected values are Python's Decimal(x).quantize(..., ROUND_HALF_UP) (checked in
    tests/test_portable_sql.py). Returns the cases that differ. Attached to
    collaboration_health, whose scores are rounded so; it reads no table. -#}
{% test round_double_is_half_up_on_the_stored_double(model) %}
{%- set cases = [
    ['3.675', 2, '3.67'], ['2.925', 2, '2.92'], ['1.005', 2, '1.0'], ['-2.675', 2, '-2.67'],
    ['0.125', 2, '0.13'], ['-0.125', 2, '-0.13'], ['2.5', 0, '3.0'], ['-2.5', 0, '-3.0'],
    ['13955.455', 2, '13955.45'], ['1982.2115', 3, '1982.211'], ['0.9860625', 6, '0.986062'],
    ['0.12345', 4, '0.1235'],
] %}
with rounded as (
    {%- for x, places, expected in cases %}
        select
            {{ x }} as x,
            {{ places }} as places,
            cast({{ expected }} as double) as expected,
            {{ round_double('cast(' ~ x ~ ' as double)', places) }} as rounded
        {% if not loop.last %}union all{% endif %}
    {%- endfor %}
)

select *
from rounded
where rounded is null or rounded <> expected
{% endtest %}
