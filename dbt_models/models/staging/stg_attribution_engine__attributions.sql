with

source as (

    select * from {{ source('decoded', 'attribution_engine__attribution_recorded') }}

),

renamed as (

    -- uint256 amounts arrive as UHUGEINT, and DuckDB sums UHUGEINT as DOUBLE (loses wei):
    -- HUGEINT keeps sums exact; every OPEN amount (<= 1e27 wei) fits.
    select
        chain_id,
        block_number,
        block_hash,
        block_timestamp,
        tx_hash,
        tx_index,
        log_index,
        contract_address as engine_address,
        tx_from,
        request_id,
        model_id,
        developer as developer_address,
        fee::hugeint as fee_wei,
        developer_amount::hugeint as developer_amount_wei,
        contributors_amount::hugeint as contributors_amount_wei,
        stakers_amount::hugeint as stakers_amount_wei,
        protocol_amount::hugeint as protocol_amount_wei

    from source

)

select * from renamed
