-- The desk's mailbox (issue 16): every mail the desk took in or sent, by Message-ID, so a mail
-- is turned into a ticket or a note once only (also across a restart, and when the IMAP flag
-- could not be set after the ticket was stored), and a reply finds its ticket through
-- In-Reply-To / References. Satisfaction surveys: one answer per occurrence of a ticket.
CREATE TABLE desk_mail (
    message_id TEXT PRIMARY KEY,
    incident_id BIGINT,
    direction TEXT NOT NULL,  -- in | out
    action TEXT NOT NULL,     -- opened | note | reply | ignored
    sender TEXT,
    ts DOUBLE PRECISION NOT NULL
);
CREATE INDEX desk_mail_incident ON desk_mail(incident_id);

CREATE TABLE surveys (
    incident_id BIGINT NOT NULL REFERENCES incidents(id),
    occurrence INTEGER NOT NULL,
    asked_at DOUBLE PRECISION NOT NULL,
    answered_at DOUBLE PRECISION,
    score INTEGER,
    comment TEXT,
    via TEXT,
    PRIMARY KEY (incident_id, occurrence)
);
