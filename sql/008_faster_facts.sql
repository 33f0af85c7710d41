-- 008_faster_facts.sql — helpgate_customer_facts() in PL/pgSQL.
--
-- bench/ingest showed routing doubling the backend's CPU per message: the
-- SQL-language version of this function (sql/004) is planned again at every
-- call, once per message. PL/pgSQL caches its plans per connection. Same
-- signature and results.
CREATE OR REPLACE FUNCTION helpgate_customer_facts(p_email text,
    OUT known boolean, OUT tier text, OUT custom_code boolean, OUT custom_code_notes text,
    OUT company text, OUT open_tickets bigint)
LANGUAGE plpgsql STABLE AS $$
DECLARE
    v_id bigint;
BEGIN
    known := false;
    tier := 'standard';
    custom_code := false;
    open_tickets := 0;
    IF coalesce(p_email, '') = '' THEN
        RETURN;
    END IF;
    SELECT c.id, c.tier, c.custom_code, c.custom_code_notes, c.company
      INTO v_id, tier, custom_code, custom_code_notes, company
      FROM customers c WHERE lower(c.email) = lower(p_email);
    IF NOT FOUND THEN
        tier := 'standard';
        custom_code := false;
        RETURN;
    END IF;
    known := true;
    SELECT count(*) INTO open_tickets FROM tickets t
     WHERE t.customer_id = v_id AND t.status IN ('new', 'open', 'pending');
END;
$$;
