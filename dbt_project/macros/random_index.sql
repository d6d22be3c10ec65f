{#- Deterministic pseudo-random numbers for the bootstrap of health_outcome_association,
    the same on every engine (DuckDB and Spark give identical draws; tests/test_portable_sql.py
    checks both against a Python reference). Engines' own hash functions differ (DuckDB's
    hash() is internal to DuckDB and may change with a release), so the arithmetic is spelt
    out here, in 64-bit integers that never overflow; only the bit operations dispatch
    (bitwise_xor, shift_right, hex_to_integer below).

    stable_hash: a whole number in [0, 2^32) fixed by the values of `key_expressions` (a
    list of SQL expressions, none null): the first 32 bits of the MD5 of the values as text,
    joined by '|'. For a few keys per group (text allowed): MD5 is slowish per row.

    random_index: a whole number from 1 to `n` fixed by integer keys (e.g. a per-group seed
    from stable_hash, a resample number, a draw number), the first in [0, 2^32), the others in
    [0, 2^28): the keys are combined linearly modulo 2^32 (odd multipliers below 2^32, so the
    sum stays below 2^63), then mixed by a 32-bit integer finaliser in the style of MurmurHash3's fmix32
    (xor-shift, multiply, xor-shift, multiply, xor-shift; multipliers 0x21f0aaad and 0x735a2d97,
    below 2^31 so each product fits a signed 64-bit integer), and reduced modulo `n` (bias
    below n / 2^32). -#}
{% macro stable_hash(key_expressions) %}
    {%- set text_keys = [] -%}
    {%- for key in key_expressions -%}
        {%- do text_keys.append('cast(' ~ key ~ ' as ' ~ dbt.type_string() ~ ')') -%}
    {%- endfor -%}
    {{- hex_to_integer('substring(md5(' ~ text_keys | join(" || '|' || ") ~ ') from 1 for 8)') -}}
{% endmacro %}

{% macro random_index(key_expressions, n) %}
    {#- The multipliers of the keys after the first: odd, below 2^32, far apart. -#}
    {%- set multipliers = [2654435761, 2246822519, 3266489917, 668265263] -%}
    {%- if key_expressions | length > multipliers | length + 1 -%}
        {{ exceptions.raise_compiler_error("random_index takes at most " ~ (multipliers | length + 1) ~ " keys") }}
    {%- endif -%}
    {%- set terms = [key_expressions[0]] -%}
    {%- for key in key_expressions[1:] -%}
        {%- do terms.append(key ~ ' * ' ~ multipliers[loop.index0]) -%}
    {%- endfor -%}
    {%- set h = '((' ~ terms | join(' + ') ~ ') % 4294967296)' -%}
    {%- set h = xor_shift(h, 16) -%}
    {%- set h = '((' ~ h ~ ' * 569420461) % 4294967296)' -%}
    {%- set h = xor_shift(h, 15) -%}
    {%- set h = '((' ~ h ~ ' * 1935289751) % 4294967296)' -%}
    {%- set h = xor_shift(h, 15) -%}
    ({{ h }} % ({{ n }}) + 1)
{%- endmacro %}

{#- x xor (x >> bits), for x in [0, 2^32). -#}
{% macro xor_shift(x, bits) -%}
    {{- return(bitwise_xor(x, shift_right(x, bits))) -}}
{%- endmacro %}

{#- Bitwise exclusive or of two non-negative integers. -#}
{% macro bitwise_xor(a, b) -%}
    {{- return(adapter.dispatch('bitwise_xor')(a, b)) -}}
{%- endmacro %}

{% macro duckdb__bitwise_xor(a, b) -%}
    xor({{ a }}, {{ b }})
{%- endmacro %}

{% macro spark__bitwise_xor(a, b) -%}
    ({{ a }} ^ {{ b }})
{%- endmacro %}

{% macro default__bitwise_xor(a, b) -%}
    {{ exceptions.raise_compiler_error("bitwise_xor has no implementation for adapter '" ~ adapter.type() ~ "'; add one in macros/random_index.sql") }}
{%- endmacro %}

{#- A non-negative integer shifted right by `bits` (whole division by 2^bits). -#}
{% macro shift_right(x, bits) -%}
    {{- return(adapter.dispatch('shift_right')(x, bits)) -}}
{%- endmacro %}

{% macro duckdb__shift_right(x, bits) -%}
    ({{ x }} >> {{ bits }})
{%- endmacro %}

{% macro spark__shift_right(x, bits) -%}
    shiftright({{ x }}, {{ bits }})
{%- endmacro %}

{% macro default__shift_right(x, bits) -%}
    {{ exceptions.raise_compiler_error("shift_right has no implementation for adapter '" ~ adapter.type() ~ "'; add one in macros/random_index.sql") }}
{%- endmacro %}

{#- A string of hexadecimal digits (at most 15) as a bigint. -#}
{% macro hex_to_integer(hex_digits) -%}
    {{- return(adapter.dispatch('hex_to_integer')(hex_digits)) -}}
{%- endmacro %}

{% macro duckdb__hex_to_integer(hex_digits) -%}
    cast('0x' || {{ hex_digits }} as bigint)
{%- endmacro %}

{% macro spark__hex_to_integer(hex_digits) -%}
    cast(conv({{ hex_digits }}, 16, 10) as bigint)
{%- endmacro %}

{% macro default__hex_to_integer(hex_digits) -%}
    {{ exceptions.raise_compiler_error("hex_to_integer has no implementation for adapter '" ~ adapter.type() ~ "'; add one in macros/random_index.sql") }}
{%- endmacro %}
