-- The health of each network's ingest streams, for `olw status`: when a run last brought a
-- stream to its target, and when one last failed in it, with why and the command that fixes
-- it. One row per network and stream, overwritten by each run (not event data: a stream is
-- failing while error_at is later than ok_at).
create table raw.ingest_health (
    network varchar not null,
    stream varchar not null,  -- logs | receipts
    ok_at timestamp,
    error_at timestamp,
    error_kind varchar,  -- the error's class, e.g. RpcUnavailable
    error varchar,  -- its message (URLs redacted)
    fix varchar,  -- what to run or change
    primary key (network, stream)
);
