{#- Use the configured schema name as it is (staging, intermediate, marts), not
    prefixed with the target schema: analysts query `marts.collaboration_health`. -#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}{{ target.schema }}{%- else -%}{{ custom_schema_name | trim }}{%- endif -%}
{%- endmacro %}
