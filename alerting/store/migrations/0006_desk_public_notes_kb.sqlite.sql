-- The reporter's view shows public notes only (issue 16): a note is internal unless it is
-- written for the reporter (their own mail, or a note marked public). The knowledge base:
-- known errors and their workarounds, matched to new incidents by rule and device kind.
ALTER TABLE notes ADD COLUMN public INTEGER NOT NULL DEFAULT 0;

CREATE TABLE kb_entries (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    title TEXT NOT NULL,
    symptom TEXT NOT NULL DEFAULT '',
    workaround TEXT NOT NULL,
    rule TEXT,              -- the rule it is about (NULL: any)
    device_kind TEXT,       -- the kind of device (NULL: any)
    source TEXT NOT NULL,   -- manual | resolution | problem
    source_id INTEGER,      -- the incident or problem it came from
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL,
    author TEXT NOT NULL
);
CREATE INDEX kb_entries_rule ON kb_entries(rule, device_kind);
