-- Shards, leases and heartbeats of the collectors, the collector that acted, and send claims
-- (DESIGN §10). Lease expiry and heartbeats are written with now(): the database clock, the
-- one clock every collector agrees on.
ALTER TABLE incidents ADD COLUMN shard TEXT NOT NULL DEFAULT '';
ALTER TABLE audit ADD COLUMN collector TEXT;
ALTER TABLE outbox ADD COLUMN shard TEXT NOT NULL DEFAULT '';
ALTER TABLE outbox ADD COLUMN claimed_by TEXT;
ALTER TABLE outbox ADD COLUMN claim_until DOUBLE PRECISION;
ALTER TABLE outbox ADD COLUMN sent_by TEXT;
CREATE INDEX incidents_shard ON incidents(shard, state);

CREATE TABLE leases (
    shard TEXT PRIMARY KEY,
    holder TEXT NOT NULL,
    epoch BIGINT NOT NULL,
    expires_at DOUBLE PRECISION NOT NULL,
    renewed_at DOUBLE PRECISION NOT NULL
);

CREATE TABLE collectors (
    name TEXT PRIMARY KEY,
    shards TEXT NOT NULL DEFAULT '[]',
    started_at DOUBLE PRECISION NOT NULL,
    heartbeat_at DOUBLE PRECISION NOT NULL,
    failover DOUBLE PRECISION NOT NULL
);
