with

source as (

    select * from {{ source('decoded', 'open_token__transfer') }}

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
        contract_address as token_address,
        tx_from,
        from_address,
        to_address,
        value::hugeint as amount_wei

    from source

)

select * from renamed
