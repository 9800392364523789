{#- Rows where the expression is false fail the test (as dbt_utils.expression_is_true, which
    is not installed: dbt deps would need the network). -#}
{% test expression_is_true(model, expression, column_name=none) %}
select *
from {{ model }}
where not (
    {%- if column_name is none %} {{ expression }}
    {%- else %} {{ column_name }} {{ expression }}
    {%- endif %})
{% endtest %}
