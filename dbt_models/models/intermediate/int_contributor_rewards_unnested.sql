with

contributor_rewards as (

    select * from {{ ref('stg_attribution_engine__contributor_rewards') }}

),

unnested as (

    -- unnest() of several lists in one select walks them in parallel (same length per event).
    select
        chain_id,
        block_hash,
        log_index,
        block_timestamp,
        request_id,
        model_id,
        unnest(generate_series(1, len(contributor_addresses))) as contributor_position,
        unnest(datanet_ids) as datanet_id,
        unnest(contributor_addresses) as contributor_address,
        unnest(weights) as weight,
        unnest(amounts_wei) as amount_wei

    from contributor_rewards

),

casted as (

    select
        chain_id,
        block_hash,
        log_index,
        block_timestamp,
        request_id,
        model_id,
        contributor_position,
        datanet_id,
        contributor_address,
        weight,
        amount_wei::hugeint as amount_wei

    from unnested

)

select * from casted
