-- 009_intake_in_one_pass.sql — a routed new ticket is written once.
--
-- bench/ingest showed routing costing about 0.35 ms of backend CPU per
-- message: helpgate_intake_routed() (sql/004) stored the ticket with
-- helpgate_intake_message() and then rewrote the fresh row with
-- helpgate_route_ticket() (an UPDATE, a second heap tuple and index
-- entries) plus a separate audit INSERT. Here the routed function holds the
-- one body of intake: a new ticket is inserted with its route (tier,
-- priority, queue, tags, assignee, rule) and both audit rows
-- (ticket.create, ticket.route) are one INSERT. helpgate_intake_message()
-- becomes a call of it without a route, so the logic lives in one place.
-- Same signatures, results and rows as before.
--
-- plan_cache_mode = force_generic_plan: PL/pgSQL kept choosing a custom plan
-- (planned again at every call, 0.2 ms) for the References lookup of
-- replies; every statement here is a keyed lookup or an INSERT, for which
-- the generic plan is the right one.

CREATE OR REPLACE FUNCTION helpgate_intake_routed(
    p_mailbox text, p_uidvalidity bigint, p_uid bigint,
    p_channel text, p_message_id text, p_in_reply_to text, p_references text[],
    p_from_email text, p_from_name text, p_subject text, p_sent_at timestamptz,
    p_ticket_tag bigint, p_body_text text, p_body_html text, p_reply_text text,
    p_auto_kind text, p_warnings text[], p_support_address text,
    p_raw_sha256 bytea, p_raw bytea, p_route jsonb,
    OUT outcome text, OUT ticket_id bigint, OUT ticket_number bigint, OUT message_row_id bigint,
    OUT customer_id bigint)
LANGUAGE plpgsql SET plan_cache_mode = force_generic_plan AS $$
DECLARE
    v_agent bigint;
    v_raw bigint;
    v_owner bigint;
    v_warnings text[] := coalesce(p_warnings, '{}');
    v_refs text[] := coalesce(p_references, '{}');
    v_assignee bigint;
    v_route_audit jsonb := p_route;
