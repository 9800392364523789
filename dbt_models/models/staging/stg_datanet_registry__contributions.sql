with

source as (

    select * from {{ source('decoded', 'datanet_registry__contribution_recorded') }}

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
        contributor as contributor_address,
        contribution_id,
        data_hash,
        weight

    from source

)

select * from renamed
