-- The outbox's sent rows are counted here as they change state, so the tick's figures
-- (alert_outbox_sent_total) cost what is pending, not the whole history of sent rows. The
-- triggers see every write (the outbox code, `roomwatch store copy`, a hand edit), so the
-- figure stays what COUNT(*) of the sent rows would say. Pending and failed rows are
-- counted from the table through the outbox_pending index (state, due).
CREATE TABLE outbox_tally (
    state TEXT PRIMARY KEY,
    n INTEGER NOT NULL
);
INSERT INTO outbox_tally (state, n) SELECT 'sent', COUNT(*) FROM outbox WHERE state = 'sent';

CREATE TRIGGER outbox_tally_insert AFTER INSERT ON outbox WHEN NEW.state = 'sent'
BEGIN
    UPDATE outbox_tally SET n = n + 1 WHERE state = 'sent';
END;
CREATE TRIGGER outbox_tally_update AFTER UPDATE OF state ON outbox
WHEN (OLD.state = 'sent') <> (NEW.state = 'sent')
BEGIN
    UPDATE outbox_tally SET n = n + (CASE WHEN NEW.state = 'sent' THEN 1 ELSE -1 END)
    WHERE state = 'sent';
END;
CREATE TRIGGER outbox_tally_delete AFTER DELETE ON outbox WHEN OLD.state = 'sent'
BEGIN
    UPDATE outbox_tally SET n = n - 1 WHERE state = 'sent';
END;
