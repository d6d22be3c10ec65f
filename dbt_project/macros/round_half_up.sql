{#- The one rounding rule for every published score, interval, gap and change: half-up on
    the decimal value, not on the binary double. The double is first fixed at 12 decimals
    (exact decimal arithmetic, which also removes the floating-point noise of a sum whose
    order varies between builds), then rounded to `decimals` places with halves going away
    from zero: 2.675 -> 2.68 (rounding the double, 2.67499999…, would give 2.67), 0.125 ->
    0.13, -0.125 -> -0.13. Published as a double. A value that is not finite (or beyond
    ±10^25) has no decimal form and becomes null. Portable: ANSI casts and round(). -#}
{% macro round_half_up(expression, decimals) %}
    cast(
        round(
            cast(
                case when ({{ expression }}) between -1e25 and 1e25 then ({{ expression }}) end
                as decimal(38, 12)
            ),
            {{ decimals }}
        ) as double
    )
{%- endmacro %}
