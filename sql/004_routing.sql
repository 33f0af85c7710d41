-- 004_routing.sql — routing by the rules engine, in the transaction that stores the ticket.
--
-- helpgated evaluates the rules (parsers/rules_*.c) before storing a message:
-- helpgate_customer_facts() gives it what the rules know of the sender, and
-- helpgate_intake_routed() stores the message exactly as
-- helpgate_intake_message() does and, when that opened a new ticket, applies
-- the decision (a JSON object, see hg_rules_result_json()) with an audit row
-- `ticket.route`. Replies are not routed again.

-- What the rules may ask about a sender (customer.* fields). A sender we do not
-- know yet gives known = false and the defaults.
CREATE FUNCTION helpgate_customer_facts(p_email text,
    OUT known boolean, OUT tier text, OUT custom_code boolean, OUT custom_code_notes text,
    OUT company text, OUT open_tickets bigint)
LANGUAGE sql STABLE AS $$
    SELECT c.id IS NOT NULL, coalesce(c.tier, 'standard'), coalesce(c.custom_code, false), c.custom_code_notes,
           c.company,
           (SELECT count(*) FROM tickets t
             WHERE t.customer_id = c.id AND t.status IN ('new', 'open', 'pending'))
      FROM (SELECT 1) one
      LEFT JOIN customers c ON lower(c.email) = lower(p_email) AND coalesce(p_email, '') <> '';
$$;

-- Applies a routing decision to a ticket and records it.
CREATE FUNCTION helpgate_route_ticket(p_ticket bigint, p_route jsonb, p_customer bigint, p_actor text)
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    v_assignee bigint;
    v_details jsonb := p_route;
BEGIN
    IF p_route->>'assign' IS NOT NULL THEN
        SELECT a.id INTO v_assignee FROM agents a WHERE lower(a.email) = lower(p_route->>'assign') AND a.active;
        IF v_assignee IS NULL THEN
            v_details := v_details || jsonb_build_object('warning',
                format('assign: no active agent %s; the ticket is not assigned', p_route->>'assign'));
        END IF;
    END IF;
    UPDATE tickets t
       SET tier = p_route->>'tier',
           priority = coalesce(p_route->>'priority', 'normal'),
           queue = p_route->>'queue',
           tags = ARRAY(SELECT DISTINCT tag FROM (
                      SELECT unnest(t.tags) AS tag
                      UNION ALL SELECT jsonb_array_elements_text(coalesce(p_route->'tags', '[]'))) all_tags
                    ORDER BY tag),
           assignee_id = coalesce(v_assignee, t.assignee_id),
           matched_rule = p_route->>'rule',
           matched_rule_at = CASE WHEN coalesce((p_route->>'line')::int, 0) > 0
                                  THEN (p_route->>'file') || ':' || (p_route->>'line') END,
           route_actions = p_route,
           sla_policy = p_route->>'sla',
           updated_at = now()
     WHERE t.id = p_ticket;
    INSERT INTO audit_log (actor, action, ticket_id, customer_id, details)
    VALUES (p_actor, 'ticket.route', p_ticket, p_customer, v_details);
END;
$$;

-- helpgate_intake_message() plus the routing of a new ticket, in one call.
CREATE FUNCTION helpgate_intake_routed(
    p_mailbox text, p_uidvalidity bigint, p_uid bigint,
    p_channel text, p_message_id text, p_in_reply_to text, p_references text[],
    p_from_email text, p_from_name text, p_subject text, p_sent_at timestamptz,
    p_ticket_tag bigint, p_body_text text, p_body_html text, p_reply_text text,
    p_auto_kind text, p_warnings text[], p_support_address text,
    p_raw_sha256 bytea, p_raw bytea, p_route jsonb,
    OUT outcome text, OUT ticket_id bigint, OUT ticket_number bigint, OUT message_row_id bigint,
    OUT customer_id bigint)
LANGUAGE plpgsql AS $$
BEGIN
    SELECT i.outcome, i.ticket_id, i.ticket_number, i.message_row_id, i.customer_id
      INTO outcome, ticket_id, ticket_number, message_row_id, customer_id
      FROM helpgate_intake_message(p_mailbox, p_uidvalidity, p_uid, p_channel, p_message_id, p_in_reply_to,
                                   p_references, p_from_email, p_from_name, p_subject, p_sent_at, p_ticket_tag,
                                   p_body_text, p_body_html, p_reply_text, p_auto_kind, p_warnings,
                                   p_support_address, p_raw_sha256, p_raw) i;
    IF outcome = 'new_ticket' AND p_route IS NOT NULL THEN
        PERFORM helpgate_route_ticket(ticket_id, p_route, customer_id, 'rules');
    END IF;
END;
$$;
