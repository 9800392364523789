with

requests as (

    select * from {{ ref('int_inference_requests_attributed') }}

),

models as (

    select * from {{ ref('dim_models') }}

),

chains as (

    select * from {{ ref('chains') }}

),

per_model as (

    select
        chain_id,
        model_id,
        count(*) as inference_count,
        count(*) filter (where is_attributed) as attributed_count,
        count(distinct caller_address) as caller_count,
        sum(fee_wei) as fee_wei,
        coalesce(sum(developer_amount_wei), 0) as developer_amount_wei,
        coalesce(sum(contributors_amount_wei), 0) as contributors_amount_wei,
        coalesce(sum(stakers_amount_wei), 0) as stakers_amount_wei,
        coalesce(sum(protocol_amount_wei), 0) as protocol_amount_wei,
        coalesce(sum(fee_wei) filter (where is_attributed), 0) as attributed_fee_wei,
        min(block_timestamp) as first_inference_at,
        max(block_timestamp) as last_inference_at

    from requests
    group by chain_id, model_id

),

final as (

    select
        per_model.chain_id,
        chains.network,
        per_model.model_id,
        models.model_name,
        models.owner_address,
        per_model.inference_count,
        per_model.attributed_count,
        per_model.caller_count,
        per_model.fee_wei,
        per_model.attributed_fee_wei,
        per_model.developer_amount_wei,
        per_model.contributors_amount_wei,
        per_model.stakers_amount_wei,
        per_model.protocol_amount_wei,
        per_model.first_inference_at,
        per_model.last_inference_at

    from per_model

    left join models
        on
            per_model.chain_id = models.chain_id
            and per_model.model_id = models.model_id

    left join chains
        on per_model.chain_id = chains.chain_id

)

select * from final
