-- helpers.sql — test-only SQL for tests/integration/retention.sh and
-- customer-erase.sh: data seeded through the functions helpgated calls
-- (intake, agent answer), then dated back, and a search of every column of
-- every table.

CREATE SEQUENCE t_uid;

-- One inbound mail, stored as helpgated's intake stores it, received P_DAYS ago.
CREATE FUNCTION t_mail(p_from text, p_name text, p_subject text, p_body text, p_days numeric,
                       p_message_id text DEFAULT NULL, p_in_reply_to text DEFAULT NULL,
                       OUT t_ticket bigint, OUT t_message bigint, OUT t_raw bigint, OUT t_number bigint,
                       OUT t_message_id text)
LANGUAGE plpgsql AS $$
DECLARE
    v_id text := coalesce(p_message_id, md5(p_from || p_subject || clock_timestamp()::text) || '@mua.client.test');
    v_at timestamptz := now() - p_days * interval '1 day';
    v_raw bytea;
    v record;
BEGIN
    v_raw := convert_to(format(E'From: %s <%s>\r\nTo: support@example.test\r\nSubject: %s\r\n'
                               'Message-ID: <%s>\r\n%sMIME-Version: 1.0\r\nContent-Type: text/plain\r\n\r\n%s\r\n',
                               p_name, p_from, p_subject, v_id,
                               CASE WHEN p_in_reply_to IS NOT NULL THEN format(E'In-Reply-To: <%s>\r\n', p_in_reply_to)
                                    ELSE '' END, p_body), 'UTF8');
    SELECT * INTO v FROM helpgate_intake_message('support', 1, nextval('t_uid'), 'email', v_id, p_in_reply_to, NULL,
        p_from, p_name, p_subject, v_at, 0, p_body, NULL, p_body, NULL, NULL, 'support@example.test',
        sha256(v_raw), v_raw);
    UPDATE messages m SET created_at = v_at WHERE m.id = v.message_row_id;
    UPDATE raw_messages r SET created_at = v_at FROM messages m WHERE m.id = v.message_row_id AND r.id = m.raw_id;
    IF v.outcome = 'new_ticket' THEN
        UPDATE tickets t SET created_at = v_at, updated_at = v_at WHERE t.id = v.ticket_id;
    END IF;
    t_ticket := v.ticket_id;
    t_message := v.message_row_id;
    t_number := v.ticket_number;
    t_message_id := v_id;
    SELECT m.raw_id INTO t_raw FROM messages m WHERE m.id = v.message_row_id;
END;
$$;

-- An attachment of a message, stored as daemon/intake.c stores it.
CREATE FUNCTION t_attach(p_message bigint, p_filename text, p_content text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    v_data bytea := convert_to(p_content, 'UTF8');
BEGIN
    INSERT INTO attachment_blobs (sha256, size, data, created_at)
    SELECT sha256(v_data), octet_length(v_data), v_data, m.created_at FROM messages m WHERE m.id = p_message
    ON CONFLICT (sha256) DO NOTHING;
    INSERT INTO attachments (message_id, blob_sha256, filename, content_type, size)
    VALUES (p_message, sha256(v_data), p_filename, 'application/pdf', octet_length(v_data));
    RETURN encode(sha256(v_data), 'hex');
END;
$$;

-- The answer of agent ann@support.test by mail, P_DAYS ago, and its relay to the customer (sent).
CREATE FUNCTION t_answer(p_number bigint, p_body text, p_days numeric) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    v_raw bytea := convert_to(E'From: Ann Agent <ann@support.test>\r\nSubject: Re\r\n\r\n' || p_body, 'UTF8');
    v_at timestamptz := now() - p_days * interval '1 day';
    v record;
BEGIN
    SELECT * INTO v FROM helpgate_agent_answer('support', 1, nextval('t_uid'), p_number,
        (SELECT id FROM agents WHERE email = 'ann@support.test'), md5(p_body) || '@support.test', 'out', 'Re',
        p_body, sha256(v_raw), v_raw, NULL, NULL);
    UPDATE messages m SET created_at = v_at WHERE m.id = v.message_row_id;
    UPDATE raw_messages r SET created_at = v_at FROM messages m WHERE m.id = v.message_row_id AND r.id = m.raw_id;
    INSERT INTO outbox (kind, ticket_id, message_row_id, mail_from, recipients, message_id, payload, status,
                        created_at, sent_at)
    VALUES ('relay', v.ticket_id, v.message_row_id, 'support@example.test', ARRAY[v.customer_email],
            'relay-' || v.message_row_id || '@example.test',
            convert_to(format(E'To: %s\r\nSubject: Re\r\n\r\n%s', v.customer_email, p_body), 'UTF8'),
            'sent', v_at, v_at);
    RETURN v.message_row_id;
END;
$$;

CREATE FUNCTION t_close(p_ticket bigint, p_days numeric) RETURNS void LANGUAGE sql AS $$
    UPDATE tickets SET status = 'closed', closed_at = now() - p_days * interval '1 day' WHERE id = p_ticket;
$$;

-- Every column of every table (of this schema) that holds P_TERM, case-insensitively, with the
-- number of rows: text, jsonb, arrays and inet as text, bytea as its escaped text.
CREATE FUNCTION t_find(p_term text) RETURNS TABLE (place text, hits bigint) LANGUAGE plpgsql AS $$
DECLARE
    c record;
BEGIN
    FOR c IN SELECT col.table_name, col.column_name, col.data_type
               FROM information_schema.columns col
               JOIN information_schema.tables tab
                 ON tab.table_schema = col.table_schema AND tab.table_name = col.table_name
              WHERE col.table_schema = current_schema() AND tab.table_type = 'BASE TABLE'
              ORDER BY 1, 2 LOOP
        EXECUTE format('SELECT count(*) FROM %I WHERE strpos(lower(%s), lower($1)) > 0', c.table_name,
                       CASE WHEN c.data_type = 'bytea' THEN format('encode(%I, ''escape'')', c.column_name)
                            ELSE format('%I::text', c.column_name) END)
           INTO hits USING p_term;
        IF hits > 0 THEN
            place := c.table_name || '.' || c.column_name;
            RETURN NEXT;
        END IF;
    END LOOP;
END;
$$;