BEGIN
    -- The same Message-ID stored before: only the position is new.
    SELECT m.id, m.ticket_id, t.number INTO message_row_id, ticket_id, ticket_number
      FROM messages m JOIN tickets t ON t.id = m.ticket_id
     WHERE m.message_id = p_message_id AND m.direction = 'in';
    IF FOUND THEN
        outcome := 'duplicate';
        IF p_mailbox IS NOT NULL THEN
            INSERT INTO intake_seen (mailbox, uidvalidity, uid, message_row_id)
            VALUES (p_mailbox, p_uidvalidity, p_uid, message_row_id) ON CONFLICT DO NOTHING;
        END IF;
        RETURN;
    END IF;

    IF p_raw IS NOT NULL THEN
        INSERT INTO raw_messages (sha256, size, data) VALUES (p_raw_sha256, octet_length(p_raw), p_raw)
        ON CONFLICT (sha256) DO UPDATE SET size = EXCLUDED.size RETURNING id INTO v_raw;
    END IF;

    -- The sender: an agent (by address or alias), else a customer. Bounces create none.
    IF coalesce(p_from_email, '') <> '' THEN
        SELECT a.id INTO v_agent FROM agents a WHERE lower(a.email) = lower(p_from_email) AND a.active;
        IF v_agent IS NULL THEN
            SELECT a.id INTO v_agent FROM agent_aliases al JOIN agents a ON a.id = al.agent_id
             WHERE lower(al.email) = lower(p_from_email) AND a.active;
        END IF;
        IF v_agent IS NULL THEN
            SELECT c.id INTO customer_id FROM customers c WHERE lower(c.email) = lower(p_from_email);
            IF customer_id IS NULL AND p_auto_kind IS DISTINCT FROM 'bounce' THEN
                INSERT INTO customers (email, name) VALUES (p_from_email, nullif(p_from_name, ''))
                ON CONFLICT ((lower(email))) DO NOTHING RETURNING id INTO customer_id;
                IF customer_id IS NULL THEN
                    SELECT c.id INTO customer_id FROM customers c WHERE lower(c.email) = lower(p_from_email);
                END IF;
            END IF;
        END IF;
    END IF;

    -- Threading 1: a ticket tag, honoured only for the ticket's customer or an agent.
    IF p_ticket_tag > 0 THEN
        SELECT coalesce(t.merged_into, t.id), t.customer_id INTO ticket_id, v_owner
          FROM tickets t WHERE t.number = p_ticket_tag;
        IF NOT FOUND THEN
            v_warnings := v_warnings || format('ticket tag #%s names no ticket; a new ticket was opened',
                                               p_ticket_tag);
        ELSIF NOT (v_agent IS NOT NULL OR (v_owner IS NOT NULL AND v_owner = customer_id)) THEN
            v_warnings := v_warnings || format('ticket tag #%s ignored: the sender is neither that ticket''s '
                                               'customer nor an agent; a new ticket was opened', p_ticket_tag);
            ticket_id := NULL;
        END IF;
    END IF;

    -- Threading 2: In-Reply-To, then References from the newest, naming a message we stored or sent.
    IF ticket_id IS NULL AND (p_in_reply_to IS NOT NULL OR cardinality(v_refs) > 0) THEN
        SELECT coalesce(t.merged_into, t.id) INTO ticket_id
          FROM (SELECT p_in_reply_to AS id, 0::bigint AS rank WHERE p_in_reply_to IS NOT NULL
                UNION ALL
                SELECT r.id, cardinality(v_refs) - r.pos + 1 FROM unnest(v_refs) WITH ORDINALITY AS r(id, pos)) refs
          JOIN LATERAL (SELECT m.ticket_id FROM messages m WHERE m.message_id = refs.id
                        UNION ALL SELECT o.ticket_id FROM outbox o WHERE o.message_id = refs.id) hit ON true
          JOIN tickets t ON t.id = hit.ticket_id
         ORDER BY refs.rank LIMIT 1;
    END IF;

    IF ticket_id IS NULL AND p_route IS NULL THEN
        INSERT INTO tickets (subject, channel, customer_id, support_address)
        VALUES (coalesce(p_subject, ''), p_channel, customer_id, p_support_address)
        RETURNING id, number INTO ticket_id, ticket_number;
        outcome := 'new_ticket';
    ELSIF ticket_id IS NULL THEN
        -- A new ticket, routed as it is written (helpgate_route_ticket() does the same to an
        -- existing ticket).
        IF p_route->>'assign' IS NOT NULL THEN
            SELECT a.id INTO v_assignee FROM agents a
             WHERE lower(a.email) = lower(p_route->>'assign') AND a.active;
            IF v_assignee IS NULL THEN
                v_route_audit := v_route_audit || jsonb_build_object('warning',
                    format('assign: no active agent %s; the ticket is not assigned', p_route->>'assign'));
            END IF;
        END IF;
        INSERT INTO tickets (subject, channel, customer_id, support_address, tier, priority, queue, tags,
                             assignee_id, matched_rule, matched_rule_at, route_actions, sla_policy)
        VALUES (coalesce(p_subject, ''), p_channel, customer_id, p_support_address, p_route->>'tier',
                coalesce(p_route->>'priority', 'normal'), p_route->>'queue',
                ARRAY(SELECT DISTINCT tag FROM jsonb_array_elements_text(coalesce(p_route->'tags', '[]')) tag
                      ORDER BY tag),
                v_assignee, p_route->>'rule',
                CASE WHEN coalesce((p_route->>'line')::int, 0) > 0
                     THEN (p_route->>'file') || ':' || (p_route->>'line') END,
                p_route, p_route->>'sla')
        RETURNING id, number INTO ticket_id, ticket_number;
        outcome := 'new_ticket';
    ELSE
        -- A reply reopens a resolved or closed ticket.
        UPDATE tickets t SET updated_at = now(),
               status = CASE WHEN t.status IN ('resolved', 'closed') THEN 'open' ELSE t.status END,
               resolved_at = CASE WHEN t.status IN ('resolved', 'closed') THEN NULL ELSE t.resolved_at END,
               closed_at = CASE WHEN t.status IN ('resolved', 'closed') THEN NULL ELSE t.closed_at END
         WHERE t.id = ticket_id RETURNING t.number INTO ticket_number;
        outcome := 'reply';
    END IF;

    INSERT INTO messages (ticket_id, direction, channel, author_customer_id, author_agent_id, from_address,
                          from_name, message_id, in_reply_to, references_ids, subject, body_text, body_html,
                          reply_text, auto_kind, raw_id, parse_warnings, sent_at)
    VALUES (ticket_id, 'in', p_channel, CASE WHEN v_agent IS NULL THEN customer_id END, v_agent, p_from_email,
            p_from_name, p_message_id, p_in_reply_to, v_refs, p_subject, p_body_text, p_body_html,
            p_reply_text, p_auto_kind, v_raw, v_warnings, p_sent_at)
    RETURNING id INTO message_row_id;

    INSERT INTO audit_log (actor, action, ticket_id, customer_id, details)
    SELECT 'system', CASE WHEN outcome = 'new_ticket' THEN 'ticket.create' ELSE 'message.add' END,
           ticket_id, customer_id,
           jsonb_strip_nulls(jsonb_build_object(
               'channel', p_channel, 'message_id', p_message_id, 'message', message_row_id,
               'mailbox', p_mailbox,
               'warnings', CASE WHEN cardinality(v_warnings) > 0 THEN to_jsonb(v_warnings) END))
    UNION ALL
    SELECT 'rules', 'ticket.route', ticket_id, customer_id, v_route_audit
     WHERE outcome = 'new_ticket' AND p_route IS NOT NULL;

    IF p_mailbox IS NOT NULL THEN
        INSERT INTO intake_seen (mailbox, uidvalidity, uid, message_row_id)
        VALUES (p_mailbox, p_uidvalidity, p_uid, message_row_id) ON CONFLICT DO NOTHING;
        IF NOT FOUND THEN
            RAISE EXCEPTION 'IMAP position %/%/% was recorded by another transaction', p_mailbox,
                  p_uidvalidity, p_uid USING ERRCODE = 'unique_violation';
        END IF;
    END IF;
END;
$$;

CREATE OR REPLACE FUNCTION helpgate_intake_message(
    p_mailbox text, p_uidvalidity bigint, p_uid bigint,
    p_channel text, p_message_id text, p_in_reply_to text, p_references text[],
    p_from_email text, p_from_name text, p_subject text, p_sent_at timestamptz,
    p_ticket_tag bigint, p_body_text text, p_body_html text, p_reply_text text,
    p_auto_kind text, p_warnings text[], p_support_address text,
    p_raw_sha256 bytea, p_raw bytea,
    OUT outcome text, OUT ticket_id bigint, OUT ticket_number bigint, OUT message_row_id bigint,
    OUT customer_id bigint)
LANGUAGE sql AS $$
    SELECT * FROM helpgate_intake_routed(p_mailbox, p_uidvalidity, p_uid, p_channel, p_message_id,
                                         p_in_reply_to, p_references, p_from_email, p_from_name, p_subject,
                                         p_sent_at, p_ticket_tag, p_body_text, p_body_html, p_reply_text,
                                         p_auto_kind, p_warnings, p_support_address, p_raw_sha256, p_raw, NULL);
$$;
