{#- Order-independent aggregates (README, "Same inputs, same marts").

    A sum of double-precision numbers depends on the order it adds them in, and DuckDB adds
    in whatever order its threads finish: the last bits of a total then change from build to
    build (13702.17 one night, 13702.169999999998 the next). So every aggregate over
    non-integer values that feeds a published column goes through these macros. Each value is
    first fixed at var('exact_decimal_places') decimal places (12) as a DECIMAL(38, p): one
    rounding per row, of a number computed from that row alone, so the same on every build.
    DECIMAL sums are exact integer arithmetic, the same in any order. What follows the sums
    (a division, a square root) is one floating-point operation on exact inputs, correctly
    rounded, so reproducible too. Integer inputs (counts, answers on a scale) pass `places=0`.

    exact_sum(x): the sum, as DECIMAL(38, p).
    exact_avg(x): the mean, as double (null over no values).
    exact_var_samp(x): the sample variance (n − 1), as double, from the exact
        sums: (n·Σx² − (Σx)²) / (n·(n − 1)); null with fewer than two values. Σx² needs 2p
        decimal places, so with p = 12 the exact numerator holds 14 digits before the point:
        enough for a group of a million respondents on a 1–10 scale (DuckDB raises an
        overflow error rather than lose digits).
    `over`: a window clause's contents (e.g. 'partition by a, b') to use these as window
    aggregates.

    Engine-specific: the DECIMAL width. DuckDB keeps 38 digits through sums and products
    (DECIMAL(38, 12) squared is DECIMAL(38, 24)). Spark trims the scale of a product to 6
    when the digits would exceed 38 (spark.sql.decimalOperations.allowPrecisionLoss, on by
    default and not settable on every Databricks warehouse), so spark__exact_var_samp
    squares whole numbers instead: each value fixed at p places and multiplied by 10^p, as
    DECIMAL(38, 0), whose products keep every digit; the exact numerator is then scaled back
    by 10^(2p) in the final floating-point step. Same capacity as DuckDB's (14 digits before
    the point), but where DuckDB raises an overflow error Spark (ANSI mode off, as dbt-spark
    sets it) returns null. Sums (exact_sum) need no variant: a DECIMAL(38, p) sum keeps its
    scale on both. -#}
{% macro exact_decimal(expression, places=none) -%}
    {{ return(adapter.dispatch('exact_decimal')(expression, places)) }}
{%- endmacro %}

{% macro default__exact_decimal(expression, places) -%}
    {%- set places = var('exact_decimal_places') if places is none else places -%}
    cast({{ expression }} as decimal(38, {{ places | int }}))
{%- endmacro %}

{% macro window_clause(over) -%}
    {%- if over %} over ({{ over }}){% endif -%}
{%- endmacro %}

{% macro exact_sum(expression, places=none, over=none) -%}
    sum({{ exact_decimal(expression, places) }}){{ window_clause(over) }}
{%- endmacro %}

{% macro exact_avg(expression, places=none, over=none) -%}
    (
        cast(sum({{ exact_decimal(expression, places) }}){{ window_clause(over) }} as double)
        / nullif(count({{ expression }}){{ window_clause(over) }}, 0)
    )
{%- endmacro %}

{% macro exact_var_samp(expression, places=none) -%}
    {{ return(adapter.dispatch('exact_var_samp')(expression, places)) }}
{%- endmacro %}

{% macro default__exact_var_samp(expression, places) -%}
    {%- set x = exact_decimal(expression, places) -%}
    case
        when count({{ expression }}) > 1
            then
                cast(count({{ expression }}) * sum({{ x }} * {{ x }}) - sum({{ x }}) * sum({{ x }}) as double)
                / (count({{ expression }}) * (count({{ expression }}) - 1))
    end
{%- endmacro %}

{% macro spark__exact_var_samp(expression, places) -%}
    {%- set places = var('exact_decimal_places') if places is none else places | int -%}
    {%- if places == 0 -%}
        {%- set x = exact_decimal(expression, 0) -%}
    {%- else -%}
        {%- set x = 'cast(' ~ exact_decimal(expression, places) ~ ' * ' ~ 10 ** places ~ ' as decimal(38, 0))' -%}
    {%- endif -%}
    case
        when count({{ expression }}) > 1
            then
                cast(count({{ expression }}) * sum({{ x }} * {{ x }}) - sum({{ x }}) * sum({{ x }}) as double)
                {% if places > 0 %}/ 1e{{ 2 * places }}{% endif %}
                / (count({{ expression }}) * (count({{ expression }}) - 1))
    end
{%- endmacro %}
