{#- round_double(x, places): a double rounded to `places` decimals (0 to 8), half away from
    zero on the double's exact binary value, the same on every engine. Use it for every
    round() of a double; a DECIMAL rounds exactly with plain round() on both engines.

    DuckDB's round(double, d) already does exactly this: 3.675 is stored as
    3.67499999999999982..., so it rounds to 3.67 (tests/test_spark_parity.py checks the
    two engines agree on many values). Spark's round(double, d) rounds the shortest decimal
    that prints the double (3.675 -> 3.68) instead, so spark__round_double rounds the scaled
    value p = x·10^d as Spark does (right except at a tie) and settles a tie (p exactly k + ½)
    by the sign of p's rounding error e = x·10^d − p, found exactly by Dekker's product:
    x split into two 26-bit halves (Veltkamp), each times 10^d exact (10^d < 2^27),
    e = (x_hi·10^d − p) + x_lo·10^d. -#}
{% macro round_double(x, places) -%}
    {%- if places | int < 0 or places | int > 8 -%}
        {{ exceptions.raise_compiler_error("round_double: places must be 0 to 8, not " ~ places) }}
    {%- endif -%}
    {{- return(adapter.dispatch('round_double')(x, places | int)) -}}
{%- endmacro %}

{% macro default__round_double(x, places) -%}
    round({{ x }}, {{ places }})
{%- endmacro %}

{% macro spark__round_double(x, places) -%}
    {%- set scale = '1e' ~ places -%}
    {%- set p = '(' ~ x ~ ') * ' ~ scale -%}
    {%- set x_hi = '(134217729.0 * (' ~ x ~ ') - (134217729.0 * (' ~ x ~ ') - (' ~ x ~ ')))' -%}
    {%- set error = '((' ~ x_hi ~ ' * ' ~ scale ~ ' - ' ~ p ~ ') + ((' ~ x ~ ') - ' ~ x_hi ~ ') * ' ~ scale ~ ')' -%}
    (
        case
            when {{ p }} - floor({{ p }}) = 0.5 and {{ p }} > 0 and {{ error }} < 0 then floor({{ p }})
            when {{ p }} - floor({{ p }}) = 0.5 and {{ p }} < 0 and {{ error }} > 0 then ceil({{ p }})
            else round({{ p }}, 0)
        end / {{ scale }}
    )
{%- endmacro %}
