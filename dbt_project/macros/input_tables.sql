{#- Make the pipeline's input tables (the dbt sources, in the clean schema) readable by the
    models: a pre-hook of every staging model (dbt_project.yml), the only models that read
    sources, for the sources that model reads.

    DuckDB: nothing to do (the hook is empty, so nothing runs): the polars stage writes the
    tables into the warehouse itself.
    Spark: the polars stage writes each table (clean, raw, quarantine, audit) as Parquet under
    COLLAB_HEALTH_SPARK_INPUTS (<inputs>/<schema>/<table>/); each source is (re)registered as
    an external table on its folder before the staging model reading it is built, so a new
    night's files (and any new column) are what the models read. Only metadata is written:
    the Parquet stays where it was put. -#}
{% macro register_input_tables() %}
    {{- return(adapter.dispatch('register_input_tables')()) -}}
{% endmacro %}

{% macro default__register_input_tables() %}{% endmacro %}

{% macro spark__register_input_tables() %}
    {%- if execute -%}
        {%- set inputs = env_var('COLLAB_HEALTH_SPARK_INPUTS', '../var/spark/inputs') -%}
        {%- for node_id in model.depends_on.nodes if node_id.startswith('source.') -%}
            {%- set source = graph.sources[node_id] -%}
            {%- set table = source.schema ~ '.' ~ source.identifier -%}
            {%- do run_query('create database if not exists ' ~ source.schema) -%}
            {%- do run_query('drop table if exists ' ~ table) -%}
            {%- do run_query("create table " ~ table ~ " using parquet location '"
                ~ inputs ~ '/' ~ source.schema ~ '/' ~ source.identifier ~ "'") -%}
        {%- endfor -%}
    {%- endif -%}
{% endmacro %}
