-- Occurrences become first-class (issue 16): each time an incident opens or reopens keeps its
-- own level, acknowledgement, arrival, escalation tier, resolution and SLA breaches, so a
-- reopen never wipes what happened before it. The incident row keeps the latest occurrence's
-- state (what is going on now); the occurrences rows are the history the reports count.
-- People's tickets: a human ticket number, where the ticket came from and who reported it.
-- Hand-resolve: `recheck` asks the daemon to look whether the condition still holds;
-- `accepted_until` is an explicit "accept" of a known fault until then.
ALTER TABLE occurrences ADD COLUMN n INTEGER NOT NULL DEFAULT 1;
ALTER TABLE occurrences ADD COLUMN level INTEGER;
ALTER TABLE occurrences ADD COLUMN suppressed TEXT;
ALTER TABLE occurrences ADD COLUMN active_since REAL;
ALTER TABLE occurrences ADD COLUMN acknowledged_at REAL;
ALTER TABLE occurrences ADD COLUMN acknowledged_by TEXT;
ALTER TABLE occurrences ADD COLUMN arrived_at REAL;
ALTER TABLE occurrences ADD COLUMN arrived_by TEXT;
ALTER TABLE occurrences ADD COLUMN resolved_at REAL;
ALTER TABLE occurrences ADD COLUMN resolved_by TEXT;
ALTER TABLE occurrences ADD COLUMN tier INTEGER NOT NULL DEFAULT 0;
ALTER TABLE occurrences ADD COLUMN note TEXT;

-- number the occurrences of each incident in time order
UPDATE occurrences SET n = (
    SELECT COUNT(*) FROM occurrences o
    WHERE o.incident_id = occurrences.incident_id
      AND (o.ts < occurrences.ts OR (o.ts = occurrences.ts AND o.rowid <= occurrences.rowid))
);
-- what older stores kept only in the audit log: each occurrence's steps, within its own span
CREATE TEMP TABLE occurrence_span AS
    SELECT o.rowid AS rid, o.incident_id AS incident_id, o.ts AS start,
           COALESCE((SELECT MIN(x.ts) FROM occurrences x
                     WHERE x.incident_id = o.incident_id AND x.n = o.n + 1), 1e18) AS stop
    FROM occurrences o;
UPDATE occurrences SET
    active_since = ts,
    level = (SELECT level FROM incidents i WHERE i.id = occurrences.incident_id),
    acknowledged_at = (SELECT MIN(a.ts) FROM audit a, occurrence_span s
        WHERE s.rid = occurrences.rowid AND a.incident_id = s.incident_id
          AND a.action = 'acknowledged' AND a.ts >= s.start AND a.ts < s.stop),
    arrived_at = (SELECT MIN(a.ts) FROM audit a, occurrence_span s
        WHERE s.rid = occurrences.rowid AND a.incident_id = s.incident_id
          AND a.action = 'arrived' AND a.ts >= s.start AND a.ts < s.stop),
    resolved_at = (SELECT MIN(a.ts) FROM audit a, occurrence_span s
        WHERE s.rid = occurrences.rowid AND a.incident_id = s.incident_id
          AND a.action = 'resolved' AND a.ts >= s.start AND a.ts < s.stop);
UPDATE occurrences SET
    acknowledged_by = (SELECT a.actor FROM audit a WHERE a.incident_id = occurrences.incident_id
        AND a.action = 'acknowledged' AND a.ts = occurrences.acknowledged_at ORDER BY a.id LIMIT 1),
    arrived_by = (SELECT a.actor FROM audit a WHERE a.incident_id = occurrences.incident_id
        AND a.action = 'arrived' AND a.ts = occurrences.arrived_at ORDER BY a.id LIMIT 1),
    resolved_by = (SELECT a.actor FROM audit a WHERE a.incident_id = occurrences.incident_id
        AND a.action = 'resolved' AND a.ts = occurrences.resolved_at ORDER BY a.id LIMIT 1),
    tier = (SELECT COUNT(*) FROM audit a, occurrence_span s
        WHERE s.rid = occurrences.rowid AND a.incident_id = s.incident_id AND a.action = 'told'
          AND a.detail LIKE '%"step": "tier:%' AND a.ts >= s.start AND a.ts < s.stop);
-- the latest occurrence is what the incident row says now
UPDATE occurrences SET
    level = (SELECT i.level FROM incidents i WHERE i.id = occurrences.incident_id),
    suppressed = (SELECT i.suppressed FROM incidents i WHERE i.id = occurrences.incident_id),
    active_since = (SELECT i.active_since FROM incidents i WHERE i.id = occurrences.incident_id),
    tier = (SELECT i.tier FROM incidents i WHERE i.id = occurrences.incident_id)
WHERE n = (SELECT i.occurrences FROM incidents i WHERE i.id = occurrences.incident_id);
DROP TABLE occurrence_span;
CREATE UNIQUE INDEX occurrences_incident_n ON occurrences(incident_id, n);

-- a breach belongs to one occurrence: a reopened incident can breach the same clock again
CREATE TABLE breaches_by_occurrence (
    incident_id INTEGER NOT NULL REFERENCES incidents(id),
    occurrence INTEGER NOT NULL DEFAULT 1,
    clock TEXT NOT NULL,
    level INTEGER NOT NULL,
    due REAL NOT NULL,
    recorded_at REAL NOT NULL,
    PRIMARY KEY (incident_id, occurrence, clock, level)
);
INSERT INTO breaches_by_occurrence (incident_id, occurrence, clock, level, due, recorded_at)
    SELECT b.incident_id,
           COALESCE((SELECT MAX(o.n) FROM occurrences o
                     WHERE o.incident_id = b.incident_id AND o.ts <= b.recorded_at), 1),
           b.clock, b.level, b.due, b.recorded_at
    FROM breaches b;
DROP TABLE breaches;
ALTER TABLE breaches_by_occurrence RENAME TO breaches;

ALTER TABLE incidents ADD COLUMN ticket TEXT;
ALTER TABLE incidents ADD COLUMN source TEXT NOT NULL DEFAULT 'rules';
ALTER TABLE incidents ADD COLUMN reporter TEXT;
ALTER TABLE incidents ADD COLUMN contact TEXT;
ALTER TABLE incidents ADD COLUMN description TEXT;
ALTER TABLE incidents ADD COLUMN recheck INTEGER NOT NULL DEFAULT 0;
ALTER TABLE incidents ADD COLUMN accepted_until REAL;
ALTER TABLE incidents ADD COLUMN accepted_by TEXT;
CREATE UNIQUE INDEX incidents_ticket ON incidents(ticket);
CREATE INDEX incidents_recheck ON incidents(recheck) WHERE recheck = 1;
-- tickets recorded before numbers existed get the default prefix and the year they opened (UTC)
UPDATE incidents SET ticket = 'RW-' || strftime('%Y', opened_at, 'unixepoch') || '-'
    || printf('%06d', id);
