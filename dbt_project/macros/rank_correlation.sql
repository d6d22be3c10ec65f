{#- Spearman's rank correlation in two steps, plain ANSI SQL (window functions and
    aggregates), used by health_outcome_association for the estimate and for every
    bootstrap resample.

    average_rank: the rank of `value` among the rows of its partition, ties getting the
    mean of the positions they span: (first position + last position) / 2, where rank()
    is the first and the count of rows up to and including the ties the last. Rows with a
    null value must be filtered out first. -#}
{% macro average_rank(value, partition_by) %}
    (
        rank() over (partition by {{ partition_by }} order by {{ value }})
        + count(*) over (
            partition by {{ partition_by }} order by {{ value }}
            range between unbounded preceding and current row
        )
    ) / 2.0
{%- endmacro %}

{#- Aggregate: Pearson's correlation of two columns of average ranks over the rows of a
    group, i.e. Spearman's rho with ties. Average ranks of n rows always have mean
    c = (n + 1) / 2, so
        rho = (Σ rx·ry − n·c²) / sqrt((Σ rx² − n·c²) · (Σ ry² − n·c²)).
    Average ranks are multiples of 1/2, so every sum is a multiple of 1/4 and exact in
    double precision whatever order the rows are added in: the result is bit-for-bit
    reproducible. Null when either variable is constant (its sum of squares is 0). -#}
{% macro rank_correlation(x_rank, y_rank) %}
    {%- set n_c_squared = '(count(*) * (count(*) + 1) * (count(*) + 1) / 4.0)' -%}
    case
        when sum({{ x_rank }} * {{ x_rank }}) - {{ n_c_squared }} > 0
            and sum({{ y_rank }} * {{ y_rank }}) - {{ n_c_squared }} > 0
            then (sum({{ x_rank }} * {{ y_rank }}) - {{ n_c_squared }})
                / sqrt(
                    (sum({{ x_rank }} * {{ x_rank }}) - {{ n_c_squared }})
                    * (sum({{ y_rank }} * {{ y_rank }}) - {{ n_c_squared }})
                )
    end
{%- endmacro %}
