with

transfers as (

    select * from {{ ref('fct_token_transfers') }}

),

balances as (

    select * from {{ ref('fct_token_balances') }}

),

flows as (

    select
        chain_id,
        token_address,
        coalesce(sum(amount_wei) filter (where is_mint), 0) as minted_wei,
        coalesce(sum(amount_wei) filter (where is_burn), 0) as burned_wei,
        count(*) as transfer_count

    from transfers
    group by chain_id, token_address

),

holdings as (

    select
        chain_id,
        token_address,
        sum(balance_wei) as held_wei,
        count(*) filter (where balance_wei > 0) as holder_count

    from balances
    group by chain_id, token_address

),

final as (

    select
        flows.chain_id,
        flows.token_address,
        flows.minted_wei,
        flows.burned_wei,
        flows.minted_wei - flows.burned_wei as total_supply_wei,
        coalesce(holdings.held_wei, 0) as held_wei,
        coalesce(holdings.holder_count, 0) as holder_count,
        flows.transfer_count

    from flows

    left join holdings
        on
            flows.chain_id = holdings.chain_id
            and flows.token_address = holdings.token_address

)

select * from final
