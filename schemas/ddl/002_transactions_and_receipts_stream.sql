-- Transaction senders come with the logs; receipts become a stream of their own.
--
-- A receipt repeats every log its transaction emitted, so fetching receipts costs the node
-- more than the logs themselves. raw.transactions (from eth_getBlockByNumber with full
-- transactions: sender, gas price; a fraction of the receipts' cost) commits with the logs,
-- and gives the decoded tables their tx_from. raw.receipts (gas used, L1 fees) is filled
-- afterwards by the 'receipts' stream, whose cursor commits with its rows and never passes
-- the 'logs' cursor; a reorg retraction moves both back.

-- One row per transaction that emitted a log in raw.logs. Quantities a node leaves out
-- (legacy transactions have no max fee) are null; a value above 2^128 - 1 is null.
create table raw.transactions (
    chain_id uinteger not null,
    block_number ubigint not null,
    block_hash varchar not null,
    tx_hash varchar not null,
    tx_index uinteger not null,
    tx_from varchar not null,
    tx_to varchar,
    tx_type utinyint,
    nonce ubigint,
    value_wei uhugeint,
    gas_limit ubigint,
    gas_price uhugeint,
    max_fee_per_gas uhugeint,
    max_priority_fee_per_gas uhugeint,
    input_selector varchar,  -- the first 4 bytes of the call data, 0x-hex
    journal_id ubigint not null
);

create table raw.orphaned_transactions as
select
    *,
    0::ubigint as retracted_by
from raw.transactions limit 0;

-- Warehouses written before this migration stored a receipt with every log's transaction in
-- the same commit: their senders come from those receipts, and their receipts stream is
-- complete up to the logs cursor.
insert into raw.transactions
select
    chain_id,
    block_number,
    block_hash,
    tx_hash,
    tx_index,
    tx_from,
    tx_to,
    tx_type,
    null,
    null,
    null,
    effective_gas_price,
    null,
    null,
    null,
    journal_id
from raw.receipts;

insert into raw.orphaned_transactions
select
    chain_id,
    block_number,
    block_hash,
    tx_hash,
    tx_index,
    tx_from,
    tx_to,
    tx_type,
    null,
    null,
    null,
    effective_gas_price,
    null,
    null,
    null,
    journal_id,
    retracted_by
from raw.orphaned_receipts;

insert into raw.cursors
select
    network,
    'receipts',
    chain_id,
    block_number,
    block_hash,
    updated_at
from raw.cursors
where stream = 'logs';
