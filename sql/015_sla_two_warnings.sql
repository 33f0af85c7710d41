-- 015_sla_two_warnings.sql — a warning before each SLA target while it is at stake.
--
-- sql/012 warned once per ticket, at the earlier of the two warning times.
-- A ticket answered before its first-response warning time then got, at
-- that time, a "resolution" warning hours before the resolution's own
-- warning time, and none later; a ticket warned about its first response got
-- no warning before its resolution due time. Now the route also carries the
-- resolution's warning time ("resolution_warn_at", set by helpgated since
-- this migration; the trigger keeps it in sla_resolution_warn_at), and:
--   * at the first warning time the first response is warned about when it
--     is still missing (an answered ticket is not warned about), then the
--     ticket is armed again for the resolution's warning time;
--   * at that time the resolution is warned about, once.
-- Tickets routed before this migration (no resolution_warn_at) keep the old
-- single warning.

ALTER TABLE tickets ADD COLUMN sla_resolution_warn_at timestamptz;

CREATE OR REPLACE FUNCTION helpgate_ticket_sla_from_route() RETURNS trigger LANGUAGE plpgsql AS $$
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
        IF NEW.route_actions ? 'resolution_warn_at' THEN
            NEW.sla_resolution_warn_at :=
                to_timestamp((NEW.route_actions->>'resolution_warn_at')::double precision);
        END IF;
    END IF;
    RETURN NEW;
END;
$$;

-- Warnings due by p_now: marked (or armed for the next one), audited, returned.
CREATE OR REPLACE FUNCTION helpgate_sla_warnings(p_now timestamptz, p_limit integer)
RETURNS TABLE (ticket_id bigint, ticket_number bigint, tier text, target text, due timestamptz)
LANGUAGE plpgsql AS $$
DECLARE
    r record;
    v_resolution_armed boolean;
BEGIN
    FOR r IN SELECT t.id, t.number, t.tier, t.first_response_at, t.first_response_due, t.resolution_due,
                    t.sla_warn_at, t.sla_resolution_warn_at
               FROM tickets t
              WHERE t.sla_warn_at <= p_now AND t.sla_warned_at IS NULL AND t.status IN ('new', 'open', 'pending')
              ORDER BY t.sla_warn_at
              LIMIT p_limit
                FOR UPDATE SKIP LOCKED
    LOOP
        ticket_id := r.id;
        ticket_number := r.number;
        tier := r.tier;
        target := NULL;
        -- Armed for the resolution's own warning time, or (routed before sql/015) the single warning.
        v_resolution_armed := r.sla_resolution_warn_at IS NOT NULL AND r.sla_warn_at >= r.sla_resolution_warn_at;
        IF NOT v_resolution_armed AND r.first_response_at IS NULL AND r.first_response_due IS NOT NULL THEN
            target := 'first_response';
            due := r.first_response_due;
        ELSIF (v_resolution_armed OR r.sla_resolution_warn_at IS NULL) AND r.resolution_due IS NOT NULL THEN
            target := 'resolution';
            due := r.resolution_due;
        END IF;
        IF NOT v_resolution_armed AND r.sla_resolution_warn_at IS NOT NULL AND r.resolution_due IS NOT NULL THEN
            UPDATE tickets SET sla_warn_at = greatest(r.sla_resolution_warn_at, p_now) WHERE id = r.id;
        ELSE
            UPDATE tickets SET sla_warned_at = p_now WHERE id = r.id;
        END IF;
        IF target IS NOT NULL THEN
            INSERT INTO audit_log (at, actor, action, ticket_id, details)
            VALUES (p_now, 'system', 'sla.warning', r.id,
                    jsonb_build_object('target', target, 'due', due, 'tier', tier));
            RETURN NEXT;
        END IF;
    END LOOP;
END;
$$;
