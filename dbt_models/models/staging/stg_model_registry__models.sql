with

source as (

    select * from {{ source('decoded', 'model_registry__model_registered') }}

),

renamed as (

    -- uint256 amounts arrive as UHUGEINT, and DuckDB sums UHUGEINT as DOUBLE (loses wei):
    -- HUGEINT keeps sums exact; every OPEN amount (<= 1e27 wei) fits.
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
        model_id,
        owner as owner_address,
        name as model_name,
        datanet_ids,
        metadata_hash,
        fee_per_inference::hugeint as fee_per_inference_wei

    from source

)

select * from renamed
