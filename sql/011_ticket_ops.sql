-- 011_ticket_ops.sql — what an operator does to a ticket with helpgatectl,
-- one call each: assign, tier, status, internal note, merge.
--
-- Each function locks the ticket it changes, writes the change and its
-- audit row (actor 'ctl:USER', given by the caller) in the caller's one
-- statement, and refuses what makes no sense with an error that says what
-- to do instead:
--   no_data_found (P0002)            no such ticket or agent
--   invalid_parameter_value (22023)  inactive agent, a merged ticket, a merge
--                                    into itself or into a merged ticket, a
--                                    ticket made 'new' again
-- A change to what the ticket already is writes nothing: changed = false.
--
-- A merged ticket is closed and read-only: its messages stay where they are,
-- tickets.merged_into names the ticket that goes on, and intake, chat and
-- agents' answers follow merged_into one step (sql/007, 009, 010). Tickets
-- merged into the merged one are pointed at the survivor, so one step
-- always reaches it.

-- The ticket an operator names, locked for the change.
CREATE FUNCTION helpgate_ctl_ticket(p_number bigint, p_allow_merged boolean) RETURNS tickets
LANGUAGE plpgsql AS $$
DECLARE
    v_ticket tickets;
BEGIN
    SELECT * INTO v_ticket FROM tickets t WHERE t.number = p_number FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'no ticket #%', p_number USING ERRCODE = 'no_data_found',
              HINT = 'helpgatectl ticket list shows the tickets';
    END IF;
    IF v_ticket.merged_into IS NOT NULL AND NOT p_allow_merged THEN
        RAISE EXCEPTION 'ticket #% was merged into #%', p_number,
              (SELECT t.number FROM tickets t WHERE t.id = v_ticket.merged_into)
              USING ERRCODE = 'invalid_parameter_value',
                    HINT = format('a merged ticket is closed; change ticket #%s instead',
                                  (SELECT t.number FROM tickets t WHERE t.id = v_ticket.merged_into));
    END IF;
    RETURN v_ticket;
END;
$$;

-- The active agent with that address or alias.
CREATE FUNCTION helpgate_ctl_agent(p_email text) RETURNS agents
LANGUAGE plpgsql STABLE AS $$
DECLARE
    v_agent agents;
BEGIN
    SELECT * INTO v_agent FROM agents a
     WHERE lower(a.email) = lower(p_email)
        OR a.id = (SELECT al.agent_id FROM agent_aliases al WHERE lower(al.email) = lower(p_email));
    IF NOT FOUND THEN
        RAISE EXCEPTION 'no agent %', p_email USING ERRCODE = 'no_data_found',
              HINT = 'helpgatectl agent list shows them; helpgatectl agent add adds one';
    END IF;
    IF NOT v_agent.active THEN
        RAISE EXCEPTION 'agent % is inactive', v_agent.email USING ERRCODE = 'invalid_parameter_value',
              HINT = format('helpgatectl agent activate %s first, or choose another agent', v_agent.email);
    END IF;
    RETURN v_agent;
END;
$$;

-- Assigns a ticket to an agent (by address or alias), or to nobody (p_agent NULL).
CREATE FUNCTION helpgate_ticket_assign(p_number bigint, p_agent text, p_actor text,
                                       OUT changed boolean, OUT old_assignee text, OUT new_assignee text)
LANGUAGE plpgsql AS $$
DECLARE
    v_ticket tickets := helpgate_ctl_ticket(p_number, false);
    v_agent agents;
BEGIN
    IF p_agent IS NOT NULL THEN
        v_agent := helpgate_ctl_agent(p_agent);
    END IF;
    SELECT a.email INTO old_assignee FROM agents a WHERE a.id = v_ticket.assignee_id;
    new_assignee := v_agent.email;
    changed := v_ticket.assignee_id IS DISTINCT FROM v_agent.id;
    IF NOT changed THEN
        RETURN;
    END IF;
    UPDATE tickets t SET assignee_id = v_agent.id, updated_at = now() WHERE t.id = v_ticket.id;
    INSERT INTO audit_log (actor, action, ticket_id, customer_id, details)
    VALUES (p_actor, 'ticket.assign', v_ticket.id, v_ticket.customer_id,
            jsonb_build_object('from', old_assignee, 'to', new_assignee));
