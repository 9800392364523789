with

source as (

    select * from {{ source('decoded', 'inference_market__inference_requested') }}

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
        contract_address as market_address,
        tx_from,
        request_id,
        model_id,
        caller as caller_address,
        fee::hugeint as fee_wei,
        tokens_in,
        tokens_out

    from source

)

select * from renamed
