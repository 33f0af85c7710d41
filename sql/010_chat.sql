-- 010_chat.sql — chat sessions and chat messages, stored in one call each.
--
-- A visitor's socket says hello: helpgate_chat_hello() opens a session (its
-- resume token is stored as a SHA-256 only) or finds the one the token names.
-- Each chat message is one call of helpgate_chat_message(): the message is
-- stored once per (session, client id) — a resend after a reconnect is a
-- 'duplicate' —, the first one opens the ticket (channel 'chat', routed as it
-- is written, like mail in sql/009), later ones are replies on it.
--
-- Anything said to the visitor — an agent's answer by mail, the chat
-- acknowledgement — is a message with direction 'out' on a chat ticket; a
-- trigger announces it on the channel helpgate_chat with NOTIFY (delivered
-- at COMMIT), so whichever helpgated holds the visitor's socket pushes it.
-- The payload is "TICKET_ID MESSAGE_ID".
--
-- Online: the helpgated holding a session's socket sets online_since and
-- refreshes last_seen_at; a session counts as online while online_since is
-- set and last_seen_at is recent (a crashed instance leaves no session
-- online for long). The mail loop emails an agent's answer to a chat
-- visitor only when the visitor is not online (and gave an address).

ALTER TABLE chat_sessions ADD COLUMN online_since timestamptz;
ALTER TABLE chat_sessions ADD COLUMN lang text;
CREATE INDEX chat_sessions_ticket_idx ON chat_sessions (ticket_id);

-- A new session (p_token_sha256 fresh), or the session of a resume token.
-- outcome: 'new', 'resumed', or 'unknown' (no session has that token).
CREATE FUNCTION helpgate_chat_hello(p_token_sha256 bytea, p_resume boolean, p_name text, p_email text,
                                    p_peer inet, p_lang text,
                                    OUT outcome text, OUT session_id bigint, OUT ticket_id bigint,
                                    OUT ticket_number bigint, OUT ticket_status text)
LANGUAGE plpgsql AS $$
BEGIN
    IF p_resume THEN
        UPDATE chat_sessions s
           SET last_seen_at = now(), online_since = now(), peer_address = p_peer,
               visitor_name = coalesce(nullif(p_name, ''), s.visitor_name),
               visitor_email = coalesce(nullif(p_email, ''), s.visitor_email),
               lang = coalesce(p_lang, s.lang)
         WHERE s.resume_token_sha256 = p_token_sha256 AND s.closed_at IS NULL
        RETURNING s.id, s.ticket_id INTO session_id, ticket_id;
        IF NOT FOUND THEN
            outcome := 'unknown';
            RETURN;
        END IF;
        outcome := 'resumed';
        SELECT t.number, t.status INTO ticket_number, ticket_status FROM tickets t WHERE t.id = ticket_id;
        RETURN;
    END IF;
    INSERT INTO chat_sessions (resume_token_sha256, visitor_name, visitor_email, peer_address, online_since, lang)
    VALUES (p_token_sha256, p_name, nullif(p_email, ''), p_peer, now(), p_lang)
    RETURNING id INTO session_id;
    outcome := 'new';
END;
$$;

-- One chat message of a visitor. Same results as helpgate_intake_routed().
CREATE FUNCTION helpgate_chat_message(p_session bigint, p_client_id text, p_text text, p_subject text,
                                      p_route jsonb,
                                      OUT outcome text, OUT ticket_id bigint, OUT ticket_number bigint,
                                      OUT message_row_id bigint, OUT customer_id bigint)
LANGUAGE plpgsql SET plan_cache_mode = force_generic_plan AS $$
DECLARE
    v_name text;
    v_email text;
    v_assignee bigint;
    v_route_audit jsonb := p_route;
