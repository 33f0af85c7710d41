-- 001_initial.sql — the first helpgate schema: customers, agents, tickets,
-- messages, attachments, IMAP mailbox state, chat sessions, the outbox and the
-- audit log. Applied by `helpgatectl migrate` in one transaction.
--
-- Idempotent intake rests on three unique keys:
--   messages (message_id) for inbound mail   → the same Message-ID stored once
--   intake_seen (mailbox, uidvalidity, uid)  → an IMAP message fetched again is a no-op
--   messages (chat_session_id, chat_client_id) → a chat resend is a no-op

CREATE TABLE customers (
    id              bigserial PRIMARY KEY,
    email           text NOT NULL CHECK (email <> ''),
    name            text,
    company         text,
    tier            text NOT NULL DEFAULT 'standard'
                    CHECK (tier IN ('standard', 'premium', 'vip')),
    custom_code     boolean NOT NULL DEFAULT false,
    custom_code_notes text,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX customers_email_key ON customers (lower(email));

CREATE TABLE agents (
    id              bigserial PRIMARY KEY,
    email           text NOT NULL CHECK (email <> ''),
    name            text,
    team            text NOT NULL CHECK (team IN ('L1', 'L2', 'L3')),
    is_lead         boolean NOT NULL DEFAULT false,
    active          boolean NOT NULL DEFAULT true,
    created_at      timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX agents_email_key ON agents (lower(email));

-- Further addresses an agent answers from (aliases).
CREATE TABLE agent_aliases (
    email           text NOT NULL CHECK (email <> ''),
    agent_id        bigint NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
    created_at      timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX agent_aliases_email_key ON agent_aliases (lower(email));

CREATE SEQUENCE ticket_number_seq START WITH 1000;

CREATE TABLE tickets (
    id              bigserial PRIMARY KEY,
    number          bigint NOT NULL UNIQUE DEFAULT nextval('ticket_number_seq'),
    subject         text NOT NULL DEFAULT '',
    status          text NOT NULL DEFAULT 'new'
                    CHECK (status IN ('new', 'open', 'pending', 'resolved', 'closed')),
    tier            text NOT NULL DEFAULT 'L1' CHECK (tier IN ('L1', 'L2', 'L3')),
    priority        text NOT NULL DEFAULT 'normal'
                    CHECK (priority IN ('low', 'normal', 'high', 'urgent')),
    channel         text NOT NULL CHECK (channel IN ('email', 'chat')),
    queue           text,
    tags            text[] NOT NULL DEFAULT '{}',
    customer_id     bigint REFERENCES customers (id),
    assignee_id     bigint REFERENCES agents (id),
    support_address text,                  -- which support address it came in on
    matched_rule    text,                  -- rule name
    matched_rule_at text,                  -- file:line of that rule
    route_actions   jsonb,                 -- the actions the rules took
    sla_policy      text,
    merged_into     bigint REFERENCES tickets (id),
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    acknowledged_at timestamptz,
    first_response_at timestamptz,
    first_response_due timestamptz,
    resolution_due  timestamptz,
    resolved_at     timestamptz,
    closed_at       timestamptz
);
CREATE INDEX tickets_customer_idx ON tickets (customer_id);
CREATE INDEX tickets_open_idx ON tickets (tier, status) WHERE status IN ('new', 'open', 'pending');
CREATE INDEX tickets_created_idx ON tickets (created_at);

-- Raw sources, kept apart so that retention can purge them on their own.
CREATE TABLE raw_messages (
    id              bigserial PRIMARY KEY,
    sha256          bytea NOT NULL UNIQUE,
    size            bigint NOT NULL,
    data            bytea,                  -- NULL once purged by retention
    created_at      timestamptz NOT NULL DEFAULT now(),
    purged_at       timestamptz
);

CREATE TABLE chat_sessions (
    id              bigserial PRIMARY KEY,
    ticket_id       bigint REFERENCES tickets (id),
    resume_token_sha256 bytea NOT NULL UNIQUE,
    visitor_name    text,
    visitor_email   text,
    peer_address    inet,
    created_at      timestamptz NOT NULL DEFAULT now(),
    last_seen_at    timestamptz NOT NULL DEFAULT now(),
    closed_at       timestamptz
);

CREATE TABLE messages (
    id              bigserial PRIMARY KEY,
    ticket_id       bigint NOT NULL REFERENCES tickets (id),
    direction       text NOT NULL CHECK (direction IN ('in', 'out', 'note')),
    channel         text NOT NULL CHECK (channel IN ('email', 'chat')),
    author_customer_id bigint REFERENCES customers (id),
    author_agent_id bigint REFERENCES agents (id),
    from_address    text,
    from_name       text,
    message_id      text,                   -- RFC 5322 Message-ID without <>
    in_reply_to     text,
    references_ids  text[] NOT NULL DEFAULT '{}',
    subject         text,
    body_text       text,
    body_html       text,
    reply_text      text,
    auto_kind       text CHECK (auto_kind IN ('autoreply', 'bounce', 'list', 'bulk')),
    raw_id          bigint REFERENCES raw_messages (id),
    parse_warnings  text[] NOT NULL DEFAULT '{}',
    chat_session_id bigint REFERENCES chat_sessions (id),
    chat_client_id  text,
    created_at      timestamptz NOT NULL DEFAULT now(),
    sent_at         timestamptz             -- the Date: header, or the chat send time
);
CREATE UNIQUE INDEX messages_inbound_message_id_key ON messages (message_id)
    WHERE direction = 'in' AND message_id IS NOT NULL;
CREATE INDEX messages_message_id_idx ON messages (message_id);
CREATE UNIQUE INDEX messages_chat_client_key ON messages (chat_session_id, chat_client_id)
    WHERE chat_client_id IS NOT NULL;
CREATE INDEX messages_ticket_idx ON messages (ticket_id, created_at);

-- Attachment contents, stored once per SHA-256 however often they arrive.
CREATE TABLE attachment_blobs (
    sha256          bytea PRIMARY KEY,
    size            bigint NOT NULL,
    data            bytea,                  -- NULL once purged by retention
    created_at      timestamptz NOT NULL DEFAULT now(),
    purged_at       timestamptz
);

CREATE TABLE attachments (
    id              bigserial PRIMARY KEY,
    message_id      bigint NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
    blob_sha256     bytea NOT NULL REFERENCES attachment_blobs (sha256),
    filename        text,
    content_type    text NOT NULL DEFAULT 'application/octet-stream',
    content_id      text,
    is_inline       boolean NOT NULL DEFAULT false,
    size            bigint NOT NULL
);
CREATE INDEX attachments_message_idx ON attachments (message_id);
CREATE INDEX attachments_blob_idx ON attachments (blob_sha256);

-- Per-mailbox IMAP position and lease (see ARCHITECTURE.md, principle 4).
CREATE TABLE mailbox_state (
    mailbox         text PRIMARY KEY,       -- the [mailbox NAME] of the config
    uidvalidity     bigint,
    last_uid        bigint NOT NULL DEFAULT 0,
    lease_holder    text,                   -- instance name holding the lease
    lease_renewed_at timestamptz,
    updated_at      timestamptz NOT NULL DEFAULT now()
);

-- Every IMAP message stored, by its position: a re-fetch is a no-op.
CREATE TABLE intake_seen (
    mailbox         text NOT NULL,
    uidvalidity     bigint NOT NULL,
    uid             bigint NOT NULL,
    message_row_id  bigint REFERENCES messages (id) ON DELETE SET NULL,
    seen_at         timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (mailbox, uidvalidity, uid)
);

-- Work that leaves the process, written in the transaction that caused it.
CREATE TABLE outbox (
    id              bigserial PRIMARY KEY,
    kind            text NOT NULL CHECK (kind IN ('ack', 'notify', 'relay', 'chat_push', 'notice')),
    ticket_id       bigint REFERENCES tickets (id),
    message_row_id  bigint REFERENCES messages (id),
    mail_from       text,
    recipients      text[] NOT NULL DEFAULT '{}',
    message_id      text UNIQUE,            -- stable Message-ID of the mail we send
    payload         bytea,                  -- the rendered RFC 5322 message, or a chat frame
    status          text NOT NULL DEFAULT 'queued'
                    CHECK (status IN ('queued', 'sent', 'failed', 'cancelled')),
    attempts        integer NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    last_error      text,
    created_at      timestamptz NOT NULL DEFAULT now(),
    sent_at         timestamptz
);
CREATE INDEX outbox_due_idx ON outbox (next_attempt_at) WHERE status = 'queued';

-- Append-only record of every change: who, what, when.
CREATE TABLE audit_log (
    id              bigserial PRIMARY KEY,
    at              timestamptz NOT NULL DEFAULT now(),
    actor           text NOT NULL,          -- 'system', 'agent:EMAIL', 'ctl:USER', 'rules'
    action          text NOT NULL,          -- 'ticket.create', 'ticket.route', ...
    ticket_id       bigint,
    customer_id     bigint,
    details         jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX audit_log_ticket_idx ON audit_log (ticket_id);
CREATE INDEX audit_log_at_idx ON audit_log (at);

CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only: % is not allowed', TG_OP
        USING HINT = 'record a new audit row instead of changing an old one';
END;
$$;
CREATE TRIGGER audit_log_append_only
    BEFORE UPDATE OR DELETE OR TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();
