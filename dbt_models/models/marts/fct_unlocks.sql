with

releases as (

    select * from {{ ref('stg_vesting_vault__releases') }}

),

schedules as (

    select * from {{ ref('stg_vesting_vault__schedules') }}

),

chains as (

    select * from {{ ref('chains') }}

),

final as (

    select
        releases.chain_id,
        chains.network,
        releases.block_number,
        releases.block_hash,
        releases.log_index,
        releases.block_timestamp as released_at,
        releases.tx_hash,
        releases.vault_address,
        releases.bucket,
        releases.beneficiary,
        releases.month_index,
        releases.amount_wei,
        releases.total_released_wei,
        schedules.total_allocation_wei,
        schedules.vesting_start_at,
        schedules.cliff_months,
        schedules.vesting_months

    from releases

    left join schedules
        on
            releases.chain_id = schedules.chain_id
            and releases.vault_address = schedules.vault_address
            and releases.bucket = schedules.bucket
            and releases.beneficiary = schedules.beneficiary

    left join chains
        on releases.chain_id = chains.chain_id

)

select * from final
