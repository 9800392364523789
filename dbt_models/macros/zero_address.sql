{#- Mints come from and burns go to this address (lowercase 0x-hex, as every address here). -#}
{% macro zero_address() -%}
    '0x0000000000000000000000000000000000000000'
{%- endmacro %}
