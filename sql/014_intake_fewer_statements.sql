-- 014_intake_fewer_statements.sql — intake in three statements instead of ten.
--
-- bench/ingest (HG_BENCH_TRACK=all) showed helpgate_intake_routed() (sql/009)
-- running about ten statements for a new message: the duplicate check, the
-- agent, alias and customer lookups, then one INSERT each for the raw
-- source, the ticket, the message, the audit rows and the IMAP position. Each
-- statement pays PL/pgSQL's and the executor's start and end (snapshot,
-- expression set-up, the tables' CHECK constraints compiled again), which the
-- eight-row insert ceiling pays once. Here:
--   1. one SELECT for the duplicate check and the sender (agent, alias, customer);
--   2. the ticket: INSERT (new, with its route) or UPDATE (a reply), as before;
--   3. one INSERT with data-modifying CTEs for the raw source, the message,
--      its audit rows and the IMAP position.
-- Creating a new customer, the ticket tag, the threading lookups and an
-- `assign` action stay statements of their own, run only when needed; a
-- reply's In-Reply-To is looked up before its References (same result: the
-- In-Reply-To ranked first already). Same
-- signature, results, rows and audit order as sql/009; the unique violation
-- of a position recorded by another transaction is raised as before.

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
    v_owner bigint;
    v_warnings text[] := coalesce(p_warnings, '{}');
    v_refs text[] := coalesce(p_references, '{}');
    v_assignee bigint;
    v_route_audit jsonb := p_route;
    v_sender boolean := coalesce(p_from_email, '') <> '';
    v_seen integer;
