-- 012_sla.sql — what the SLA scheduler needs on a ticket.
--
-- A new ticket gets first_response_due and resolution_due from its SLA
-- policy (the rules file's `sla` blocks; counted in the policy's business
-- hours) when it is routed. The scheduler of helpgated (several instances
-- may run it: rows are claimed FOR UPDATE SKIP LOCKED) then, for open
-- tickets:
--   * warns the team once before a due time (sla_warned_at, audit
--     'sla.warning'),
--   * on a breach records it once per target (first_response_breached_at,
--     resolution_breached_at, audit 'sla.breach') and escalates or notifies
--     a lead as the policy says (audit 'ticket.escalate').
-- A first response (an agent's answer) stops the first-response clock;
-- resolving or closing stops both.
ALTER TABLE tickets
    ADD COLUMN sla_warned_at timestamptz,
    ADD COLUMN first_response_breached_at timestamptz,
    ADD COLUMN resolution_breached_at timestamptz,
    ADD COLUMN escalations integer NOT NULL DEFAULT 0;

-- The scheduler's scan: open tickets with a due time not yet handled.
CREATE INDEX tickets_sla_first_response_idx ON tickets (first_response_due)
    WHERE first_response_at IS NULL AND first_response_breached_at IS NULL
      AND status IN ('new', 'open', 'pending');
CREATE INDEX tickets_sla_resolution_idx ON tickets (resolution_due)
    WHERE resolution_breached_at IS NULL AND status IN ('new', 'open', 'pending');

-- When the scheduler warns next: the earlier due time less the policy's
-- warning time (NULL: no warning).
ALTER TABLE tickets ADD COLUMN sla_warn_at timestamptz;
CREATE INDEX tickets_sla_warn_idx ON tickets (sla_warn_at)
    WHERE sla_warned_at IS NULL AND status IN ('new', 'open', 'pending');

-- helpgated computes the due times when it routes a new ticket (business
-- hours are the rules file's) and passes them in the route as epoch seconds:
-- "first_response_due", "resolution_due", "warn_at". The intake functions
-- (sql/009, sql/010) store the route in route_actions; this trigger turns
-- those fields into the ticket's columns, so that every way a routed ticket
-- is written gets them.
CREATE FUNCTION helpgate_ticket_sla_from_route() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.route_actions IS NOT NULL THEN
        IF NEW.route_actions ? 'first_response_due' THEN
            NEW.first_response_due := to_timestamp((NEW.route_actions->>'first_response_due')::double precision);
        END IF;
        IF NEW.route_actions ? 'resolution_due' THEN
            NEW.resolution_due := to_timestamp((NEW.route_actions->>'resolution_due')::double precision);
        END IF;
        IF NEW.route_actions ? 'warn_at' THEN
            NEW.sla_warn_at := to_timestamp((NEW.route_actions->>'warn_at')::double precision);
        END IF;
    END IF;
    RETURN NEW;
END;
$$;
CREATE TRIGGER tickets_sla_from_route BEFORE INSERT OR UPDATE OF route_actions ON tickets
    FOR EACH ROW EXECUTE FUNCTION helpgate_ticket_sla_from_route();

-- The scheduler's two steps, each one call in the scheduler's transaction;
-- helpgated then mails the notices the rows describe. p_now is the clock
-- (helpgatectl sla run --now injects another one for tests).

-- Warnings due by p_now: marked, audited, returned.
CREATE FUNCTION helpgate_sla_warnings(p_now timestamptz, p_limit integer)
RETURNS TABLE (ticket_id bigint, ticket_number bigint, tier text, target text, due timestamptz)
LANGUAGE plpgsql AS $$
DECLARE
    r record;
BEGIN
    FOR r IN SELECT t.id, t.number, t.tier, t.first_response_at, t.first_response_due, t.resolution_due
               FROM tickets t
              WHERE t.sla_warn_at <= p_now AND t.sla_warned_at IS NULL AND t.status IN ('new', 'open', 'pending')
              ORDER BY t.sla_warn_at
              LIMIT p_limit
                FOR UPDATE SKIP LOCKED
    LOOP
        ticket_id := r.id;
        ticket_number := r.number;
        tier := r.tier;
        IF r.first_response_at IS NULL AND r.first_response_due IS NOT NULL THEN
            target := 'first_response';
            due := r.first_response_due;
        ELSE
            target := 'resolution';
            due := r.resolution_due;
        END IF;
        UPDATE tickets SET sla_warned_at = p_now WHERE id = r.id;
        INSERT INTO audit_log (at, actor, action, ticket_id, details)
        VALUES (p_now, 'system', 'sla.warning', r.id, jsonb_build_object('target', target, 'due', due, 'tier', tier));
        RETURN NEXT;
    END LOOP;
END;
$$;

-- Breaches by p_now, once per target: recorded, audited, and acted on as the
-- route says (route_actions->>'sla_on_breach': 'escalate', the default, moves
-- the ticket one tier up, or notifies the L3 leads on L3; 'notify_lead'
-- notifies the leads of the ticket's tier). action: 'escalate' or 'notify_lead'.
CREATE FUNCTION helpgate_sla_breaches(p_now timestamptz, p_limit integer)
RETURNS TABLE (ticket_id bigint, ticket_number bigint, target text, due timestamptz, old_tier text,
               new_tier text, action text)
LANGUAGE plpgsql AS $$
DECLARE
    r record;
BEGIN
    FOR r IN SELECT t.id, t.number, t.tier, t.route_actions, t.first_response_due, t.resolution_due,
                    (t.first_response_due <= p_now AND t.first_response_at IS NULL
                     AND t.first_response_breached_at IS NULL) AS first_breached,
                    (t.resolution_due <= p_now AND t.resolution_breached_at IS NULL) AS resolution_breached
               FROM tickets t
              WHERE t.status IN ('new', 'open', 'pending')
                AND ((t.first_response_due <= p_now AND t.first_response_at IS NULL
                      AND t.first_response_breached_at IS NULL)
                     OR (t.resolution_due <= p_now AND t.resolution_breached_at IS NULL))
              ORDER BY least(t.first_response_due, t.resolution_due)
              LIMIT p_limit
                FOR UPDATE OF t SKIP LOCKED
    LOOP
        ticket_id := r.id;
        ticket_number := r.number;
        old_tier := r.tier;
        IF r.first_breached THEN
            target := 'first_response';
            due := r.first_response_due;
        ELSE
            target := 'resolution';
            due := r.resolution_due;
        END IF;
        action := CASE WHEN coalesce(r.route_actions->>'sla_on_breach', 'escalate') = 'notify_lead'
                         OR r.tier = 'L3' THEN 'notify_lead' ELSE 'escalate' END;
        new_tier := CASE WHEN action = 'escalate' THEN CASE r.tier WHEN 'L1' THEN 'L2' ELSE 'L3' END
                         ELSE r.tier END;
        UPDATE tickets t
           SET first_response_breached_at = CASE WHEN r.first_breached THEN p_now
                                                 ELSE t.first_response_breached_at END,
               resolution_breached_at = CASE WHEN r.resolution_breached THEN p_now
                                             ELSE t.resolution_breached_at END,
               tier = new_tier,
               escalations = t.escalations + CASE WHEN new_tier <> r.tier THEN 1 ELSE 0 END,
               updated_at = p_now
         WHERE t.id = r.id;
        INSERT INTO audit_log (at, actor, action, ticket_id, details)
        VALUES (p_now, 'system', 'sla.breach', r.id,
                jsonb_build_object('target', target, 'due', due, 'tier', r.tier, 'action', action));
        IF new_tier <> r.tier THEN
            INSERT INTO audit_log (at, actor, action, ticket_id, details)
            VALUES (p_now, 'system', 'ticket.escalate', r.id,
                    jsonb_build_object('from', r.tier, 'to', new_tier, 'reason', 'sla.' || target));
        END IF;
        RETURN NEXT;
    END LOOP;
END;
$$;