END;
$$;

-- Moves a ticket to another tier: 'ticket.tier' {from, to, reason}, and when it
-- goes up also 'ticket.escalate' (as an agent's #tier does), for the new team's
-- notification.
CREATE FUNCTION helpgate_ticket_tier(p_number bigint, p_tier text, p_reason text, p_actor text,
                                     OUT changed boolean, OUT old_tier text, OUT new_tier text)
LANGUAGE plpgsql AS $$
DECLARE
    v_ticket tickets := helpgate_ctl_ticket(p_number, false);
    v_details jsonb;
BEGIN
    IF p_tier IS NULL OR p_tier NOT IN ('L1', 'L2', 'L3') THEN
        RAISE EXCEPTION 'no tier %', coalesce(p_tier, 'NULL') USING ERRCODE = 'invalid_parameter_value',
              HINT = 'the tiers are L1, L2 and L3';
    END IF;
    old_tier := v_ticket.tier;
    new_tier := p_tier;
    changed := old_tier <> new_tier;
    IF NOT changed THEN
        RETURN;
    END IF;
    UPDATE tickets t SET tier = new_tier, updated_at = now() WHERE t.id = v_ticket.id;
    v_details := jsonb_strip_nulls(jsonb_build_object('from', old_tier, 'to', new_tier, 'reason', p_reason));
    INSERT INTO audit_log (actor, action, ticket_id, customer_id, details)
    SELECT p_actor, 'ticket.tier', v_ticket.id, v_ticket.customer_id, v_details
    UNION ALL
    SELECT p_actor, 'ticket.escalate', v_ticket.id, v_ticket.customer_id, v_details WHERE new_tier > old_tier;
END;
$$;

-- Sets a ticket's status and keeps the timestamps consistent with it:
-- resolved_at is set while the ticket is resolved or closed, closed_at while it
-- is closed; a ticket reopened (new, open, pending) has neither, as a
-- customer's reply leaves it (sql/009). A ticket never becomes 'new' again.
CREATE FUNCTION helpgate_ticket_status(p_number bigint, p_status text, p_actor text,
                                       OUT changed boolean, OUT old_status text, OUT new_status text)
LANGUAGE plpgsql AS $$
DECLARE
    v_ticket tickets := helpgate_ctl_ticket(p_number, false);
BEGIN
    IF p_status IS NULL OR p_status NOT IN ('new', 'open', 'pending', 'resolved', 'closed') THEN
        RAISE EXCEPTION 'no status %', coalesce(p_status, 'NULL') USING ERRCODE = 'invalid_parameter_value',
              HINT = 'the statuses are new, open, pending, resolved and closed';
    END IF;
    old_status := v_ticket.status;
    new_status := p_status;
    changed := old_status <> new_status;
    IF NOT changed THEN
        RETURN;
    END IF;
    IF new_status = 'new' THEN
        RAISE EXCEPTION 'ticket #% is %; it cannot become new again', p_number, old_status
              USING ERRCODE = 'invalid_parameter_value', HINT = 'reopen it with status open';
    END IF;
    UPDATE tickets t
       SET status = new_status, updated_at = now(),
           resolved_at = CASE WHEN new_status IN ('resolved', 'closed')
                              THEN CASE WHEN old_status IN ('resolved', 'closed') THEN coalesce(t.resolved_at, now())
                                        ELSE now() END END,
           closed_at = CASE WHEN new_status = 'closed' THEN now() END
     WHERE t.id = v_ticket.id;
    INSERT INTO audit_log (actor, action, ticket_id, customer_id, details)
    VALUES (p_actor, 'ticket.status', v_ticket.id, v_ticket.customer_id,
            jsonb_build_object('status', new_status, 'from', old_status));
END;
$$;

-- An internal note by an operator: a message with direction 'note', no agent as
-- author, the operator's name as from_name.
CREATE FUNCTION helpgate_ticket_note(p_number bigint, p_text text, p_operator text, p_actor text,
                                     OUT message_row_id bigint)
LANGUAGE plpgsql AS $$
DECLARE
    v_ticket tickets := helpgate_ctl_ticket(p_number, false);
BEGIN
    IF coalesce(btrim(p_text, E' \t\r\n'), '') = '' THEN
        RAISE EXCEPTION 'an empty note' USING ERRCODE = 'invalid_parameter_value',
              HINT = 'give the text, or - to read it from standard input';
    END IF;
    INSERT INTO messages (ticket_id, direction, channel, from_name, body_text, reply_text)
    VALUES (v_ticket.id, 'note', v_ticket.channel, p_operator, p_text, p_text)
    RETURNING id INTO message_row_id;
    UPDATE tickets t SET updated_at = now() WHERE t.id = v_ticket.id;
    INSERT INTO audit_log (actor, action, ticket_id, customer_id, details)
    VALUES (p_actor, 'ticket.note', v_ticket.id, v_ticket.customer_id,
            jsonb_build_object('message', message_row_id));
END;
$$;

-- Merges ticket p_number into p_into: the merged ticket is closed and points at
-- the survivor; tickets merged into it before now point at the survivor too. Each
-- ticket concerned gets a 'ticket.merge' row: {merged, into, from_status} on the merged one,
-- {merged, into[, also]} on the survivor, {merged, into, via} on each ticket pointed anew.
CREATE FUNCTION helpgate_ticket_merge(p_number bigint, p_into bigint, p_actor text,
                                      OUT also_moved bigint[])
LANGUAGE plpgsql AS $$
DECLARE
    v_from tickets;
    v_into tickets;
BEGIN
    IF p_number = p_into THEN
        RAISE EXCEPTION 'cannot merge ticket #% into itself', p_number USING ERRCODE = 'invalid_parameter_value',
              HINT = 'name the ticket that goes on as the second number';
    END IF;
    -- Both rows locked in one order, so that two crossed merges cannot deadlock.
    PERFORM 1 FROM tickets t WHERE t.number IN (p_number, p_into) ORDER BY t.id FOR UPDATE;
    v_from := helpgate_ctl_ticket(p_number, true);
    IF v_from.merged_into IS NOT NULL THEN
        RAISE EXCEPTION 'ticket #% is already merged into #%', p_number,
              (SELECT t.number FROM tickets t WHERE t.id = v_from.merged_into)
              USING ERRCODE = 'invalid_parameter_value';
    END IF;
    v_into := helpgate_ctl_ticket(p_into, true);
    IF v_into.merged_into IS NOT NULL THEN
        RAISE EXCEPTION 'ticket #% was merged into #% itself', p_into,
              (SELECT t.number FROM tickets t WHERE t.id = v_into.merged_into)
              USING ERRCODE = 'invalid_parameter_value',
                    HINT = format('merge into ticket #%s instead',
                                  (SELECT t.number FROM tickets t WHERE t.id = v_into.merged_into));
    END IF;

    WITH moved AS (
        UPDATE tickets t SET merged_into = v_into.id, updated_at = now()
         WHERE t.merged_into = v_from.id RETURNING t.id, t.number, t.customer_id)
    , logged AS (
        INSERT INTO audit_log (actor, action, ticket_id, customer_id, details)
        SELECT p_actor, 'ticket.merge', m.id, m.customer_id,
               jsonb_build_object('merged', m.number, 'into', p_into, 'via', p_number)
          FROM moved m)
    SELECT coalesce(array_agg(m.number ORDER BY m.number), '{}') INTO also_moved FROM moved m;

    UPDATE tickets t
       SET merged_into = v_into.id, status = 'closed', updated_at = now(),
           resolved_at = coalesce(t.resolved_at, now()), closed_at = coalesce(t.closed_at, now())
     WHERE t.id = v_from.id;
    UPDATE tickets t SET updated_at = now() WHERE t.id = v_into.id;
    INSERT INTO audit_log (actor, action, ticket_id, customer_id, details)
    VALUES (p_actor, 'ticket.merge', v_from.id, v_from.customer_id,
            jsonb_build_object('merged', p_number, 'into', p_into, 'from_status', v_from.status)),
           (p_actor, 'ticket.merge', v_into.id, v_into.customer_id,
            jsonb_build_object('merged', p_number, 'into', p_into)
            || CASE WHEN cardinality(also_moved) > 0 THEN jsonb_build_object('also', also_moved) ELSE '{}' END);
END;
$$;
