with

models as (

    select * from {{ ref('stg_model_registry__models') }}

),

model_updates as (

    select * from {{ ref('stg_model_registry__model_updates') }}

),

latest_updates as (

    select
        chain_id,
        model_id,
        owner_address,
        fee_per_inference_wei,
        block_timestamp as updated_at

    from model_updates
    qualify row_number() over (
        partition by chain_id, model_id order by block_number desc, log_index desc
    ) = 1

),

final as (

    select
        models.chain_id,
        models.model_id,
        models.model_name,
        models.datanet_ids,
        models.block_timestamp as registered_at,
        latest_updates.updated_at,
        coalesce(latest_updates.owner_address, models.owner_address) as owner_address,
        coalesce(latest_updates.fee_per_inference_wei, models.fee_per_inference_wei) as fee_per_inference_wei

    from models

    left join latest_updates
        on
            models.chain_id = latest_updates.chain_id
            and models.model_id = latest_updates.model_id

)

select * from final
