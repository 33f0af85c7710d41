-- 013_retention.sql — retention (archive, then purge what is due) and a
-- customer's data (export, erase). daemon/retention.c and daemon/ctl_data.c
-- call these functions; see helpgatectl(8), "Retention" and "Personal data".
--
-- Retention, per data class (each with its own number of days, 0 = forever):
--   tickets      closed tickets: the whole ticket is archived as JSON, then
--                deleted with its messages, attachments, outbox rows and chat
--                sessions, and the raw sources and attachment contents no
--                other message uses. Audit rows stay (append-only; they hold
--                ids).
--   attachments  attachment contents (attachment_blobs.data) that no message
--                younger than the cutoff uses: data NULL, purged_at set.
--   raw          raw sources (raw_messages.data): data NULL, purged_at set;
--                the row stays, messages name it.
-- helpgate_retention_due_*() choose and lock what is due,
-- helpgate_*_record() give one JSON Lines record per archived thing,
-- helpgate_retention_purge_tickets() deletes archived tickets.
--
-- Erasure: helpgate_erase_customer() removes what helpgate holds about one
-- address in one transaction, and writes one audit row 'customer.erase'
-- holding the SHA-256 of the lower-cased address, never the address.
--
-- The one exception to the append-only audit log: audit rows that mention
-- the erased customer have their details redacted (the customer's address,
-- names, company and notes replaced by "[erased]"). The row trigger
-- audit_log_redact_only() lets an UPDATE through only when all of these hold:
--   * the transaction-local setting helpgate.audit_redaction is set (only
--     helpgate_erase_customer() sets it, and clears it before it returns);
--   * the 'customer.erase' row it names exists, was written in this same
--     transaction (its at = now()) and holds the hash of the address named
--     in the setting; so a redaction never commits without its erase row;
--   * the UPDATE runs as the owner of helpgate_erase_customer() (inside the
--     SECURITY DEFINER function it always does);
--   * only details changes, and it becomes exactly
--     helpgate_redact_jsonb(old details, the erased terms) — the trigger
--     recomputes it, so nothing but the erased customer's data can go.
-- DELETE and TRUNCATE stay refused, whoever asks (the statement trigger of
-- sql/001, which refuses any UPDATE outside an erasure too). A role that owns
-- the table can always drop the triggers: the guard is against mistakes and
-- the application, not against the table's owner.

-- ---------------------------------------------------------------------------
-- Indexes the deletions need: each deleted message, ticket or raw source is
-- checked against the rows that may reference it (foreign keys), which
-- without an index is a scan of the whole referencing table per row.
CREATE INDEX messages_raw_idx ON messages (raw_id) WHERE raw_id IS NOT NULL;
CREATE INDEX messages_chat_session_idx ON messages (chat_session_id) WHERE chat_session_id IS NOT NULL;
CREATE INDEX outbox_ticket_idx ON outbox (ticket_id) WHERE ticket_id IS NOT NULL;
CREATE INDEX outbox_message_idx ON outbox (message_row_id) WHERE message_row_id IS NOT NULL;
CREATE INDEX intake_seen_message_idx ON intake_seen (message_row_id) WHERE message_row_id IS NOT NULL;
CREATE INDEX tickets_merged_into_idx ON tickets (merged_into) WHERE merged_into IS NOT NULL;
-- What retention looks for every day.
CREATE INDEX tickets_closed_idx ON tickets (closed_at) WHERE status = 'closed';
CREATE INDEX raw_messages_unpurged_idx ON raw_messages (created_at) WHERE data IS NOT NULL;
CREATE INDEX attachment_blobs_unpurged_idx ON attachment_blobs (created_at) WHERE data IS NOT NULL;

-- An attachment whose content retention purged arrives again (the same
-- SHA-256): intake's INSERT ... ON CONFLICT DO NOTHING would leave the new
-- message's attachment without content. A BEFORE INSERT trigger runs before
-- the conflict is detected, so it puts the content back (it waits for a
-- retention run holding the row, then sees the purge).
CREATE FUNCTION attachment_blobs_restore() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.data IS NOT NULL THEN
        UPDATE attachment_blobs b SET data = NEW.data, purged_at = NULL
         WHERE b.sha256 = NEW.sha256 AND b.data IS NULL;
    END IF;
    RETURN NEW;
