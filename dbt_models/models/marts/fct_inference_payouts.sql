with

requests as (

    select * from {{ ref('int_inference_requests_attributed') }}

),

contributor_rewards as (

    select * from {{ ref('int_contributor_rewards_unnested') }}

),

rewards_per_request as (

    select
        chain_id,
        request_id,
        count(*) as contributor_count,
        sum(amount_wei) as contributor_rewards_wei

    from contributor_rewards
    group by chain_id, request_id

),

final as (

    select
        requests.chain_id,
        requests.request_id,
        requests.model_id,
        requests.block_number,
        requests.block_timestamp,
        requests.tx_hash,
        requests.developer_address,
        requests.fee_wei,
        requests.developer_amount_wei,
        requests.contributors_amount_wei,
        requests.stakers_amount_wei,
        requests.protocol_amount_wei,
        requests.developer_amount_wei
        + requests.contributors_amount_wei
        + requests.stakers_amount_wei
        + requests.protocol_amount_wei as payout_total_wei,
        coalesce(rewards_per_request.contributor_count, 0) as contributor_count,
        coalesce(rewards_per_request.contributor_rewards_wei, 0) as contributor_rewards_wei

    from requests

    left join rewards_per_request
        on
            requests.chain_id = rewards_per_request.chain_id
            and requests.request_id = rewards_per_request.request_id

    where requests.is_attributed

)

select * from final
