with

source as (

    select * from {{ source('decoded', 'datanet_registry__datanet_created') }}

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
        contract_address as registry_address,
        tx_from,
        datanet_id,
        owner as owner_address,
        name as datanet_name,
        metadata_hash

    from source

)

select * from renamed
