-- The outbox's sent rows are counted here as they change state, so the tick's figures
-- (alert_outbox_sent_total) cost what is pending, not the whole history of sent rows. The
-- trigger sees every write (the outbox code, `roomwatch store copy`, a hand edit), so the
-- figure stays what COUNT(*) of the sent rows would say. Only a change into or out of
-- 'sent' touches the tally row: queueing (every fault's notifications) does not wait on it.
-- Pending and failed rows are counted from the table through the outbox_pending index.
CREATE TABLE outbox_tally (
    state TEXT PRIMARY KEY,
    n BIGINT NOT NULL
);
INSERT INTO outbox_tally (state, n) SELECT 'sent', COUNT(*) FROM outbox WHERE state = 'sent';

CREATE FUNCTION outbox_tally_sent() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    delta BIGINT := 0;
BEGIN
    IF TG_OP <> 'DELETE' THEN
        IF NEW.state = 'sent' THEN
            delta := delta + 1;
        END IF;
    END IF;
    IF TG_OP <> 'INSERT' THEN
        IF OLD.state = 'sent' THEN
            delta := delta - 1;
        END IF;
    END IF;
    IF delta <> 0 THEN
        UPDATE outbox_tally SET n = n + delta WHERE state = 'sent';
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER outbox_tally_sent AFTER INSERT OR DELETE OR UPDATE OF state ON outbox
FOR EACH ROW EXECUTE PROCEDURE outbox_tally_sent();
