with

source as (

    select * from {{ source('decoded', 'attribution_engine__rewards_claimed') }}

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
        account as account_address,
        amount::hugeint as amount_wei

    from source

)

select * from renamed
