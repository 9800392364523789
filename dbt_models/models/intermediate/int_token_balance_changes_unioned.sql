with

transfers as (

    select * from {{ ref('stg_open_token__transfers') }}

),

debits as (

    select
        chain_id,
        token_address,
        block_hash,
        log_index,
        from_address as account_address,
        -amount_wei as amount_wei

    from transfers

),

credits as (

    select
        chain_id,
        token_address,
        block_hash,
        log_index,
        to_address as account_address,
        amount_wei

    from transfers

),

unioned as (

    select * from debits
    union all
    select * from credits

)

select * from unioned
