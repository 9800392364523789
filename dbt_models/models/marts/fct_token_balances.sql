with

balance_changes as (

    select * from {{ ref('int_token_balance_changes_unioned') }}

),

balances as (

    select
        chain_id,
        token_address,
        account_address,
        sum(amount_wei) as balance_wei,
        count(*) as transfer_count

    from balance_changes
    -- the zero address only stands for mints and burns; it holds nothing.
    where account_address != {{ zero_address() }}
    group by chain_id, token_address, account_address

)

select * from balances
