-- Native value: OPEN is the OpenLedger L2's gas token, so it moves as transaction value,
-- deposit mints and internal calls, never as Transfer logs.
--
-- A network whose native.transactions option is on (schemas/networks.yaml) stores every
-- transaction of every block in raw.transactions, with the logs in the same commit (so the
-- same cursor, reorg retraction and exactly-once rules); other networks keep storing only the
-- transactions that emitted our logs. OP Stack deposit transactions (type 0x7e) carry the
-- mint (new native supply, not value), the sourceHash that links them to their L1
-- TransactionDeposited log, and the system flag. Columns are added at the end; writers name
-- their columns (insert ... by name), so the orphaned_* copies keep retracted_by where it was.
alter table raw.transactions add column source_hash varchar;
alter table raw.transactions add column mint_wei uhugeint;
alter table raw.transactions add column is_system_tx boolean;
alter table raw.orphaned_transactions add column source_hash varchar;
alter table raw.orphaned_transactions add column mint_wei uhugeint;
alter table raw.orphaned_transactions add column is_system_tx boolean;

-- The OP Stack receipt fields after Ecotone (all optional on the node, so nullable here):
-- Isthmus operator fee parameters, the Jovian DA footprint scalar, deposit nonce and receipt
-- version; and the operator fee the sender paid, which no receipt carries: Isthmus
-- gas_used * scalar / 1e6 + constant, Jovian gas_used * scalar * 100 + constant; deposits pay none.
alter table raw.receipts add column operator_fee_scalar ubigint;
alter table raw.receipts add column operator_fee_constant ubigint;
alter table raw.receipts add column da_footprint_gas_scalar ubigint;
alter table raw.receipts add column deposit_nonce ubigint;
alter table raw.receipts add column deposit_receipt_version ubigint;
alter table raw.receipts add column operator_fee_wei uhugeint;
alter table raw.orphaned_receipts add column operator_fee_scalar ubigint;
alter table raw.orphaned_receipts add column operator_fee_constant ubigint;
alter table raw.orphaned_receipts add column da_footprint_gas_scalar ubigint;
alter table raw.orphaned_receipts add column deposit_nonce ubigint;
alter table raw.orphaned_receipts add column deposit_receipt_version ubigint;
alter table raw.orphaned_receipts add column operator_fee_wei uhugeint;

-- One row per internal call frame that moves native value (trace_address is the child path
-- below the transaction's top frame, '0.2'; the top frame is the transaction's own value in
-- raw.transactions), from trace_block or debug_traceBlockByNumber (callTracer), for networks
-- whose native.traces option names one. A frame in a failed subtree moved nothing: reverted.
create table raw.traces (
    chain_id uinteger not null,
    block_number ubigint not null,
    block_hash varchar not null,
    tx_hash varchar not null,
    tx_index uinteger not null,
    trace_address varchar not null,
    depth usmallint not null,
    trace_type varchar not null,
    call_type varchar,
    from_address varchar,
    to_address varchar,
    value_wei uhugeint,
    error varchar,
    reverted boolean not null,
    journal_id ubigint not null
);

create table raw.orphaned_traces as
select
    *,
    0::ubigint as retracted_by
from raw.traces limit 0;
