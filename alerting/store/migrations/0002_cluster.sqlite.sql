-- Shards, the collector that acted, and send claims (DESIGN §10). SQLite serves one box, so its
-- leases and collectors tables stay empty; they exist so both backends have the same columns
-- and `roomwatch store copy` moves every table as it is.
ALTER TABLE incidents ADD COLUMN shard TEXT NOT NULL DEFAULT '';
ALTER TABLE audit ADD COLUMN collector TEXT;
ALTER TABLE outbox ADD COLUMN shard TEXT NOT NULL DEFAULT '';
ALTER TABLE outbox ADD COLUMN claimed_by TEXT;
ALTER TABLE outbox ADD COLUMN claim_until REAL;
ALTER TABLE outbox ADD COLUMN sent_by TEXT;
CREATE INDEX incidents_shard ON incidents(shard, state);

CREATE TABLE leases (
    shard TEXT PRIMARY KEY,
    holder TEXT NOT NULL,
    epoch INTEGER NOT NULL,
    expires_at REAL NOT NULL,
    renewed_at REAL NOT NULL
);

CREATE TABLE collectors (
    name TEXT PRIMARY KEY,
    shards TEXT NOT NULL DEFAULT '[]',
    started_at REAL NOT NULL,
    heartbeat_at REAL NOT NULL,
    failover REAL NOT NULL
);
