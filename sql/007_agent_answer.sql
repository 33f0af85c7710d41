-- 007_agent_answer.sql — an agent's answer, sent by mail to the signed Reply-To
-- of a notification, stored in one call.
--
-- helpgated has already checked the signature (the ticket number is
-- genuine) and parsed the commands at the top of the answer. This function
-- stores the answer on the ticket (direction 'out' when it goes to the
-- customer, 'note' when it stays internal), applies the commands (#tier,
-- #pending, #close) with an audit row each, sets the first response time,
-- records the IMAP position, and returns what the relay needs: the
-- customer's address and the Message-ID to thread on. The same answer seen
-- again (re-fetch, same Message-ID) stores nothing: outcome 'duplicate'.
CREATE UNIQUE INDEX messages_agent_message_id_key ON messages (message_id)
    WHERE direction IN ('out', 'note') AND author_agent_id IS NOT NULL AND message_id IS NOT NULL;

CREATE FUNCTION helpgate_agent_answer(
    p_mailbox text, p_uidvalidity bigint, p_uid bigint,
    p_ticket_number bigint, p_agent bigint, p_message_id text, p_direction text,
    p_subject text, p_body text, p_raw_sha256 bytea, p_raw bytea,
    p_tier text, p_status text,
    OUT outcome text, OUT ticket_id bigint, OUT message_row_id bigint,
    OUT customer_email text, OUT ticket_subject text, OUT thread_on text, OUT old_tier text)
LANGUAGE plpgsql AS $$
DECLARE
    v_agent_email text;
    v_raw bigint;
    v_customer bigint;
BEGIN
    SELECT coalesce(t.merged_into, t.id), t.customer_id, t.subject, t.tier
      INTO ticket_id, v_customer, ticket_subject, old_tier
      FROM tickets t WHERE t.number = p_ticket_number;
    IF NOT FOUND THEN
        outcome := 'no_ticket';
        RETURN;
    END IF;
    SELECT m.id INTO message_row_id FROM messages m
     WHERE m.message_id = p_message_id AND m.direction IN ('out', 'note') AND m.author_agent_id IS NOT NULL;
    IF FOUND THEN
        outcome := 'duplicate';
        RETURN;
    END IF;
    SELECT a.email INTO v_agent_email FROM agents a WHERE a.id = p_agent;
    SELECT c.email INTO customer_email FROM customers c WHERE c.id = v_customer;
    -- Thread the relay on the customer's latest message.
    SELECT m.message_id INTO thread_on FROM messages m
     WHERE m.ticket_id = helpgate_agent_answer.ticket_id AND m.direction = 'in' AND m.author_customer_id IS NOT NULL
     ORDER BY m.created_at DESC, m.id DESC LIMIT 1;

    IF p_raw IS NOT NULL THEN
        INSERT INTO raw_messages (sha256, size, data) VALUES (p_raw_sha256, octet_length(p_raw), p_raw)
        ON CONFLICT (sha256) DO UPDATE SET size = EXCLUDED.size RETURNING id INTO v_raw;
    END IF;
    INSERT INTO messages (ticket_id, direction, channel, author_agent_id, from_address, message_id, subject,
                          body_text, reply_text, raw_id)
    VALUES (ticket_id, p_direction, 'email', p_agent, v_agent_email, p_message_id, p_subject, p_body, p_body,
            v_raw)
    RETURNING id INTO message_row_id;
    INSERT INTO audit_log (actor, action, ticket_id, details)
    VALUES ('agent:' || v_agent_email, CASE WHEN p_direction = 'note' THEN 'ticket.note' ELSE 'ticket.answer' END,
            ticket_id, jsonb_build_object('message', message_row_id));

    IF p_direction = 'out' THEN
        UPDATE tickets t SET first_response_at = coalesce(t.first_response_at, now()), updated_at = now(),
               status = CASE WHEN t.status = 'new' THEN 'open' ELSE t.status END
         WHERE t.id = ticket_id;
    END IF;
    IF p_tier IS NOT NULL AND p_tier IS DISTINCT FROM old_tier THEN
        UPDATE tickets t SET tier = p_tier, updated_at = now() WHERE t.id = ticket_id;
        INSERT INTO audit_log (actor, action, ticket_id, details)
        VALUES ('agent:' || v_agent_email, 'ticket.escalate', ticket_id,
                jsonb_build_object('from', old_tier, 'to', p_tier));
    END IF;
    IF p_status IS NOT NULL THEN
        UPDATE tickets t SET status = p_status, updated_at = now(),
               closed_at = CASE WHEN p_status = 'closed' THEN now() ELSE t.closed_at END
         WHERE t.id = ticket_id;
        INSERT INTO audit_log (actor, action, ticket_id, details)
        VALUES ('agent:' || v_agent_email, 'ticket.status', ticket_id, jsonb_build_object('status', p_status));
    END IF;
    IF p_mailbox IS NOT NULL THEN
        INSERT INTO intake_seen (mailbox, uidvalidity, uid, message_row_id)
        VALUES (p_mailbox, p_uidvalidity, p_uid, message_row_id) ON CONFLICT DO NOTHING;
    END IF;
    outcome := 'agent_answer';
END;
$$;
