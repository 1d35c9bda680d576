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
ALTER TABLE occurrences ADD COLUMN active_since DOUBLE PRECISION;
ALTER TABLE occurrences ADD COLUMN acknowledged_at DOUBLE PRECISION;
ALTER TABLE occurrences ADD COLUMN acknowledged_by TEXT;
ALTER TABLE occurrences ADD COLUMN arrived_at DOUBLE PRECISION;
ALTER TABLE occurrences ADD COLUMN arrived_by TEXT;
ALTER TABLE occurrences ADD COLUMN resolved_at DOUBLE PRECISION;
ALTER TABLE occurrences ADD COLUMN resolved_by TEXT;
ALTER TABLE occurrences ADD COLUMN tier INTEGER NOT NULL DEFAULT 0;
ALTER TABLE occurrences ADD COLUMN note TEXT;

-- number the occurrences of each incident in time order
UPDATE occurrences o SET n = x.n
FROM (SELECT ctid AS row_id, row_number() OVER (PARTITION BY incident_id ORDER BY ts) AS n
      FROM occurrences) x
WHERE o.ctid = x.row_id;
-- what older stores kept only in the audit log: each occurrence's steps, within its own span
CREATE TEMP TABLE occurrence_span ON COMMIT DROP AS
    SELECT o.incident_id, o.n, o.ts AS start,
           COALESCE((SELECT MIN(x.ts) FROM occurrences x
                     WHERE x.incident_id = o.incident_id AND x.n = o.n + 1), 1e18) AS stop
    FROM occurrences o;
UPDATE occurrences o SET
    active_since = o.ts,
    level = (SELECT level FROM incidents i WHERE i.id = o.incident_id),
    acknowledged_at = (SELECT MIN(a.ts) FROM audit a, occurrence_span s
        WHERE s.incident_id = o.incident_id AND s.n = o.n AND a.incident_id = s.incident_id
          AND a.action = 'acknowledged' AND a.ts >= s.start AND a.ts < s.stop),
    arrived_at = (SELECT MIN(a.ts) FROM audit a, occurrence_span s
        WHERE s.incident_id = o.incident_id AND s.n = o.n AND a.incident_id = s.incident_id
          AND a.action = 'arrived' AND a.ts >= s.start AND a.ts < s.stop),
    resolved_at = (SELECT MIN(a.ts) FROM audit a, occurrence_span s
        WHERE s.incident_id = o.incident_id AND s.n = o.n AND a.incident_id = s.incident_id
          AND a.action = 'resolved' AND a.ts >= s.start AND a.ts < s.stop),
    tier = (SELECT COUNT(*) FROM audit a, occurrence_span s
        WHERE s.incident_id = o.incident_id AND s.n = o.n AND a.incident_id = s.incident_id
          AND a.action = 'told' AND a.detail LIKE '%"step": "tier:%'
          AND a.ts >= s.start AND a.ts < s.stop);
UPDATE occurrences o SET
    acknowledged_by = (SELECT a.actor FROM audit a WHERE a.incident_id = o.incident_id
        AND a.action = 'acknowledged' AND a.ts = o.acknowledged_at ORDER BY a.id LIMIT 1),
    arrived_by = (SELECT a.actor FROM audit a WHERE a.incident_id = o.incident_id
        AND a.action = 'arrived' AND a.ts = o.arrived_at ORDER BY a.id LIMIT 1),
    resolved_by = (SELECT a.actor FROM audit a WHERE a.incident_id = o.incident_id
        AND a.action = 'resolved' AND a.ts = o.resolved_at ORDER BY a.id LIMIT 1);
-- the latest occurrence is what the incident row says now
UPDATE occurrences o SET
    level = i.level, suppressed = i.suppressed, active_since = i.active_since, tier = i.tier
FROM incidents i
WHERE i.id = o.incident_id AND o.n = i.occurrences;
CREATE UNIQUE INDEX occurrences_incident_n ON occurrences(incident_id, n);

-- a breach belongs to one occurrence: a reopened incident can breach the same clock again
ALTER TABLE breaches ADD COLUMN occurrence INTEGER NOT NULL DEFAULT 1;
UPDATE breaches b SET occurrence = COALESCE((SELECT MAX(o.n) FROM occurrences o
    WHERE o.incident_id = b.incident_id AND o.ts <= b.recorded_at), 1);
ALTER TABLE breaches DROP CONSTRAINT breaches_pkey;
ALTER TABLE breaches ADD PRIMARY KEY (incident_id, occurrence, clock, level);

ALTER TABLE incidents ADD COLUMN ticket TEXT;
ALTER TABLE incidents ADD COLUMN source TEXT NOT NULL DEFAULT 'rules';
ALTER TABLE incidents ADD COLUMN reporter TEXT;
ALTER TABLE incidents ADD COLUMN contact TEXT;
ALTER TABLE incidents ADD COLUMN description TEXT;
ALTER TABLE incidents ADD COLUMN recheck INTEGER NOT NULL DEFAULT 0;
ALTER TABLE incidents ADD COLUMN accepted_until DOUBLE PRECISION;
ALTER TABLE incidents ADD COLUMN accepted_by TEXT;
CREATE UNIQUE INDEX incidents_ticket ON incidents(ticket);
CREATE INDEX incidents_recheck ON incidents(recheck) WHERE recheck = 1;
-- tickets recorded before numbers existed get the default prefix and the year they opened (UTC)
UPDATE incidents SET ticket = 'RW-' || to_char(to_timestamp(opened_at) AT TIME ZONE 'UTC', 'YYYY')
    || '-' || lpad(id::text, 6, '0');
