-- 006_mailloop.sql — what the automatic-mail policy needs to know, in one call.
--
-- Before an acknowledgement helpgated asks: is the address an agent's, is
-- the ticket acknowledged already, how much automatic mail went to that
-- address in the last hour, and about the ticket ever (throttle and cap
-- against auto-responder ping-pong).
CREATE INDEX outbox_auto_recent_idx ON outbox (created_at) WHERE kind IN ('ack', 'notice');

CREATE FUNCTION helpgate_auto_facts(p_ticket bigint, p_address text,
    OUT is_agent boolean, OUT acknowledged boolean, OUT recent_to_sender bigint, OUT on_ticket bigint)
LANGUAGE sql STABLE AS $$
    SELECT EXISTS (SELECT 1 FROM agents a WHERE lower(a.email) = lower(p_address) AND a.active)
           OR EXISTS (SELECT 1 FROM agent_aliases al JOIN agents a ON a.id = al.agent_id
                       WHERE lower(al.email) = lower(p_address) AND a.active),
           coalesce((SELECT t.acknowledged_at IS NOT NULL FROM tickets t WHERE t.id = p_ticket), false),
           (SELECT count(*) FROM outbox o
             WHERE o.kind IN ('ack', 'notice') AND o.created_at > now() - interval '1 hour'
               AND EXISTS (SELECT 1 FROM unnest(o.recipients) r WHERE lower(r) = lower(p_address))),
           (SELECT count(*) FROM outbox o WHERE o.kind IN ('ack', 'notice') AND o.ticket_id = p_ticket);
$$;
