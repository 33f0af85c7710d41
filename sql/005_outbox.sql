-- 005_outbox.sql — wake the senders when mail is queued.
--
-- Every helpgated's sender LISTENs on "helpgate_outbox"; a statement that
-- queues mail NOTIFYs once (delivered at its commit), so an acknowledgement
-- leaves within milliseconds instead of at the next poll. The senders still
-- look every second for retries that fell due.
CREATE FUNCTION helpgate_outbox_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('helpgate_outbox', '');
    RETURN NULL;
END;
$$;
CREATE TRIGGER outbox_notify AFTER INSERT ON outbox
    FOR EACH STATEMENT EXECUTE FUNCTION helpgate_outbox_notify();
