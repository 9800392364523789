with

source as (

    select * from {{ source('decoded', 'attribution_engine__contributors_rewarded') }}

),

renamed as (

    select
        chain_id,
        block_number,
        block_hash,
        block_timestamp,
        tx_hash,
        tx_index,
        log_index,
        contract_address as engine_address,
        tx_from,
        request_id,
        model_id,
        datanet_ids,
        contributors as contributor_addresses,
        weights,
        amounts as amounts_wei

    from source

)

select * from renamed