BEGIN
    -- 1. The same Message-ID stored before? The sender: an agent (by address or alias), else a customer.
    SELECT dup.id, dup.ticket_id, dup.number, ag.id, CASE WHEN ag.id IS NULL THEN cu.id END
      INTO message_row_id, ticket_id, ticket_number, v_agent, customer_id
      FROM (SELECT 1) AS one
      LEFT JOIN LATERAL (SELECT m.id, m.ticket_id, t.number FROM messages m JOIN tickets t ON t.id = m.ticket_id
                          WHERE m.message_id = p_message_id AND m.direction = 'in') dup ON true
      LEFT JOIN LATERAL (SELECT a.id FROM agents a WHERE lower(a.email) = lower(p_from_email) AND a.active
                         UNION ALL
                         SELECT a.id FROM agent_aliases al JOIN agents a ON a.id = al.agent_id
                          WHERE lower(al.email) = lower(p_from_email) AND a.active
                         LIMIT 1) ag ON v_sender
      LEFT JOIN LATERAL (SELECT c.id FROM customers c WHERE lower(c.email) = lower(p_from_email)) cu ON v_sender;
    IF message_row_id IS NOT NULL THEN
        outcome := 'duplicate';
        customer_id := NULL;
        IF p_mailbox IS NOT NULL THEN
            INSERT INTO intake_seen (mailbox, uidvalidity, uid, message_row_id)
            VALUES (p_mailbox, p_uidvalidity, p_uid, message_row_id) ON CONFLICT DO NOTHING;
        END IF;
        RETURN;
    END IF;
    ticket_id := NULL;

    -- A new customer (bounces create none).
    IF v_sender AND v_agent IS NULL AND customer_id IS NULL AND p_auto_kind IS DISTINCT FROM 'bounce' THEN
        INSERT INTO customers (email, name) VALUES (p_from_email, nullif(p_from_name, ''))
        ON CONFLICT ((lower(email))) DO NOTHING RETURNING id INTO customer_id;
        IF customer_id IS NULL THEN
            SELECT c.id INTO customer_id FROM customers c WHERE lower(c.email) = lower(p_from_email);
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
    -- In-Reply-To alone first: it names the parent of almost every reply, and two index probes
    -- cost a fraction of the References search (0.24 ms per reply in bench/ingest).
    IF ticket_id IS NULL AND p_in_reply_to IS NOT NULL THEN
        SELECT coalesce(t.merged_into, t.id) INTO ticket_id
          FROM (SELECT m.ticket_id FROM messages m WHERE m.message_id = p_in_reply_to
                UNION ALL SELECT o.ticket_id FROM outbox o WHERE o.message_id = p_in_reply_to LIMIT 1) hit
          JOIN tickets t ON t.id = hit.ticket_id;
    END IF;
    IF ticket_id IS NULL AND cardinality(v_refs) > 0 THEN
        SELECT coalesce(t.merged_into, t.id) INTO ticket_id
          FROM unnest(v_refs) WITH ORDINALITY AS r(id, pos)
          JOIN LATERAL (SELECT m.ticket_id FROM messages m WHERE m.message_id = r.id
                        UNION ALL SELECT o.ticket_id FROM outbox o WHERE o.message_id = r.id) hit ON true
          JOIN tickets t ON t.id = hit.ticket_id
         ORDER BY r.pos DESC LIMIT 1;
    END IF;

    -- 2. The ticket.
    IF ticket_id IS NULL AND p_route IS NULL THEN
        INSERT INTO tickets (subject, channel, customer_id, support_address)
        VALUES (coalesce(p_subject, ''), p_channel, customer_id, p_support_address)
        RETURNING id, number INTO ticket_id, ticket_number;
        outcome := 'new_ticket';
    ELSIF ticket_id IS NULL THEN
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

    -- 3. Raw source, message, audit rows and IMAP position in one statement.
    WITH raw AS (
        INSERT INTO raw_messages (sha256, size, data)
        SELECT p_raw_sha256, octet_length(p_raw), p_raw WHERE p_raw IS NOT NULL
        ON CONFLICT (sha256) DO UPDATE SET size = EXCLUDED.size RETURNING id
    ), msg AS (
        INSERT INTO messages (ticket_id, direction, channel, author_customer_id, author_agent_id, from_address,
                              from_name, message_id, in_reply_to, references_ids, subject, body_text, body_html,
                              reply_text, auto_kind, raw_id, parse_warnings, sent_at)
        VALUES (ticket_id, 'in', p_channel, CASE WHEN v_agent IS NULL THEN customer_id END, v_agent,
                p_from_email, p_from_name, p_message_id, p_in_reply_to, v_refs, p_subject, p_body_text,
                p_body_html, p_reply_text, p_auto_kind, (SELECT id FROM raw), v_warnings, p_sent_at)
        RETURNING id
    ), audit AS (
        INSERT INTO audit_log (actor, action, ticket_id, customer_id, details)
        SELECT 'system', CASE WHEN outcome = 'new_ticket' THEN 'ticket.create' ELSE 'message.add' END,
               ticket_id, customer_id,
               jsonb_strip_nulls(jsonb_build_object(
                   'channel', p_channel, 'message_id', p_message_id, 'message', msg.id,
                   'mailbox', p_mailbox,
                   'warnings', CASE WHEN cardinality(v_warnings) > 0 THEN to_jsonb(v_warnings) END))
          FROM msg
        UNION ALL
        SELECT 'rules', 'ticket.route', ticket_id, customer_id, v_route_audit
         WHERE outcome = 'new_ticket' AND p_route IS NOT NULL
    ), seen AS (
        INSERT INTO intake_seen (mailbox, uidvalidity, uid, message_row_id)
        SELECT p_mailbox, p_uidvalidity, p_uid, msg.id FROM msg WHERE p_mailbox IS NOT NULL
        ON CONFLICT DO NOTHING RETURNING 1
    )
    SELECT msg.id, (SELECT count(*) FROM seen) INTO message_row_id, v_seen FROM msg;
    IF p_mailbox IS NOT NULL AND v_seen = 0 THEN
        RAISE EXCEPTION 'IMAP position %/%/% was recorded by another transaction', p_mailbox,
              p_uidvalidity, p_uid USING ERRCODE = 'unique_violation';
    END IF;
END;
$$;
