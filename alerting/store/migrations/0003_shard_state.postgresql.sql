-- The rule engine's state of each shard (pending `for` timers, firing faults), saved by its
-- lease holder, so a collector taking a shard over carries on where the last one stopped.
CREATE TABLE shard_state (
    shard TEXT PRIMARY KEY,
    holder TEXT NOT NULL,
    epoch BIGINT NOT NULL,
    snapshot TEXT NOT NULL,
    saved_at DOUBLE PRECISION NOT NULL
);
