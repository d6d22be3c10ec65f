{#- Deterministic pseudo-random numbers for the bootstrap of health_outcome_association.
    Hashing is not ANSI SQL, so both macros dispatch per adapter; only DuckDB is
    implemented (add e.g. a postgres__ version here to run elsewhere).

    stable_hash: an unsigned 64-bit number fixed by the values of `key_expressions` (a
    list of SQL expressions). DuckDB's hash() is the same on every build with a given
    DuckDB version; an upgrade that changed it would change the draws, not their
    distribution.

    random_index: a whole number from 1 to `n` fixed by the keys (e.g. a per-group seed,
    resample number and draw number). The modulo bias is below n / 2^64. -#}
{% macro stable_hash(key_expressions) %}
    {{- return(adapter.dispatch('stable_hash')(key_expressions)) -}}
{% endmacro %}

{% macro duckdb__stable_hash(key_expressions) -%}
    hash({{ key_expressions | join(', ') }})
{%- endmacro %}

{% macro default__stable_hash(key_expressions) -%}
    {{ exceptions.raise_compiler_error("stable_hash has no implementation for adapter '" ~ adapter.type() ~ "'; add one in macros/random_index.sql") }}
{%- endmacro %}

{% macro random_index(key_expressions, n) %}
    {{- return(adapter.dispatch('random_index')(key_expressions, n)) -}}
{% endmacro %}

{#- Both operands unsigned 64-bit: a mixed modulo would widen to 128 bits, many times slower. -#}
{% macro duckdb__random_index(key_expressions, n) -%}
    cast(hash({{ key_expressions | join(', ') }}) % cast({{ n }} as ubigint) as integer) + 1
{%- endmacro %}

{% macro default__random_index(key_expressions, n) -%}
    {{ exceptions.raise_compiler_error("random_index has no implementation for adapter '" ~ adapter.type() ~ "'; add one in macros/random_index.sql") }}
{%- endmacro %}
