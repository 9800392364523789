with

transfers as (

    select * from {{ ref('stg_open_token__transfers') }}

),

chains as (

    select * from {{ ref('chains') }}

),

final as (

    select
        transfers.chain_id,
        chains.network,
        transfers.block_number,
        transfers.block_hash,
        transfers.block_timestamp,
        transfers.tx_hash,
        transfers.log_index,
        transfers.token_address,
        transfers.tx_from,
        transfers.from_address,
        transfers.to_address,
        transfers.amount_wei,
        transfers.from_address = {{ zero_address() }} as is_mint,
        transfers.to_address = {{ zero_address() }} as is_burn,
        case
            when transfers.from_address = {{ zero_address() }} then 'mint'
            when transfers.to_address = {{ zero_address() }} then 'burn'
            else 'transfer'
        end as transfer_kind

    from transfers

    left join chains
        on transfers.chain_id = chains.chain_id

)

select * from final
