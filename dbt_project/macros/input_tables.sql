{#- Make the pipeline's input tables (the dbt sources, in the clean schema) readable by the
    models. Called by on-run-start in dbt_project.yml.

    DuckDB: nothing to do, the polars stage writes them into the warehouse itself.
    Spark: the polars stage writes each table (clean, raw, quarantine, audit) as Parquet under
    COLLAB_HEALTH_SPARK_INPUTS (<inputs>/<schema>/<table>/); each source is (re)registered as
    an external table on its folder at every run, so a new night's files (and any new column)
    are what the models read. Only metadata is written: the Parquet stays where it was put. -#}
{% macro register_input_tables() %}
    {{- return(adapter.dispatch('register_input_tables')()) -}}
{% endmacro %}

{% macro default__register_input_tables() %}{% endmacro %}

{% macro spark__register_input_tables() %}
    {%- if execute -%}
        {%- set inputs = env_var('COLLAB_HEALTH_SPARK_INPUTS', '../var/spark/inputs') -%}
        {%- set schemas = [] -%}
        {%- for source in graph.sources.values() | sort(attribute='unique_id') -%}
            {%- if source.schema not in schemas -%}
                {%- do run_query('create database if not exists ' ~ source.schema) -%}
                {%- do schemas.append(source.schema) -%}
            {%- endif -%}
            {%- set table = source.schema ~ '.' ~ source.identifier -%}
            {%- do run_query('drop table if exists ' ~ table) -%}
            {%- do run_query("create table " ~ table ~ " using parquet location '"
                ~ inputs ~ '/' ~ source.schema ~ '/' ~ source.identifier ~ "'") -%}
        {%- endfor -%}
    {%- endif -%}
{% endmacro %}
