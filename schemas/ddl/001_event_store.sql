-- The event store: raw chain data exactly as served, the ingest journal, cursors, dead letters.
-- Key of every log-grained table: (chain_id, block_hash, log_index). Orphaned rows (retracted
-- on a reorg) move to raw.orphaned_* in the transaction that journals the retraction, so
-- raw.blocks/logs/receipts and decoded.* hold canonical rows only.
create schema if not exists raw;
create schema if not exists decoded;

-- One row per network bound to this warehouse: a name is bound to one chain id for good.
create table raw.networks (
    network varchar not null,
    chain_id uinteger not null,
    get_logs_blocks ubigint,  -- the eth_getLogs span that last worked (adaptive)
    bound_at timestamp not null
);

-- One row per block header we hold: blocks that carry our logs and range boundaries.
create table raw.blocks (
    chain_id uinteger not null,
    block_number ubigint not null,
    block_hash varchar not null,
    parent_hash varchar not null,
    block_timestamp timestamp not null,
    timestamp_unix ubigint not null,
    has_logs boolean not null,
    journal_id ubigint not null
);

-- One row per log emitted by a configured contract.
create table raw.logs (
    chain_id uinteger not null,
    block_number ubigint not null,
    block_hash varchar not null,
    log_index uinteger not null,
    tx_hash varchar not null,
    tx_index uinteger not null,
    contract_address varchar not null,
    topic0 varchar,
    topic1 varchar,
    topic2 varchar,
    topic3 varchar,
    topic_count utinyint not null,
    data varchar not null,
    removed boolean not null,
    journal_id ubigint not null
);

-- One row per transaction that emitted a log in raw.logs.
create table raw.receipts (
    chain_id uinteger not null,
    block_number ubigint not null,
    block_hash varchar not null,
    tx_hash varchar not null,
    tx_index uinteger not null,
    tx_from varchar not null,
    tx_to varchar,
    contract_created varchar,
    tx_type utinyint,
    status utinyint,
    gas_used ubigint not null,
    cumulative_gas_used ubigint,
    effective_gas_price uhugeint,
    l1_fee uhugeint,
    l1_gas_used uhugeint,
    l1_gas_price uhugeint,
    l1_fee_scalar varchar,
    l1_base_fee_scalar ubigint,
    l1_blob_base_fee uhugeint,
    l1_blob_base_fee_scalar ubigint,
    journal_id ubigint not null
);

create table raw.orphaned_blocks as select *, 0::ubigint as retracted_by from raw.blocks limit 0;
create table raw.orphaned_logs as select *, 0::ubigint as retracted_by from raw.logs limit 0;
create table raw.orphaned_receipts as
select *, 0::ubigint as retracted_by from raw.receipts limit 0;

-- One row per committed batch: action 'append' (blocks from_block..to_block added) or
-- 'retract' (blocks from_block..to_block removed by a reorg), with row counts.
create table raw.ingest_journal (
    journal_id ubigint not null,
    network varchar not null,
    chain_id uinteger not null,
    action varchar not null,
    from_block ubigint not null,
    to_block ubigint not null,
    block_count ubigint not null,
    log_count ubigint not null,
    receipt_count ubigint not null,
    decoded_count ubigint not null,
    dead_letter_count ubigint not null,
    head_block ubigint,
    finalized_block ubigint,
    detail varchar,
    recorded_at timestamp not null
);

-- One row per (network, stream): the last block whose data is committed (with its hash).
create table raw.cursors (
    network varchar not null,
    stream varchar not null,
    chain_id uinteger not null,
    block_number ubigint not null,
    block_hash varchar not null,
    updated_at timestamp not null
);

-- One row per log that did not decode, with the reason; derived from raw.logs like decoded.*.
create table raw.dead_letters (
    chain_id uinteger not null,
    block_number ubigint not null,
    block_hash varchar not null,
    log_index uinteger not null,
    tx_hash varchar not null,
    contract_address varchar not null,
    topic0 varchar,
    data varchar not null,
    reason varchar not null,
    detail varchar
);