BEGIN
    -- The session's row lock orders messages of one session (two sockets may share a token).
    PERFORM 1 FROM chat_sessions s WHERE s.id = p_session FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'chat session % does not exist', p_session USING ERRCODE = 'foreign_key_violation';
    END IF;
    SELECT m.id, m.ticket_id, t.number, m.author_customer_id
      INTO message_row_id, ticket_id, ticket_number, customer_id
      FROM messages m JOIN tickets t ON t.id = m.ticket_id
     WHERE m.chat_session_id = p_session AND m.chat_client_id = p_client_id;
    IF FOUND THEN
        outcome := 'duplicate';
        RETURN;
    END IF;
    SELECT s.ticket_id, s.visitor_name, s.visitor_email INTO ticket_id, v_name, v_email
      FROM chat_sessions s WHERE s.id = p_session;

    IF v_email IS NOT NULL THEN
        SELECT c.id INTO customer_id FROM customers c WHERE lower(c.email) = lower(v_email);
        IF customer_id IS NULL THEN
            INSERT INTO customers (email, name) VALUES (v_email, nullif(v_name, ''))
            ON CONFLICT ((lower(email))) DO NOTHING RETURNING id INTO customer_id;
            IF customer_id IS NULL THEN
                SELECT c.id INTO customer_id FROM customers c WHERE lower(c.email) = lower(v_email);
            END IF;
        END IF;
    END IF;

    IF ticket_id IS NOT NULL THEN
        SELECT coalesce(t.merged_into, t.id) INTO ticket_id FROM tickets t WHERE t.id = ticket_id;
        UPDATE tickets t SET updated_at = now(),
               status = CASE WHEN t.status IN ('resolved', 'closed') THEN 'open' ELSE t.status END,
               resolved_at = CASE WHEN t.status IN ('resolved', 'closed') THEN NULL ELSE t.resolved_at END,
               closed_at = CASE WHEN t.status IN ('resolved', 'closed') THEN NULL ELSE t.closed_at END
         WHERE t.id = ticket_id RETURNING t.number INTO ticket_number;
        outcome := 'reply';
    ELSE
        IF p_route->>'assign' IS NOT NULL THEN
            SELECT a.id INTO v_assignee FROM agents a
             WHERE lower(a.email) = lower(p_route->>'assign') AND a.active;
            IF v_assignee IS NULL THEN
                v_route_audit := v_route_audit || jsonb_build_object('warning',
                    format('assign: no active agent %s; the ticket is not assigned', p_route->>'assign'));
            END IF;
        END IF;
        INSERT INTO tickets (subject, channel, customer_id, tier, priority, queue, tags, assignee_id,
                             matched_rule, matched_rule_at, route_actions, sla_policy)
        VALUES (coalesce(p_subject, ''), 'chat', customer_id, coalesce(p_route->>'tier', 'L1'),
                coalesce(p_route->>'priority', 'normal'), p_route->>'queue',
                ARRAY(SELECT DISTINCT tag FROM jsonb_array_elements_text(coalesce(p_route->'tags', '[]')) tag
                      ORDER BY tag),
                v_assignee, p_route->>'rule',
                CASE WHEN coalesce((p_route->>'line')::int, 0) > 0
                     THEN (p_route->>'file') || ':' || (p_route->>'line') END,
                p_route, p_route->>'sla')
        RETURNING id, number INTO ticket_id, ticket_number;
        UPDATE chat_sessions SET ticket_id = helpgate_chat_message.ticket_id WHERE id = p_session;
        outcome := 'new_ticket';
    END IF;

    INSERT INTO messages (ticket_id, direction, channel, author_customer_id, from_address, from_name, subject,
                          body_text, reply_text, chat_session_id, chat_client_id, sent_at)
    VALUES (ticket_id, 'in', 'chat', customer_id, v_email, v_name, p_subject, p_text, p_text, p_session,
            p_client_id, now())
    RETURNING id INTO message_row_id;
    UPDATE chat_sessions SET last_seen_at = now() WHERE id = p_session;

    INSERT INTO audit_log (actor, action, ticket_id, customer_id, details)
    SELECT 'system', CASE WHEN outcome = 'new_ticket' THEN 'ticket.create' ELSE 'message.add' END,
           ticket_id, customer_id,
           jsonb_build_object('channel', 'chat', 'message', message_row_id, 'session', p_session)
    UNION ALL
    SELECT 'rules', 'ticket.route', ticket_id, customer_id, v_route_audit
     WHERE outcome = 'new_ticket' AND p_route IS NOT NULL;
END;
$$;

-- What is said to a chat visitor is announced to the helpgated holding the socket.
CREATE FUNCTION helpgate_chat_announce() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.direction = 'out' AND EXISTS (SELECT 1 FROM tickets t WHERE t.id = NEW.ticket_id AND t.channel = 'chat')
    THEN
        PERFORM pg_notify('helpgate_chat', NEW.ticket_id || ' ' || NEW.id);
    END IF;
    RETURN NULL;
END;
$$;
CREATE TRIGGER messages_chat_announce AFTER INSERT ON messages
    FOR EACH ROW WHEN (NEW.direction = 'out') EXECUTE FUNCTION helpgate_chat_announce();

-- Is a visitor of this chat ticket online (a socket held by a live helpgated)?
CREATE FUNCTION helpgate_chat_online(p_ticket bigint) RETURNS boolean LANGUAGE sql STABLE AS $$
    SELECT EXISTS (SELECT 1 FROM chat_sessions s
                    WHERE s.ticket_id = p_ticket AND s.online_since IS NOT NULL
                      AND s.last_seen_at > now() - interval '90 seconds');
$$;
