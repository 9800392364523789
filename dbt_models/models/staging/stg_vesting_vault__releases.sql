with

source as (

    select * from {{ source('decoded', 'vesting_vault__tokens_released') }}

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
        contract_address as vault_address,
        tx_from,
        bucket,
        beneficiary,
        amount::hugeint as amount_wei,
        total_released::hugeint as total_released_wei,
        month_index

    from source

)

select * from renamed