END;
$$;
CREATE TRIGGER attachment_blobs_restore BEFORE INSERT ON attachment_blobs
    FOR EACH ROW EXECUTE FUNCTION attachment_blobs_restore();

-- ---------------------------------------------------------------------------
-- JSON records: what an archive line or an export holds. bytea goes out as
-- base64 without line breaks, SHA-256 as hex.

CREATE FUNCTION helpgate_base64(p bytea) RETURNS text LANGUAGE sql IMMUTABLE AS $$
    SELECT translate(encode(p, 'base64'), E'\n', '');
$$;

-- One message: its row, its attachments (metadata) and its raw source (id,
-- hash, size). With P_BATCH (the tickets being archived), the contents of
-- the raw source and attachments that only those tickets use are included
-- (data_base64): deleting the tickets deletes them.
CREATE FUNCTION helpgate_message_record(p_message bigint, p_batch bigint[]) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT to_jsonb(m) || jsonb_build_object(
        'raw', (SELECT jsonb_build_object('id', r.id, 'sha256', encode(r.sha256, 'hex'), 'size', r.size,
                                          'created_at', r.created_at, 'purged_at', r.purged_at)
                       || CASE WHEN p_batch IS NOT NULL AND r.data IS NOT NULL
                                    AND NOT EXISTS (SELECT 1 FROM messages o WHERE o.raw_id = r.id
                                                       AND NOT o.ticket_id = ANY (p_batch))
                               THEN jsonb_build_object('data_base64', helpgate_base64(r.data))
                               ELSE '{}'::jsonb END
                  FROM raw_messages r WHERE r.id = m.raw_id),
        'attachments', coalesce((
            SELECT jsonb_agg(jsonb_build_object('id', a.id, 'sha256', encode(a.blob_sha256, 'hex'),
                                                'filename', a.filename, 'content_type', a.content_type,
                                                'content_id', a.content_id, 'inline', a.is_inline, 'size', a.size,
                                                'purged_at', b.purged_at)
                             || CASE WHEN p_batch IS NOT NULL AND b.data IS NOT NULL
                                          AND NOT EXISTS (SELECT 1 FROM attachments oa
                                                            JOIN messages om ON om.id = oa.message_id
                                                           WHERE oa.blob_sha256 = b.sha256
                                                             AND NOT om.ticket_id = ANY (p_batch))
                                     THEN jsonb_build_object('data_base64', helpgate_base64(b.data))
                                     ELSE '{}'::jsonb END
                             ORDER BY a.id)
              FROM attachments a JOIN attachment_blobs b ON b.sha256 = a.blob_sha256
             WHERE a.message_id = m.id), '[]'::jsonb))
      FROM messages m WHERE m.id = p_message;
$$;

