{#- Use the folder's schema name as is (staging, intermediate, marts), not <target>_<name>:
    asset keys and SQL users address tables as marts.fct_..., whatever the target. -#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}
        {{ target.schema }}
    {%- else -%}
        {{ custom_schema_name | trim }}
    {%- endif -%}
{%- endmacro %}
