with

requests as (

    select * from {{ ref('int_inference_requests_attributed') }}

),

chains as (

    select * from {{ ref('chains') }}

),

daily as (

    select
        chain_id,
        model_id,
        block_timestamp::date as inference_date,
        count(*) as inference_count,
        count(distinct caller_address) as caller_count,
        count(distinct tx_from) as sender_count,
        sum(fee_wei) as fee_wei,
        sum(tokens_in) as tokens_in,
        sum(tokens_out) as tokens_out

    from requests
    group by chain_id, model_id, block_timestamp::date

),

final as (

    select
        daily.inference_date,
        daily.chain_id,
        chains.network,
        daily.model_id,
        daily.inference_count,
        daily.caller_count,
        daily.sender_count,
        daily.fee_wei,
        daily.tokens_in,
        daily.tokens_out

    from daily

    left join chains
        on daily.chain_id = chains.chain_id

)

select * from final
