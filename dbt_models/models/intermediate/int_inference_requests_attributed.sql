with

inference_requests as (

    select * from {{ ref('stg_inference_market__inference_requests') }}

),

attributions as (

    select * from {{ ref('stg_attribution_engine__attributions') }}

),

attributed as (

    select
        inference_requests.chain_id,
        inference_requests.request_id,
        inference_requests.model_id,
        inference_requests.caller_address,
        inference_requests.tx_from,
        inference_requests.block_number,
        inference_requests.block_timestamp,
        inference_requests.tx_hash,
        inference_requests.log_index,
        inference_requests.fee_wei,
        inference_requests.tokens_in,
        inference_requests.tokens_out,
        attributions.developer_address,
        attributions.developer_amount_wei,
        attributions.contributors_amount_wei,
        attributions.stakers_amount_wei,
        attributions.protocol_amount_wei,
        attributions.request_id is not null as is_attributed

    from inference_requests

    left join attributions
        on
            inference_requests.chain_id = attributions.chain_id
            and inference_requests.request_id = attributions.request_id

)

select * from attributed
