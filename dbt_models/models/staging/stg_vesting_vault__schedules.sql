with

source as (

    select * from {{ source('decoded', 'vesting_vault__vesting_schedule_created') }}

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
        total_allocation::hugeint as total_allocation_wei,
        tge_amount::hugeint as tge_amount_wei,
        make_timestamp((start * 1000000)::bigint) as vesting_start_at,
        cliff_months,
        vesting_months

    from source

)

select * from renamed
