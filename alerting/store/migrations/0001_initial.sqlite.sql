-- The ticket store as roomwatch 0.1 made it (PRAGMA user_version 1).
CREATE TABLE incidents (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    key TEXT NOT NULL,
    rule TEXT NOT NULL,
    grp TEXT NOT NULL DEFAULT '',
    device TEXT NOT NULL,
    metric TEXT NOT NULL DEFAULT '',
    site TEXT,
    labels TEXT NOT NULL DEFAULT '{}',
    level INTEGER NOT NULL,
    state TEXT NOT NULL,
    suppressed TEXT,
    stale INTEGER NOT NULL DEFAULT 0,
    summary TEXT NOT NULL DEFAULT '{}',
    runbook TEXT,
    value TEXT,
    since REAL NOT NULL,
    opened_at REAL NOT NULL,
    active_since REAL NOT NULL,
    level_since REAL NOT NULL,
    updated_at REAL NOT NULL,
    acknowledged_at REAL,
    acknowledged_by TEXT,
    arrived_at REAL,
    arrived_by TEXT,
    resolved_at REAL,
    resolved_by TEXT,
    closed_at REAL,
    assignee TEXT,
    occurrences INTEGER NOT NULL DEFAULT 1,
    problem_id INTEGER,
    tier INTEGER NOT NULL DEFAULT 0,
    reminders INTEGER NOT NULL DEFAULT 0,
    last_notified_at REAL
);
-- one open incident per key, enforced by the database (DESIGN §10)
CREATE UNIQUE INDEX incidents_active_key ON incidents(key)
    WHERE state IN ('open', 'acknowledged');
CREATE INDEX incidents_state ON incidents(state);
CREATE INDEX incidents_key ON incidents(key, resolved_at);

CREATE TABLE audit (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    incident_id INTEGER,
    problem_id INTEGER,
    ts REAL NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    detail TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX audit_incident ON audit(incident_id);
-- append-only: the log of who changed what cannot be rewritten through SQL either
CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit
    BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END;
CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit
    BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END;

CREATE TABLE notes (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    incident_id INTEGER NOT NULL REFERENCES incidents(id),
    ts REAL NOT NULL,
    author TEXT NOT NULL,
    text TEXT NOT NULL
);

CREATE TABLE breaches (
    incident_id INTEGER NOT NULL REFERENCES incidents(id),
    clock TEXT NOT NULL,
    level INTEGER NOT NULL,
    due REAL NOT NULL,
    recorded_at REAL NOT NULL,
    PRIMARY KEY (incident_id, clock, level)
);

CREATE TABLE occurrences (
    key TEXT NOT NULL,
    incident_id INTEGER NOT NULL,
    ts REAL NOT NULL
);
CREATE INDEX occurrences_key ON occurrences(key, ts);

CREATE TABLE problems (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    key TEXT NOT NULL UNIQUE,
    state TEXT NOT NULL DEFAULT 'open',
    opened_at REAL NOT NULL,
    updated_at REAL NOT NULL,
    occurrences INTEGER NOT NULL,
    root_cause TEXT,
    workaround TEXT
);

CREATE TABLE outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    incident_id INTEGER,
    notifier TEXT NOT NULL,
    kind TEXT NOT NULL,
    dedup TEXT NOT NULL UNIQUE,
    group_key TEXT NOT NULL DEFAULT '',
    recipients TEXT NOT NULL DEFAULT '{}',
    payload TEXT NOT NULL,
    created REAL NOT NULL,
    due REAL NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    state TEXT NOT NULL DEFAULT 'pending',
    sent_at REAL
);
CREATE INDEX outbox_pending ON outbox(state, due);
CREATE INDEX outbox_incident ON outbox(incident_id);

CREATE TABLE sent_log (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    outbox_id INTEGER NOT NULL UNIQUE,
    incident_id INTEGER,
    notifier TEXT NOT NULL,
    kind TEXT NOT NULL,
    recipients TEXT NOT NULL,
    ts REAL NOT NULL
);