-- One ticket with everything on it: messages, outbox rows (the mail sent, as
-- base64), chat sessions (without the resume token's hash), and who the
-- customer was. P_BATCH as for helpgate_message_record().
CREATE FUNCTION helpgate_ticket_record(p_ticket bigint, p_batch bigint[]) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object(
        'ticket', to_jsonb(t),
        'customer', (SELECT jsonb_build_object('id', c.id, 'email', c.email, 'name', c.name, 'company', c.company)
                       FROM customers c WHERE c.id = t.customer_id),
        'messages', coalesce((SELECT jsonb_agg(helpgate_message_record(m.id, p_batch) ORDER BY m.created_at, m.id)
                                FROM messages m WHERE m.ticket_id = t.id), '[]'::jsonb),
        'outbox', coalesce((SELECT jsonb_agg((to_jsonb(o) - 'payload')
                                             || jsonb_build_object('payload_base64', helpgate_base64(o.payload))
                                             ORDER BY o.id)
                              FROM outbox o WHERE o.ticket_id = t.id), '[]'::jsonb),
        'chat_sessions', coalesce((SELECT jsonb_agg(to_jsonb(s) - 'resume_token_sha256' ORDER BY s.id)
                                     FROM chat_sessions s WHERE s.ticket_id = t.id), '[]'::jsonb))
      FROM tickets t WHERE t.id = p_ticket;
$$;

-- One raw source, with the messages that name it.
CREATE FUNCTION helpgate_raw_record(p_raw bigint) RETURNS jsonb LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object(
        'id', r.id, 'sha256', encode(r.sha256, 'hex'), 'size', r.size, 'created_at', r.created_at,
        'messages', coalesce((SELECT jsonb_agg(jsonb_build_object('id', m.id, 'ticket_id', m.ticket_id,
                                                                  'ticket_number', t.number,
                                                                  'message_id', m.message_id) ORDER BY m.id)
                                FROM messages m JOIN tickets t ON t.id = m.ticket_id WHERE m.raw_id = r.id),
                             '[]'::jsonb),
        'data_base64', helpgate_base64(r.data))
      FROM raw_messages r WHERE r.id = p_raw;
$$;

-- One attachment content, with every use of it.
CREATE FUNCTION helpgate_blob_record(p_sha256 bytea) RETURNS jsonb LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object(
        'sha256', encode(b.sha256, 'hex'), 'size', b.size, 'created_at', b.created_at,
        'uses', coalesce((SELECT jsonb_agg(jsonb_build_object('attachment_id', a.id, 'message_id', m.id,
                                                              'ticket_id', m.ticket_id, 'ticket_number', t.number,
                                                              'filename', a.filename,
                                                              'content_type', a.content_type,
                                                              'message_created_at', m.created_at) ORDER BY a.id)
                            FROM attachments a JOIN messages m ON m.id = a.message_id
                            JOIN tickets t ON t.id = m.ticket_id
                           WHERE a.blob_sha256 = b.sha256), '[]'::jsonb),
        'data_base64', helpgate_base64(b.data))
      FROM attachment_blobs b WHERE b.sha256 = p_sha256;
$$;

-- ---------------------------------------------------------------------------
-- What is due, locked FOR UPDATE until the transaction ends. Each returns
-- at most P_LIMIT keys (with the content's bytes where there is one); MORE is
-- true on every row when more was due than that.

-- Tickets closed before P_CUTOFF. A ticket other tickets were merged into
-- goes only together with all of them (merged_into points at it).
CREATE FUNCTION helpgate_retention_due_tickets(p_cutoff timestamptz, p_limit integer,
                                               OUT key text, OUT bytes bigint, OUT more boolean)
RETURNS SETOF record LANGUAGE plpgsql AS $$
DECLARE
    v_ids bigint[];
    v_blocked bigint[];
    v_more boolean;
BEGIN
    v_ids := ARRAY(SELECT t.id FROM tickets t WHERE t.status = 'closed' AND t.closed_at < p_cutoff
                    ORDER BY t.closed_at, t.id LIMIT p_limit + 1 FOR UPDATE);
    v_more := cardinality(v_ids) > p_limit;
    v_ids := v_ids[1:p_limit];
    LOOP
        v_blocked := ARRAY(SELECT DISTINCT c.merged_into FROM tickets c
                            WHERE c.merged_into = ANY (v_ids) AND NOT c.id = ANY (v_ids));
        EXIT WHEN cardinality(v_blocked) = 0;
        v_ids := ARRAY(SELECT u FROM unnest(v_ids) u WHERE NOT u = ANY (v_blocked));
    END LOOP;
    RETURN QUERY SELECT u::text, 0::bigint, v_more FROM unnest(v_ids) u ORDER BY u;
END;
$$;

-- Attachment contents that no message received since P_CUTOFF uses.
CREATE FUNCTION helpgate_retention_due_attachments(p_cutoff timestamptz, p_limit integer,
                                                   OUT key text, OUT bytes bigint, OUT more boolean)
RETURNS SETOF record LANGUAGE sql AS $$
    WITH due AS (
        SELECT b.sha256, b.size, b.created_at FROM attachment_blobs b
         WHERE b.data IS NOT NULL AND b.created_at < p_cutoff
           AND NOT EXISTS (SELECT 1 FROM attachments a JOIN messages m ON m.id = a.message_id
                            WHERE a.blob_sha256 = b.sha256 AND m.created_at >= p_cutoff)
         ORDER BY b.created_at, b.sha256 LIMIT p_limit + 1 FOR UPDATE OF b)
    SELECT encode(d.sha256, 'hex'), d.size, (SELECT count(*) FROM due) > p_limit
      FROM due d ORDER BY d.created_at, d.sha256 LIMIT p_limit;
$$;

-- Raw sources received before P_CUTOFF.
CREATE FUNCTION helpgate_retention_due_raw(p_cutoff timestamptz, p_limit integer,
                                           OUT key text, OUT bytes bigint, OUT more boolean)
RETURNS SETOF record LANGUAGE sql AS $$
    WITH due AS (
        SELECT r.id, r.size FROM raw_messages r WHERE r.data IS NOT NULL AND r.created_at < p_cutoff
         ORDER BY r.id LIMIT p_limit + 1 FOR UPDATE)
    SELECT d.id::text, d.size, (SELECT count(*) FROM due) > p_limit FROM due d ORDER BY d.id LIMIT p_limit;
$$;

-- Deletes archived tickets and everything on them; returns what went.
CREATE FUNCTION helpgate_retention_purge_tickets(p_ids bigint[]) RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
    v_messages bigint[] := ARRAY(SELECT m.id FROM messages m WHERE m.ticket_id = ANY (p_ids));
    v_raws bigint[];
    v_blobs bytea[];
    v_sessions bigint[] := ARRAY(SELECT s.id FROM chat_sessions s WHERE s.ticket_id = ANY (p_ids));
    n_tickets bigint;
    n_outbox bigint;
    n_attachments bigint;
    n_raw bigint;
    n_blobs bigint;
BEGIN
    v_raws := ARRAY(SELECT DISTINCT m.raw_id FROM messages m WHERE m.id = ANY (v_messages) AND m.raw_id IS NOT NULL);
    v_blobs := ARRAY(SELECT DISTINCT a.blob_sha256 FROM attachments a WHERE a.message_id = ANY (v_messages));
    SELECT count(*) INTO n_attachments FROM attachments a WHERE a.message_id = ANY (v_messages);
    DELETE FROM outbox o WHERE o.ticket_id = ANY (p_ids) OR o.message_row_id = ANY (v_messages);
    GET DIAGNOSTICS n_outbox = ROW_COUNT;
    -- A message of another ticket in one of these sessions (after a merge) loses only the link.
    UPDATE messages m SET chat_session_id = NULL, chat_client_id = NULL
     WHERE m.chat_session_id = ANY (v_sessions) AND NOT m.id = ANY (v_messages);
    DELETE FROM messages m WHERE m.id = ANY (v_messages); -- attachments cascade, intake_seen keeps the position
    DELETE FROM chat_sessions s WHERE s.id = ANY (v_sessions);
    DELETE FROM tickets t WHERE t.id = ANY (p_ids);
    GET DIAGNOSTICS n_tickets = ROW_COUNT;
    DELETE FROM raw_messages r WHERE r.id = ANY (v_raws) AND NOT EXISTS (SELECT 1 FROM messages m WHERE m.raw_id = r.id);
    GET DIAGNOSTICS n_raw = ROW_COUNT;
    DELETE FROM attachment_blobs b WHERE b.sha256 = ANY (v_blobs)
       AND NOT EXISTS (SELECT 1 FROM attachments a WHERE a.blob_sha256 = b.sha256);
    GET DIAGNOSTICS n_blobs = ROW_COUNT;
    RETURN jsonb_build_object('tickets', n_tickets, 'messages', cardinality(v_messages),
                              'attachments', n_attachments, 'outbox', n_outbox,
                              'chat_sessions', cardinality(v_sessions), 'raw_sources', n_raw,
                              'attachment_blobs', n_blobs);
END;
$$;

-- ---------------------------------------------------------------------------
-- A customer's data.

-- P_TEXT with every case-insensitive occurrence of each of P_TERMS (longest
-- first) replaced by "[erased]". A term shorter than 3 characters replaces
-- only a whole text equal to it (a short name must not eat other words).
CREATE FUNCTION helpgate_redact_text(p_text text, p_terms text[]) RETURNS text
LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
    v_term text;
    v_out text := p_text;
BEGIN
    IF p_text IS NULL THEN
        RETURN NULL;
    END IF;
    FOR v_term IN SELECT d.t FROM (SELECT DISTINCT t FROM unnest(p_terms) t WHERE coalesce(btrim(t), '') <> '') d
                   ORDER BY length(d.t) DESC, d.t LOOP
        IF length(v_term) < 3 THEN
            IF lower(btrim(v_out)) = lower(v_term) THEN
                v_out := '[erased]';
            END IF;
        ELSE
            v_out := regexp_replace(v_out, regexp_replace(v_term, '([^[:alnum:][:space:]])', '\\\1', 'g'),
                                    '[erased]', 'gi');
        END IF;
    END LOOP;
    RETURN v_out;
END;
$$;

-- helpgate_redact_text() applied to every string (and key) in a JSON value.
CREATE FUNCTION helpgate_redact_jsonb(p jsonb, p_terms text[]) RETURNS jsonb
LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
    CASE jsonb_typeof(p)
    WHEN 'object' THEN
        RETURN coalesce((SELECT jsonb_object_agg(helpgate_redact_text(e.key, p_terms),
                                                 helpgate_redact_jsonb(e.value, p_terms))
                           FROM jsonb_each(p) e), '{}'::jsonb);
    WHEN 'array' THEN
        RETURN coalesce((SELECT jsonb_agg(helpgate_redact_jsonb(e.value, p_terms) ORDER BY e.n)
                           FROM jsonb_array_elements(p) WITH ORDINALITY AS e(value, n)), '[]'::jsonb);
    WHEN 'string' THEN
        RETURN to_jsonb(helpgate_redact_text(p #>> '{}', p_terms));
    ELSE
        RETURN p;
    END CASE;
END;
$$;

-- A Message-ID that names the erased address becomes a hash of itself.
CREATE FUNCTION helpgate_erase_message_id(p_id text, p_email text) RETURNS text LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN strpos(lower(p_id), p_email) > 0
                THEN encode(sha256(convert_to(p_id, 'UTF8')), 'hex') || '@erased.invalid' ELSE p_id END;
$$;

-- Everything held about one address, as one JSON document: the customer,
-- their tickets (helpgate_ticket_record() without contents), their messages
-- on other tickets, chat sessions (without token hashes), mail to them that
-- is not on their tickets, and the audit rows about them. NULL keys and
-- empty arrays when nothing is held.
CREATE FUNCTION helpgate_customer_export(p_email text) RETURNS jsonb LANGUAGE plpgsql STABLE AS $$
DECLARE
    v_email text := lower(btrim(p_email));
    v_customer customers%ROWTYPE;
    v_tickets bigint[];
BEGIN
    SELECT * INTO v_customer FROM customers c WHERE lower(c.email) = v_email;
    v_tickets := ARRAY(SELECT t.id FROM tickets t WHERE t.customer_id = v_customer.id ORDER BY t.id);
    RETURN jsonb_build_object(
        'format', 'helpgate-customer-export', 'version', 1, 'exported_at', now(), 'email', p_email,
        'customer', CASE WHEN v_customer.id IS NOT NULL THEN to_jsonb(v_customer) END,
        'tickets', coalesce((SELECT jsonb_agg(helpgate_ticket_record(u, NULL) ORDER BY u)
                               FROM unnest(v_tickets) u), '[]'::jsonb),
        'messages_on_other_tickets', coalesce((
            SELECT jsonb_agg(helpgate_message_record(m.id, NULL) ORDER BY m.id) FROM messages m
             WHERE (m.author_customer_id = v_customer.id OR lower(m.from_address) = v_email)
               AND NOT m.ticket_id = ANY (v_tickets)), '[]'::jsonb),
        'chat_sessions', coalesce((
            SELECT jsonb_agg(to_jsonb(s) - 'resume_token_sha256' ORDER BY s.id) FROM chat_sessions s
             WHERE lower(s.visitor_email) = v_email AND NOT coalesce(s.ticket_id = ANY (v_tickets), false)),
            '[]'::jsonb),
        'outbox_on_other_tickets', coalesce((
            SELECT jsonb_agg((to_jsonb(o) - 'payload') || jsonb_build_object('payload_base64', helpgate_base64(o.payload))
                             ORDER BY o.id) FROM outbox o
             WHERE EXISTS (SELECT 1 FROM unnest(o.recipients) r WHERE lower(r) = v_email)
               AND NOT coalesce(o.ticket_id = ANY (v_tickets), false)), '[]'::jsonb),
        'audit', coalesce((
            SELECT jsonb_agg(to_jsonb(a) ORDER BY a.id) FROM audit_log a
             WHERE a.customer_id = v_customer.id OR a.ticket_id = ANY (v_tickets)
                OR strpos(lower(a.details::text), v_email) > 0), '[]'::jsonb));
END;
$$;

-- Erases what helpgate holds about the address P_EMAIL, in the caller's
-- transaction, and returns what it did (the details of the 'customer.erase'
-- audit row plus its id as audit_row), or NULL when nothing is held (then
-- nothing is written). What happens:
--   * mail still queued to them or on their tickets is cancelled; every
--     outbox row to them or on their tickets loses its content (payload) and
--     their address (recipients, last_error);
--   * messages on their tickets and messages they wrote elsewhere lose
--     subject, texts and warnings; inbound messages not from an agent lose
--     the sender's address and name too (agents' answers and operators'
--     notes keep their author); Message-IDs that contain the address become
--     a hash;
--   * the raw sources of those messages are purged (data NULL), their
--     attachments deleted, and contents no other message uses deleted;
--   * their chat sessions are deleted;
--   * their tickets stay for the statistics, without customer
--     (customer_id NULL), subject "[erased]", route details redacted;
--   * the customer row is deleted;
--   * audit rows that mention them are redacted (see the top of this file),
--     after one 'customer.erase' row with the address's SHA-256 and counts.
-- SECURITY DEFINER: a role granted EXECUTE needs no rights on the tables.
-- EXECUTE is revoked from PUBLIC below.
CREATE FUNCTION helpgate_erase_customer(p_email text, p_actor text) RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER AS $$
DECLARE
    v_email text := lower(btrim(p_email));
    v_customer customers%ROWTYPE;
    v_tickets bigint[];
    v_sessions bigint[];
    v_messages bigint[];
    v_blobs bytea[];
    v_global text[];
    v_linked text[];
    v_audit bigint[];
    v_erase_row bigint;
    v_details jsonb;
    n_outbox bigint;
    n_cancelled bigint;
    n_raw bigint;
    n_attachments bigint;
    n_blobs bigint;
BEGIN
    IF v_email = '' OR strpos(v_email, '@') = 0 THEN
        RAISE EXCEPTION 'helpgate_erase_customer: "%" is not an email address', p_email;
    END IF;
    SELECT * INTO v_customer FROM customers c WHERE lower(c.email) = v_email FOR UPDATE;
    v_tickets := ARRAY(SELECT t.id FROM tickets t WHERE t.customer_id = v_customer.id ORDER BY t.id FOR UPDATE);
    v_sessions := ARRAY(SELECT s.id FROM chat_sessions s
                         WHERE s.ticket_id = ANY (v_tickets) OR lower(s.visitor_email) = v_email ORDER BY s.id);
    v_messages := ARRAY(SELECT m.id FROM messages m
                         WHERE m.ticket_id = ANY (v_tickets) OR m.author_customer_id = v_customer.id
                            OR lower(m.from_address) = v_email OR m.chat_session_id = ANY (v_sessions)
                         ORDER BY m.id);
    -- The address is erased wherever it appears; names, company and notes only
    -- in what is about this customer (another customer may share a name).
    v_global := ARRAY[v_email];
    v_linked := ARRAY(SELECT DISTINCT x FROM (
                    SELECT v_customer.name AS x UNION ALL SELECT v_customer.company
                    UNION ALL SELECT v_customer.custom_code_notes
                    UNION ALL SELECT s.visitor_name FROM chat_sessions s WHERE s.id = ANY (v_sessions)
                    UNION ALL SELECT m.from_name FROM messages m
                     WHERE m.id = ANY (v_messages) AND m.direction = 'in' AND m.author_agent_id IS NULL) terms
                 WHERE coalesce(btrim(x), '') <> '');
    v_audit := ARRAY(SELECT a.id FROM audit_log a
                      WHERE (a.customer_id = v_customer.id OR a.ticket_id = ANY (v_tickets))
                        AND helpgate_redact_jsonb(a.details, v_global || v_linked) IS DISTINCT FROM a.details
                     UNION
                     SELECT a.id FROM audit_log a
                      WHERE strpos(lower(a.details::text), v_email) > 0
                        AND helpgate_redact_jsonb(a.details, v_global) IS DISTINCT FROM a.details
                     ORDER BY 1);
    SELECT count(*), count(*) FILTER (WHERE o.status = 'queued') INTO n_outbox, n_cancelled FROM outbox o
     WHERE o.ticket_id = ANY (v_tickets) OR o.message_row_id = ANY (v_messages)
        OR EXISTS (SELECT 1 FROM unnest(o.recipients) r WHERE lower(r) = v_email);
    IF v_customer.id IS NULL AND cardinality(v_messages) = 0 AND cardinality(v_sessions) = 0 AND n_outbox = 0
       AND cardinality(v_audit) = 0 THEN
        RETURN NULL;
    END IF;

    UPDATE outbox o
       SET status = CASE WHEN o.status = 'queued' THEN 'cancelled' ELSE o.status END,
           last_error = CASE WHEN o.status = 'queued' THEN 'cancelled: the customer was erased'
                             ELSE helpgate_redact_text(o.last_error, v_global || v_linked) END,
           payload = NULL,
           recipients = ARRAY(SELECT helpgate_redact_text(r.r, v_global)
                                FROM unnest(o.recipients) WITH ORDINALITY AS r(r, n) ORDER BY r.n)
     WHERE o.ticket_id = ANY (v_tickets) OR o.message_row_id = ANY (v_messages)
        OR EXISTS (SELECT 1 FROM unnest(o.recipients) r WHERE lower(r) = v_email);

    UPDATE raw_messages r SET data = NULL, purged_at = coalesce(r.purged_at, now())
     WHERE r.id IN (SELECT m.raw_id FROM messages m WHERE m.id = ANY (v_messages)) AND r.data IS NOT NULL;
    GET DIAGNOSTICS n_raw = ROW_COUNT;
    v_blobs := ARRAY(SELECT DISTINCT a.blob_sha256 FROM attachments a WHERE a.message_id = ANY (v_messages));
    DELETE FROM attachments a WHERE a.message_id = ANY (v_messages);
    GET DIAGNOSTICS n_attachments = ROW_COUNT;
    DELETE FROM attachment_blobs b WHERE b.sha256 = ANY (v_blobs)
       AND NOT EXISTS (SELECT 1 FROM attachments a WHERE a.blob_sha256 = b.sha256);
    GET DIAGNOSTICS n_blobs = ROW_COUNT;

    UPDATE messages m
       SET subject = NULL, body_text = NULL, body_html = NULL, reply_text = NULL, parse_warnings = '{}',
           from_address = CASE WHEN m.direction = 'in' AND m.author_agent_id IS NULL THEN NULL
                               ELSE m.from_address END,
           from_name = CASE WHEN m.direction = 'in' AND m.author_agent_id IS NULL THEN NULL ELSE m.from_name END,
           author_customer_id = NULL, chat_session_id = NULL, chat_client_id = NULL,
           message_id = helpgate_erase_message_id(m.message_id, v_email),
           in_reply_to = helpgate_erase_message_id(m.in_reply_to, v_email),
           references_ids = ARRAY(SELECT helpgate_erase_message_id(x.id, v_email)
                                    FROM unnest(m.references_ids) WITH ORDINALITY AS x(id, n) ORDER BY x.n)
     WHERE m.id = ANY (v_messages);
    UPDATE messages m SET chat_session_id = NULL, chat_client_id = NULL WHERE m.chat_session_id = ANY (v_sessions);
    DELETE FROM chat_sessions s WHERE s.id = ANY (v_sessions);

    UPDATE tickets t SET customer_id = NULL, subject = '[erased]',
           route_actions = helpgate_redact_jsonb(t.route_actions, v_global || v_linked)
     WHERE t.id = ANY (v_tickets);
    DELETE FROM customers c WHERE c.id = v_customer.id;

    v_details := jsonb_build_object(
        'email_sha256', encode(sha256(convert_to(v_email, 'UTF8')), 'hex'),
        'customer', v_customer.id IS NOT NULL, 'tickets', cardinality(v_tickets),
        'messages', cardinality(v_messages), 'raw_sources', n_raw, 'attachments', n_attachments,
        'attachment_blobs', n_blobs, 'chat_sessions', cardinality(v_sessions),
        'outbox', n_outbox, 'outbox_cancelled', n_cancelled, 'audit_redacted', cardinality(v_audit));
    INSERT INTO audit_log (actor, action, customer_id, details)
    VALUES (p_actor, 'customer.erase', v_customer.id, v_details) RETURNING id INTO v_erase_row;

    PERFORM set_config('helpgate.audit_redaction',
                       jsonb_build_object('erase_row', v_erase_row, 'email', v_email, 'customer', v_customer.id,
                                          'tickets', to_jsonb(v_tickets), 'global', to_jsonb(v_global),
                                          'linked', to_jsonb(v_linked))::text, true);
    UPDATE audit_log a
       SET details = helpgate_redact_jsonb(a.details,
                         CASE WHEN a.customer_id = v_customer.id OR a.ticket_id = ANY (v_tickets)
                              THEN v_global || v_linked ELSE v_global END)
     WHERE a.id = ANY (v_audit);
    PERFORM set_config('helpgate.audit_redaction', '', true);
    RETURN v_details || jsonb_build_object('audit_row', v_erase_row);
END;
$$;
REVOKE EXECUTE ON FUNCTION helpgate_erase_customer(text, text) FROM PUBLIC;

-- The audit log's one exception (see the top of this file).
CREATE FUNCTION audit_log_redact_only() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    v_setting text := current_setting('helpgate.audit_redaction', true);
    v_erase jsonb;
    v_terms text[];
BEGIN
    IF coalesce(v_setting, '') = '' THEN
        RAISE EXCEPTION 'audit_log is append-only: UPDATE is not allowed'
            USING HINT = 'record a new audit row instead of changing an old one';
    END IF;
    v_erase := v_setting::jsonb;
    IF current_user::text IS DISTINCT FROM (SELECT pg_get_userbyid(p.proowner) FROM pg_proc p
                                             WHERE p.oid = to_regprocedure('helpgate_erase_customer(text,text)'))
       OR NOT EXISTS (SELECT 1 FROM audit_log e
                       WHERE e.id = (v_erase->>'erase_row')::bigint AND e.action = 'customer.erase'
                         AND e.at = now()
                         AND e.details->>'email_sha256'
                             = encode(sha256(convert_to(v_erase->>'email', 'UTF8')), 'hex')) THEN
        RAISE EXCEPTION 'audit_log is append-only: only helpgate_erase_customer() may redact it';
    END IF;
    IF (NEW.id, NEW.at, NEW.actor, NEW.action, NEW.ticket_id, NEW.customer_id)
       IS DISTINCT FROM (OLD.id, OLD.at, OLD.actor, OLD.action, OLD.ticket_id, OLD.customer_id) THEN
        RAISE EXCEPTION 'audit_log is append-only: a redaction changes details only (row %)', OLD.id;
    END IF;
    v_terms := ARRAY(SELECT jsonb_array_elements_text(v_erase->'global'));
    IF OLD.customer_id = (v_erase->>'customer')::bigint
       OR OLD.ticket_id IN (SELECT jsonb_array_elements_text(v_erase->'tickets')::bigint) THEN
        v_terms := v_terms || ARRAY(SELECT jsonb_array_elements_text(v_erase->'linked'));
    END IF;
    IF NEW.details IS DISTINCT FROM helpgate_redact_jsonb(OLD.details, v_terms) THEN
        RAISE EXCEPTION 'audit_log is append-only: row % may only lose the erased customer''s data', OLD.id;
    END IF;
    RETURN NEW;
END;
$$;
-- The statement trigger of sql/001 still refuses every DELETE, TRUNCATE and
-- UPDATE, except an UPDATE while helpgate_erase_customer() redacts; the row
-- trigger then checks each row.
CREATE OR REPLACE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND coalesce(current_setting('helpgate.audit_redaction', true), '') <> '' THEN
        RETURN NULL;
    END IF;
    RAISE EXCEPTION 'audit_log is append-only: % is not allowed', TG_OP
        USING HINT = 'record a new audit row instead of changing an old one';
END;
$$;
CREATE TRIGGER audit_log_redact_only
    BEFORE UPDATE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_redact_only();

-- The functions that guard the audit log resolve names in this schema only
-- (a caller's search_path cannot slip another helpgate_redact_jsonb() in).
DO $$
BEGIN
    EXECUTE format('ALTER FUNCTION helpgate_erase_customer(text, text) SET search_path = pg_catalog, %I, pg_temp',
                   current_schema());
    EXECUTE format('ALTER FUNCTION audit_log_redact_only() SET search_path = pg_catalog, %I, pg_temp',
                   current_schema());
END;
$$;
