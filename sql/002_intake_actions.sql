-- 002_intake_actions.sql — remember how far the after-ingest action (flag or
-- move on the IMAP server) has gone, so that a crash between the database
-- commit and the server-side action is repaired on the next connection.
ALTER TABLE mailbox_state ADD COLUMN acted_uid bigint NOT NULL DEFAULT 0;
COMMENT ON COLUMN mailbox_state.acted_uid IS
    'highest UID whose after-ingest action (flag/move) is known to be done';
