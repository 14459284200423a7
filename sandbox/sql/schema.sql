-- The migrations' result on an empty database (sandbox/sql/schema.py): made by
-- `sandbox template --write-schema`; never edited by hand.
--
-- PostgreSQL database dump
--



SET statement_timeout = 0;
SET lock_timeout = 0;
SET idle_in_transaction_session_timeout = 0;
SET transaction_timeout = 0;
SET client_encoding = 'UTF8';
SET standard_conforming_strings = on;
SELECT pg_catalog.set_config('search_path', '', false);
SET check_function_bodies = false;
SET xmloption = content;
SET client_min_messages = warning;
SET row_security = off;

--
-- Name: idempotency_claim(text, character varying, character varying); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.idempotency_claim(k_lock text, k_scope character varying, k_key character varying) RETURNS TABLE(got_lock boolean, request_hash character varying, response_status integer, response_headers jsonb, response_body bytea)
    LANGUAGE plpgsql
    AS $$
#variable_conflict use_column
BEGIN
    got_lock := pg_try_advisory_xact_lock(hashtextextended(k_lock, 0));
    IF got_lock THEN
        -- A statement of its own inside a volatile function takes its snapshot now, after
        -- the lock was granted: a request that held the key and committed is seen here.
        SELECT s.request_hash, s.response_status, s.response_headers, s.response_body
          INTO request_hash, response_status, response_headers, response_body
          FROM idempotency_stored(k_scope, k_key) s;
    END IF;
    RETURN NEXT;
END $$;


--
-- Name: idempotency_store(character varying, character varying, character varying, integer, jsonb, bytea, interval); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.idempotency_store(k_scope character varying, k_key character varying, k_hash character varying, k_status integer, k_headers jsonb, k_body bytea, k_ttl interval) RETURNS boolean
    LANGUAGE plpgsql
    AS $$
BEGIN
    INSERT INTO idempotency_key (scope, key, request_hash, response_status, response_headers, response_body,
                                 created_at, expires_at)
    VALUES (k_scope, k_key, k_hash, k_status, k_headers, k_body, now(), now() + k_ttl)
    ON CONFLICT (scope, key) DO UPDATE SET
        request_hash = EXCLUDED.request_hash, response_status = EXCLUDED.response_status,
        response_headers = EXCLUDED.response_headers, response_body = EXCLUDED.response_body,
        created_at = EXCLUDED.created_at, expires_at = EXCLUDED.expires_at
    WHERE idempotency_key.expires_at <= now();
    RETURN FOUND;
END $$;


--
-- Name: idempotency_stored(character varying, character varying); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.idempotency_stored(k_scope character varying, k_key character varying) RETURNS TABLE(request_hash character varying, response_status integer, response_headers jsonb, response_body bytea)
    LANGUAGE sql STABLE
    AS $$
    SELECT k.request_hash, k.response_status, k.response_headers, k.response_body
      FROM idempotency_key k
     WHERE k.scope = k_scope AND k.key = k_key AND k.expires_at > now()
$$;


--
-- Name: ledger_is_append_only(); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.ledger_is_append_only() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
BEGIN
    IF TG_OP = 'DELETE'
       AND OLD.merchant = current_setting('sandbox.removing_merchant', true) THEN
        RETURN OLD;
    END IF;
    RAISE EXCEPTION 'ledger rows are append-only' USING ERRCODE = '23514';
END $$;


--
-- Name: ledger_post(character varying, character varying, character varying, timestamp with time zone, text[], bigint[]); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.ledger_post(p_merchant character varying, p_kind character varying, p_payout_id character varying, p_at timestamp with time zone, p_buckets text[], p_amounts bigint[]) RETURNS TABLE(transaction_id bigint, available bigint, locked bigint, pending bigint)
    LANGUAGE plpgsql
    AS $$
#variable_conflict use_column
BEGIN
    RETURN QUERY
    WITH leg AS (
        SELECT l.bucket, l.amount, l.ord FROM unnest(p_buckets, p_amounts) WITH ORDINALITY AS l(bucket, amount, ord)
    ), d AS (
        SELECT COALESCE(sum(leg.amount) FILTER (WHERE leg.bucket = 'available'), 0) AS available,
               COALESCE(sum(leg.amount) FILTER (WHERE leg.bucket = 'locked'), 0) AS locked,
               COALESCE(sum(leg.amount) FILTER (WHERE leg.bucket = 'pending'), 0) AS pending,
               count(*) FILTER (WHERE leg.bucket <> 'external') AS legs
          FROM leg
    ), moved AS (
        UPDATE balance b
           SET available = b.available + d.available, locked = b.locked + d.locked, pending = b.pending + d.pending,
               last_seq = b.last_seq + d.legs, updated_at = p_at
          FROM d
         WHERE b.merchant = p_merchant
           AND b.available + d.available >= 0 AND b.locked + d.locked >= 0 AND b.pending + d.pending >= 0
        RETURNING b.available, b.locked, b.pending, b.last_seq - d.legs AS seq_before
    ), tx AS (
        INSERT INTO ledger_transaction (merchant, kind, payout_id, created_at)
        SELECT p_merchant, p_kind, p_payout_id, p_at FROM moved
        RETURNING id
    ), entries AS (
        INSERT INTO ledger_entry (transaction, merchant, bucket, amount, seq, kind, payout_id, created_at)
        SELECT tx.id, p_merchant, leg.bucket, leg.amount,
               CASE WHEN leg.bucket = 'external' THEN NULL
                    ELSE moved.seq_before + count(*) FILTER (WHERE leg.bucket <> 'external') OVER (ORDER BY leg.ord) END,
               p_kind, p_payout_id, p_at
          FROM leg, moved, tx
    )
    SELECT tx.id, moved.available, moved.locked, moved.pending FROM tx, moved;
END $$;


--
-- Name: ledger_post_many(character varying, timestamp with time zone, character varying[], character varying[], text[], bigint[]); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.ledger_post_many(p_merchant character varying, p_at timestamp with time zone, p_kinds character varying[], p_payout_ids character varying[], p_buckets text[], p_amounts bigint[]) RETURNS TABLE(payout_id character varying, transaction_id bigint)
    LANGUAGE plpgsql
    AS $$
-- p_buckets, p_amounts: two-dimensional, one row per posting (in posting order), one
-- column per leg; a posting with fewer legs than the widest pads with NULL buckets.
#variable_conflict use_column
DECLARE
    width int := array_length(p_buckets, 2);
BEGIN
    RETURN QUERY
    -- A two-dimensional array unnests row by row: element k is leg (k - 1) % width + 1 of
    -- posting (k - 1) / width + 1.
    WITH leg AS (
        SELECT (l.k - 1) / width + 1 AS ord, l.k, l.bucket, l.amount
          FROM unnest(p_buckets, p_amounts) WITH ORDINALITY AS l(bucket, amount, k)
         WHERE l.bucket IS NOT NULL
    ), d AS (
        SELECT COALESCE(sum(p.da), 0) AS da, COALESCE(sum(p.dl), 0) AS dl, COALESCE(sum(p.dp), 0) AS dp,
               COALESCE(sum(p.legs), 0) AS legs,
               LEAST(0, min(p.ra)) AS low_a, LEAST(0, min(p.rl)) AS low_l, LEAST(0, min(p.rp)) AS low_p
          FROM (SELECT s.da, s.dl, s.dp, s.legs,
                       sum(s.da) OVER (ORDER BY s.ord) AS ra, sum(s.dl) OVER (ORDER BY s.ord) AS rl,
                       sum(s.dp) OVER (ORDER BY s.ord) AS rp
                  FROM (SELECT leg.ord,
                               COALESCE(sum(leg.amount) FILTER (WHERE leg.bucket = 'available'), 0) AS da,
                               COALESCE(sum(leg.amount) FILTER (WHERE leg.bucket = 'locked'), 0) AS dl,
                               COALESCE(sum(leg.amount) FILTER (WHERE leg.bucket = 'pending'), 0) AS dp,
                               count(*) FILTER (WHERE leg.bucket <> 'external') AS legs
                          FROM leg GROUP BY leg.ord) s) p
    ), moved AS (
        UPDATE balance b
           SET available = b.available + d.da, locked = b.locked + d.dl, pending = b.pending + d.dp,
               last_seq = b.last_seq + d.legs, updated_at = p_at
          FROM d
         WHERE b.merchant = p_merchant
           AND b.available + d.low_a >= 0 AND b.locked + d.low_l >= 0 AND b.pending + d.low_p >= 0
        RETURNING b.last_seq - d.legs AS seq_before
    ), posting AS (
        -- Ids taken in posting order, so a payout's transactions stay in order by id.
        SELECT x.ord, x.kind, x.payout_id, nextval(pg_get_serial_sequence('ledger_transaction', 'id')) AS id
          FROM unnest(p_kinds, p_payout_ids) WITH ORDINALITY AS x(kind, payout_id, ord), moved
         ORDER BY x.ord
    ), tx AS (
        INSERT INTO ledger_transaction (id, merchant, kind, payout_id, created_at)
        SELECT posting.id, p_merchant, posting.kind, posting.payout_id, p_at FROM posting ORDER BY posting.ord
    ), entries AS (
        INSERT INTO ledger_entry (transaction, merchant, bucket, amount, seq, kind, payout_id, created_at)
        SELECT posting.id, p_merchant, leg.bucket, leg.amount,
               CASE WHEN leg.bucket = 'external' THEN NULL
                    ELSE moved.seq_before + count(*) FILTER (WHERE leg.bucket <> 'external') OVER (ORDER BY leg.k) END,
               posting.kind, posting.payout_id, p_at
          FROM leg JOIN posting ON posting.ord = leg.ord CROSS JOIN moved
         ORDER BY leg.k
    )
    SELECT posting.payout_id, posting.id FROM posting ORDER BY posting.ord;
END $$;


--
-- Name: ledger_transaction_balanced(); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.ledger_transaction_balanced() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
DECLARE
    unbalanced bigint;
    total bigint;
BEGIN
    SELECT "transaction", sum(amount) INTO unbalanced, total
      FROM inserted GROUP BY "transaction" HAVING sum(amount) <> 0 LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'ledger transaction % does not balance (sum %)', unbalanced, total
            USING ERRCODE = '23514';
    END IF;
    RETURN NULL;
END $$;


--
-- Name: metric_count_attempt(); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.metric_count_attempt() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
DECLARE
    row webhook_attempt := CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
BEGIN
    INSERT INTO metric_count_delta VALUES ('webhook_attempts',
        CASE WHEN row.status_code BETWEEN 200 AND 299 THEN 'success'
             WHEN row.status_code IS NOT NULL THEN 'http_' || (row.status_code / 100)::text || 'xx'
             ELSE 'no_response' END,
        CASE WHEN TG_OP = 'DELETE' THEN -1 ELSE 1 END);
    RETURN NULL;
END $$;


--
-- Name: metric_count_attempts_inserted(); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.metric_count_attempts_inserted() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
BEGIN
    INSERT INTO metric_count_delta
    SELECT 'webhook_attempts', outcome, count(*)::integer
      FROM (SELECT CASE WHEN status_code BETWEEN 200 AND 299 THEN 'success'
                        WHEN status_code IS NOT NULL THEN 'http_' || (status_code / 100)::text || 'xx'
                        ELSE 'no_response' END AS outcome
              FROM inserted) o
     GROUP BY outcome;
    RETURN NULL;
END $$;


--
-- Name: metric_count_inserted(); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.metric_count_inserted() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
BEGIN
    INSERT INTO metric_count_delta SELECT TG_ARGV[0], status, count(*)::integer FROM inserted GROUP BY status;
    RETURN NULL;
END $$;


--
-- Name: metric_count_reset(); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.metric_count_reset() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
BEGIN
    DELETE FROM metric_count WHERE metric = TG_ARGV[0];
    DELETE FROM metric_count_delta WHERE metric = TG_ARGV[0];
    RETURN NULL;
END $$;


--
-- Name: metric_count_status(); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.metric_count_status() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO metric_count_delta VALUES (TG_ARGV[0], NEW.status, 1);
    ELSIF TG_OP = 'DELETE' THEN
        INSERT INTO metric_count_delta VALUES (TG_ARGV[0], OLD.status, -1);
    ELSE
        INSERT INTO metric_count_delta VALUES (TG_ARGV[0], OLD.status, -1), (TG_ARGV[0], NEW.status, 1);
    END IF;
    RETURN NULL;
END $$;


--
-- Name: metric_count_status_changed(); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.metric_count_status_changed() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
BEGIN
    INSERT INTO metric_count_delta
    SELECT TG_ARGV[0], status, sum(n)::integer
      FROM (SELECT status, 1 AS n FROM new_rows UNION ALL SELECT status, -1 FROM old_rows) counted
     GROUP BY status HAVING sum(n) <> 0;
    RETURN NULL;
END $$;


--
-- Name: notify_auth_changed(); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.notify_auth_changed() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
BEGIN
    PERFORM pg_notify('sandbox_auth', TG_TABLE_NAME);
    RETURN NULL;
END $$;


--
-- Name: outbox_emit(character varying, character varying, character varying, character varying, jsonb, timestamp with time zone, jsonb); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.outbox_emit(p_id character varying, p_merchant character varying, p_type character varying, p_payout_id character varying, p_data jsonb, p_at timestamp with time zone, p_request jsonb DEFAULT NULL::jsonb) RETURNS character varying
    LANGUAGE plpgsql
    AS $$
DECLARE
    written integer;
BEGIN
    written := outbox_emit_many(ARRAY[p_id], ARRAY[p_merchant], ARRAY[p_type], ARRAY[p_payout_id], ARRAY[p_data],
                                ARRAY[p_at], ARRAY[p_request]);
    RETURN p_id;
END $$;


--
-- Name: outbox_emit_many(character varying[], character varying[], character varying[], character varying[], jsonb[], timestamp with time zone[], jsonb[]); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.outbox_emit_many(p_ids character varying[], p_merchants character varying[], p_types character varying[], p_payout_ids character varying[], p_data jsonb[], p_ats timestamp with time zone[], p_requests jsonb[]) RETURNS integer
    LANGUAGE plpgsql
    SET plan_cache_mode TO 'force_generic_plan'
    AS $$
DECLARE
    written integer;
BEGIN
    WITH given AS (
        SELECT e.*,
               CASE WHEN e.payout_id IS NULL THEN 1
                    ELSE (SELECT coalesce(max(x.sequence), 0) FROM outbox_event x WHERE x.payout_id = e.payout_id)
                         + row_number() OVER (PARTITION BY e.payout_id ORDER BY e.ord)
               END AS sequence
          FROM unnest(p_ids, p_merchants, p_types, p_payout_ids, p_data, p_ats, p_requests)
               WITH ORDINALITY AS e(id, merchant, type, payout_id, data, at, request, ord)
    ), event AS (
        INSERT INTO outbox_event (id, merchant, type, payout_id, data, created_at, request, sequence)
        SELECT id, merchant, type, payout_id, data, at, request, sequence FROM given ORDER BY ord
        RETURNING created_at, number
    ), line AS (
        INSERT INTO outbox_unrelayed (created_at, number) SELECT created_at, number FROM event RETURNING 1
    )
    SELECT count(*)::integer INTO written FROM line;
    RETURN written;
END $$;


SET default_tablespace = '';

SET default_table_access_method = heap;

--
-- Name: payout; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.payout (
    id character varying(40) DEFAULT ''::character varying NOT NULL,
    number bigint NOT NULL,
    merchant character varying(40) DEFAULT NULL::character varying NOT NULL,
    amount bigint DEFAULT 0 NOT NULL,
    currency character varying(3) DEFAULT ''::character varying NOT NULL,
    status character varying(20) DEFAULT ''::character varying NOT NULL,
    scenario character varying(40) DEFAULT ''::character varying NOT NULL,
    destination jsonb DEFAULT '{}'::jsonb NOT NULL,
    reference character varying(64) DEFAULT NULL::character varying,
    description text,
    metadata jsonb,
    attempts integer DEFAULT 0 NOT NULL,
    failure_code character varying(40) DEFAULT NULL::character varying,
    psp_reference character varying(40) DEFAULT NULL::character varying,
    status_history jsonb DEFAULT '[]'::jsonb NOT NULL,
    next_action_at timestamp with time zone,
    created_at timestamp with time zone DEFAULT CURRENT_TIMESTAMP NOT NULL,
    updated_at timestamp with time zone DEFAULT CURRENT_TIMESTAMP NOT NULL,
    step_index integer DEFAULT 0 NOT NULL,
    track character varying(16) DEFAULT 'main'::character varying NOT NULL,
    script jsonb,
    CONSTRAINT amount_positive CHECK ((amount > 0))
)
WITH (autovacuum_analyze_threshold='500', autovacuum_analyze_scale_factor='0.02', autovacuum_vacuum_threshold='1000', autovacuum_vacuum_scale_factor='0.05', autovacuum_vacuum_insert_scale_factor='0.05');
ALTER TABLE ONLY public.payout ALTER COLUMN id SET STATISTICS 10;
ALTER TABLE ONLY public.payout ALTER COLUMN number SET STATISTICS 10;
ALTER TABLE ONLY public.payout ALTER COLUMN merchant SET STATISTICS 10;
ALTER TABLE ONLY public.payout ALTER COLUMN amount SET STATISTICS 10;
ALTER TABLE ONLY public.payout ALTER COLUMN currency SET STATISTICS 10;
ALTER TABLE ONLY public.payout ALTER COLUMN status SET STATISTICS 10;
ALTER TABLE ONLY public.payout ALTER COLUMN scenario SET STATISTICS 10;
ALTER TABLE ONLY public.payout ALTER COLUMN destination SET STATISTICS 10;
ALTER TABLE ONLY public.payout ALTER COLUMN reference SET STATISTICS 10;
ALTER TABLE ONLY public.payout ALTER COLUMN description SET STATISTICS 10;
ALTER TABLE ONLY public.payout ALTER COLUMN metadata SET STATISTICS 0;
ALTER TABLE ONLY public.payout ALTER COLUMN attempts SET STATISTICS 10;
ALTER TABLE ONLY public.payout ALTER COLUMN failure_code SET STATISTICS 10;
ALTER TABLE ONLY public.payout ALTER COLUMN psp_reference SET STATISTICS 10;
ALTER TABLE ONLY public.payout ALTER COLUMN status_history SET STATISTICS 0;
ALTER TABLE ONLY public.payout ALTER COLUMN next_action_at SET STATISTICS 10;
ALTER TABLE ONLY public.payout ALTER COLUMN created_at SET STATISTICS 10;
ALTER TABLE ONLY public.payout ALTER COLUMN updated_at SET STATISTICS 10;
ALTER TABLE ONLY public.payout ALTER COLUMN step_index SET STATISTICS 10;
ALTER TABLE ONLY public.payout ALTER COLUMN track SET STATISTICS 10;
ALTER TABLE ONLY public.payout ALTER COLUMN script SET STATISTICS 10;


--
-- Name: payout_claim_due(timestamp with time zone, text[], integer, character varying[], integer, integer, character varying[]); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.payout_claim_due(p_at timestamp with time zone, p_leave text[], p_limit integer, p_skip character varying[], p_shares integer, p_share integer, p_only character varying[] DEFAULT NULL::character varying[]) RETURNS SETOF public.payout
    LANGUAGE plpgsql
    SET enable_bitmapscan TO 'off'
    SET enable_seqscan TO 'off'
    SET enable_sort TO 'off'
    SET jit TO 'off'
    AS $$
BEGIN
    IF p_only IS NULL THEN
        RETURN QUERY
        WITH first AS (
            SELECT p.merchant FROM payout p
             WHERE p.next_action_at <= p_at AND p.id <> ALL(p_skip)
               AND NOT (EXISTS (SELECT 1 FROM payout_batch b WHERE b.merchant = p.merchant
                                   AND b.status = 'processing' AND b.created_at <= p.created_at)
                        AND EXISTS (SELECT 1 FROM payout_batch_item i JOIN payout_batch b ON b.id = i.batch
                                     WHERE i.payout_id = p.id AND b.status = 'processing'))
               AND NOT EXISTS (SELECT 1 FROM merchant_clock c WHERE c.merchant = p.merchant)
               AND p.scenario || ':' || p.track || ':' || p.step_index <> ALL(p_leave)
               AND (p.script IS NULL OR NOT (p.script->'rail') ? (p.track || ':' || p.step_index))
               AND abs(hashtext(p.merchant)) % p_shares = p_share
             ORDER BY p.next_action_at LIMIT 1 FOR UPDATE SKIP LOCKED
        )
        SELECT p.* FROM payout p
         WHERE EXISTS (SELECT 1 FROM first) AND p.merchant = (SELECT merchant FROM first)
           AND p.next_action_at <= p_at AND p.id <> ALL(p_skip)
           AND NOT (EXISTS (SELECT 1 FROM payout_batch b WHERE b.merchant = p.merchant
                               AND b.status = 'processing' AND b.created_at <= p.created_at)
                    AND EXISTS (SELECT 1 FROM payout_batch_item i JOIN payout_batch b ON b.id = i.batch
                                 WHERE i.payout_id = p.id AND b.status = 'processing'))
           AND NOT EXISTS (SELECT 1 FROM merchant_clock c WHERE c.merchant = p.merchant)
           AND p.scenario || ':' || p.track || ':' || p.step_index <> ALL(p_leave)
           AND (p.script IS NULL OR NOT (p.script->'rail') ? (p.track || ':' || p.step_index))
           AND abs(hashtext(p.merchant)) % p_shares = p_share
         ORDER BY p.next_action_at LIMIT p_limit FOR UPDATE OF p SKIP LOCKED;
    ELSE
        RETURN QUERY
        WITH first AS (
            SELECT p.merchant FROM payout p
             WHERE coalesce(p.next_action_at, 'infinity') <= p_at AND p.id = ANY(p_only)
               AND NOT EXISTS (SELECT 1 FROM merchant_clock c WHERE c.merchant = p.merchant)
               AND p.scenario || ':' || p.track || ':' || p.step_index <> ALL(p_leave)
               AND (p.script IS NULL OR NOT (p.script->'rail') ? (p.track || ':' || p.step_index))
               AND abs(hashtext(p.merchant)) % p_shares = p_share
             ORDER BY p.next_action_at LIMIT 1 FOR UPDATE SKIP LOCKED
        )
        SELECT p.* FROM payout p
         WHERE EXISTS (SELECT 1 FROM first) AND p.merchant IS NOT DISTINCT FROM (SELECT merchant FROM first)
           AND coalesce(p.next_action_at, 'infinity') <= p_at AND p.id = ANY(p_only)
           AND NOT EXISTS (SELECT 1 FROM merchant_clock c WHERE c.merchant = p.merchant)
           AND p.scenario || ':' || p.track || ':' || p.step_index <> ALL(p_leave)
           AND (p.script IS NULL OR NOT (p.script->'rail') ? (p.track || ':' || p.step_index))
           AND abs(hashtext(p.merchant)) % p_shares = p_share
         ORDER BY p.next_action_at LIMIT p_limit FOR UPDATE OF p SKIP LOCKED;
    END IF;
END $$;


--
-- Name: payout_create(text, character varying, character varying, character varying, interval, integer, jsonb, bytea, character varying, character varying, timestamp with time zone, character varying, character varying, text, integer, real, character varying, character varying, character varying, text[], jsonb, jsonb, bytea, bytea, integer, integer, character varying, character varying, character varying, timestamp with time zone, text[], bigint[], character varying, character varying, bigint, character varying, character varying, character varying, jsonb, character varying, character varying, jsonb, integer, character varying, character varying, jsonb, character varying, integer, timestamp with time zone, timestamp with time zone, timestamp with time zone, character varying[], character varying[], text[], text[], jsonb); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.payout_create(k_lock text, k_scope character varying, k_key character varying, k_hash character varying, k_ttl interval, k_status integer, k_headers jsonb, k_body bytea, r_id character varying, r_merchant character varying, r_at timestamp with time zone, r_method character varying, r_route character varying, r_path text, r_status integer, r_duration_ms real, r_idempotency_key character varying, r_idempotency_outcome character varying, r_fault character varying, r_object_ids text[], r_request_headers jsonb, r_response_headers jsonb, r_request_body bytea, r_response_body bytea, r_request_body_size integer, r_response_body_size integer, l_merchant character varying, l_kind character varying, l_payout_id character varying, l_at timestamp with time zone, l_buckets text[], l_amounts bigint[], p_id character varying, p_merchant character varying, p_amount bigint, p_currency character varying, p_status character varying, p_scenario character varying, p_destination jsonb, p_reference character varying, p_description character varying, p_metadata jsonb, p_attempts integer, p_failure_code character varying, p_psp_reference character varying, p_status_history jsonb, p_track character varying, p_step_index integer, p_next_action_at timestamp with time zone, p_created_at timestamp with time zone, p_updated_at timestamp with time zone, e_ids character varying[], e_types character varying[], e_data text[], e_requests text[], p_script jsonb) RETURNS TABLE(outcome text, request_hash character varying, response_status integer, response_headers jsonb, response_body bytea)
    LANGUAGE plpgsql
    AS $$
#variable_conflict use_column
DECLARE
    got_lock boolean;
    written boolean;
    emitted integer;
BEGIN
    SELECT c.got_lock, c.request_hash, c.response_status, c.response_headers, c.response_body
      INTO got_lock, request_hash, response_status, response_headers, response_body
      FROM idempotency_claim(k_lock, k_scope, k_key) c;
    IF NOT got_lock THEN
        outcome := 'in_use';
        RETURN NEXT;
        RETURN;
    END IF;
    IF request_hash IS NOT NULL THEN
        outcome := 'stored';
        RETURN NEXT;
        RETURN;
    END IF;
    PERFORM 1 FROM balance b,
                   (SELECT COALESCE(sum(leg.amount) FILTER (WHERE leg.bucket = 'available'), 0) AS available,
                           COALESCE(sum(leg.amount) FILTER (WHERE leg.bucket = 'locked'), 0) AS locked,
                           COALESCE(sum(leg.amount) FILTER (WHERE leg.bucket = 'pending'), 0) AS pending
                      FROM unnest(l_buckets, l_amounts) AS leg(bucket, amount)) d
     WHERE b.merchant = l_merchant
       AND b.available + d.available >= 0 AND b.locked + d.locked >= 0 AND b.pending + d.pending >= 0;
    IF NOT FOUND THEN
        outcome := 'refused';
        RETURN NEXT;
        RETURN;
    END IF;
    written := payout_insert(p_id, p_merchant, p_amount, p_currency, p_status, p_scenario, p_destination,
                             p_reference, p_description, p_metadata, p_attempts, p_failure_code, p_psp_reference,
                             p_status_history, p_track, p_step_index, p_next_action_at, p_created_at, p_updated_at,
                             p_script) IS NULL;
    emitted := outbox_emit_many(e_ids, array_fill(p_merchant, ARRAY[cardinality(e_ids)]), e_types,
                                array_fill(p_id, ARRAY[cardinality(e_ids)]), e_data::jsonb[],
                                array_fill(p_created_at, ARRAY[cardinality(e_ids)]), e_requests::jsonb[]);
    -- The key is free to store: the claim found no live row under the key's lock.
    written := idempotency_store(k_scope, k_key, k_hash, k_status, k_headers, k_body, k_ttl);
    IF r_id IS NOT NULL THEN
        written := request_log_insert(r_id, r_merchant, r_at, r_method, r_route, r_path, r_status, r_duration_ms,
                                      r_idempotency_key, r_idempotency_outcome, r_fault, r_object_ids,
                                      r_request_headers, r_response_headers, r_request_body, r_response_body,
                                      r_request_body_size, r_response_body_size) IS NULL;
    END IF;
    PERFORM 1 FROM ledger_post(l_merchant, l_kind, l_payout_id, l_at, l_buckets, l_amounts);
    IF NOT FOUND THEN
        RAISE EXCEPTION 'insufficient funds: the balance changed under this posting' USING ERRCODE = 'SBNSF';
    END IF;
    outcome := 'created';
    RETURN NEXT;
END $$;


--
-- Name: payout_insert(character varying, character varying, bigint, character varying, character varying, character varying, jsonb, character varying, character varying, jsonb, integer, character varying, character varying, jsonb, character varying, integer, timestamp with time zone, timestamp with time zone, timestamp with time zone, jsonb); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.payout_insert(p_id character varying, p_merchant character varying, p_amount bigint, p_currency character varying, p_status character varying, p_scenario character varying, p_destination jsonb, p_reference character varying, p_description character varying, p_metadata jsonb, p_attempts integer, p_failure_code character varying, p_psp_reference character varying, p_status_history jsonb, p_track character varying, p_step_index integer, p_next_action_at timestamp with time zone, p_created_at timestamp with time zone, p_updated_at timestamp with time zone, p_script jsonb) RETURNS void
    LANGUAGE sql
    AS $$
    INSERT INTO payout (id, merchant, amount, currency, status, scenario, destination, reference,
                        description, metadata, attempts, failure_code, psp_reference, status_history,
                        track, step_index, next_action_at, created_at, updated_at, script)
    VALUES (p_id, p_merchant, p_amount, p_currency, p_status, p_scenario, p_destination, p_reference,
            p_description, p_metadata, p_attempts, p_failure_code, p_psp_reference, p_status_history,
            p_track, p_step_index, p_next_action_at, p_created_at, p_updated_at, p_script)
$$;


--
-- Name: request_log_insert(character varying, character varying, timestamp with time zone, character varying, character varying, text, integer, real, character varying, character varying, character varying, text[], jsonb, jsonb, bytea, bytea, integer, integer); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.request_log_insert(r_id character varying, r_merchant character varying, r_at timestamp with time zone, r_method character varying, r_route character varying, r_path text, r_status integer, r_duration_ms real, r_idempotency_key character varying, r_idempotency_outcome character varying, r_fault character varying, r_object_ids text[], r_request_headers jsonb, r_response_headers jsonb, r_request_body bytea, r_response_body bytea, r_request_body_size integer, r_response_body_size integer) RETURNS void
    LANGUAGE sql
    AS $$
    INSERT INTO request_log (id, merchant, at, method, route, path, status, duration_ms, idempotency_key,
                             idempotency_outcome, fault, object_ids, request_headers, response_headers,
                             request_body, response_body, request_body_size, response_body_size)
    VALUES (r_id, r_merchant, r_at, r_method, r_route, r_path, r_status, r_duration_ms, r_idempotency_key,
            r_idempotency_outcome, r_fault, r_object_ids, r_request_headers, r_response_headers,
            r_request_body, r_response_body, r_request_body_size, r_response_body_size)
$$;


--
-- Name: api_key; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.api_key (
    id character varying(40) DEFAULT ''::character varying NOT NULL,
    merchant character varying(40) DEFAULT NULL::character varying,
    role character varying(16) DEFAULT ''::character varying NOT NULL,
    prefix character varying(24) DEFAULT ''::character varying NOT NULL,
    key_hash character varying(64) DEFAULT ''::character varying NOT NULL,
    created_at timestamp with time zone DEFAULT CURRENT_TIMESTAMP NOT NULL,
    revoked_at timestamp with time zone,
    team character varying(40)
);


--
-- Name: balance; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.balance (
    merchant character varying(40) DEFAULT NULL::character varying NOT NULL,
    currency character varying(3) DEFAULT 'PKR'::character varying NOT NULL,
    available bigint DEFAULT 0 NOT NULL,
    locked bigint DEFAULT 0 NOT NULL,
    pending bigint DEFAULT 0 NOT NULL,
    last_seq bigint DEFAULT 0 NOT NULL,
    updated_at timestamp with time zone DEFAULT CURRENT_TIMESTAMP NOT NULL,
    CONSTRAINT available_not_negative CHECK ((available >= 0)),
    CONSTRAINT locked_not_negative CHECK ((locked >= 0)),
    CONSTRAINT pending_not_negative CHECK ((pending >= 0))
);


--
-- Name: bank; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.bank (
    code character varying(16) DEFAULT ''::character varying NOT NULL,
    name character varying(100) DEFAULT ''::character varying NOT NULL,
    iban_code character varying(4) DEFAULT ''::character varying NOT NULL
);


--
-- Name: collection; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.collection (
    id character varying(40) DEFAULT ''::character varying NOT NULL,
    number bigint NOT NULL,
    merchant character varying(40) DEFAULT NULL::character varying NOT NULL,
    amount bigint DEFAULT 0 NOT NULL,
    outcome character varying(10) DEFAULT ''::character varying NOT NULL,
    status character varying(10) DEFAULT ''::character varying NOT NULL,
    reference character varying(64) DEFAULT NULL::character varying,
    description character varying(500) DEFAULT NULL::character varying,
    created_transaction bigint NOT NULL,
    settlement character varying(40) DEFAULT NULL::character varying,
    settled_transaction bigint,
    created_at timestamp with time zone DEFAULT CURRENT_TIMESTAMP NOT NULL,
    settled_at timestamp with time zone,
    CONSTRAINT amount_positive CHECK ((amount > 0))
);


--
-- Name: collection_number_seq; Type: SEQUENCE; Schema: public; Owner: -
--

CREATE SEQUENCE public.collection_number_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;


--
-- Name: collection_number_seq; Type: SEQUENCE OWNED BY; Schema: public; Owner: -
--

ALTER SEQUENCE public.collection_number_seq OWNED BY public.collection.number;


--
-- Name: dashboard_session_revoked; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.dashboard_session_revoked (
    id text NOT NULL,
    expires_at timestamp with time zone NOT NULL
);


--
-- Name: fault_rule; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.fault_rule (
    number bigint NOT NULL,
    id character varying(40) NOT NULL,
    merchant character varying(60) NOT NULL,
    method character varying(16) NOT NULL,
    path character varying(255) NOT NULL,
    fault character varying(32) NOT NULL,
    times integer NOT NULL,
    remaining integer NOT NULL,
    delay_s double precision NOT NULL,
    created_at timestamp with time zone NOT NULL
);


--
-- Name: fault_rule_number_seq; Type: SEQUENCE; Schema: public; Owner: -
--

ALTER TABLE public.fault_rule ALTER COLUMN number ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME public.fault_rule_number_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);


--
-- Name: idempotency_key; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.idempotency_key (
    id integer NOT NULL,
    scope character varying(60) DEFAULT ''::character varying NOT NULL,
    key character varying(255) DEFAULT ''::character varying NOT NULL,
    request_hash character varying(64) DEFAULT ''::character varying NOT NULL,
    response_status integer DEFAULT 0 NOT NULL,
    response_headers jsonb DEFAULT '{}'::jsonb NOT NULL,
    response_body bytea DEFAULT '\x'::bytea NOT NULL,
    created_at timestamp with time zone DEFAULT CURRENT_TIMESTAMP NOT NULL,
    expires_at timestamp with time zone DEFAULT CURRENT_TIMESTAMP NOT NULL
);
ALTER TABLE ONLY public.idempotency_key ALTER COLUMN id SET STATISTICS 10;
ALTER TABLE ONLY public.idempotency_key ALTER COLUMN scope SET STATISTICS 10;
ALTER TABLE ONLY public.idempotency_key ALTER COLUMN key SET STATISTICS 10;
ALTER TABLE ONLY public.idempotency_key ALTER COLUMN request_hash SET STATISTICS 10;
ALTER TABLE ONLY public.idempotency_key ALTER COLUMN response_status SET STATISTICS 10;
ALTER TABLE ONLY public.idempotency_key ALTER COLUMN response_headers SET STATISTICS 0;
ALTER TABLE ONLY public.idempotency_key ALTER COLUMN response_body SET STATISTICS 0;
ALTER TABLE ONLY public.idempotency_key ALTER COLUMN created_at SET STATISTICS 10;
ALTER TABLE ONLY public.idempotency_key ALTER COLUMN expires_at SET STATISTICS 10;


--
-- Name: idempotency_key_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

CREATE SEQUENCE public.idempotency_key_id_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;


--
-- Name: idempotency_key_id_seq; Type: SEQUENCE OWNED BY; Schema: public; Owner: -
--

ALTER SEQUENCE public.idempotency_key_id_seq OWNED BY public.idempotency_key.id;


--
-- Name: ipn_notification; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.ipn_notification (
    id character varying(100) DEFAULT ''::character varying NOT NULL,
    psp_reference character varying(40) DEFAULT ''::character varying NOT NULL,
    status character varying(20) DEFAULT ''::character varying NOT NULL,
    received_at timestamp with time zone DEFAULT CURRENT_TIMESTAMP NOT NULL
);


--
-- Name: ledger_entry; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.ledger_entry (
    id bigint NOT NULL,
    transaction bigint NOT NULL,
    merchant character varying(40) DEFAULT NULL::character varying NOT NULL,
    bucket character varying(16) DEFAULT ''::character varying NOT NULL,
    amount bigint DEFAULT 0 NOT NULL,
    seq bigint,
    kind character varying(40) DEFAULT ''::character varying NOT NULL,
    payout_id character varying(40) DEFAULT NULL::character varying,
    created_at timestamp with time zone DEFAULT CURRENT_TIMESTAMP NOT NULL,
    CONSTRAINT bucket_known CHECK (((bucket)::text = ANY (ARRAY[('available'::character varying)::text, ('locked'::character varying)::text, ('pending'::character varying)::text, ('external'::character varying)::text])))
);
ALTER TABLE ONLY public.ledger_entry ALTER COLUMN id SET STATISTICS 10;
ALTER TABLE ONLY public.ledger_entry ALTER COLUMN transaction SET STATISTICS 10;
ALTER TABLE ONLY public.ledger_entry ALTER COLUMN merchant SET STATISTICS 10;
ALTER TABLE ONLY public.ledger_entry ALTER COLUMN bucket SET STATISTICS 10;
ALTER TABLE ONLY public.ledger_entry ALTER COLUMN amount SET STATISTICS 10;
ALTER TABLE ONLY public.ledger_entry ALTER COLUMN seq SET STATISTICS 10;
ALTER TABLE ONLY public.ledger_entry ALTER COLUMN kind SET STATISTICS 10;
ALTER TABLE ONLY public.ledger_entry ALTER COLUMN payout_id SET STATISTICS 10;
ALTER TABLE ONLY public.ledger_entry ALTER COLUMN created_at SET STATISTICS 10;


--
-- Name: ledger_entry_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

CREATE SEQUENCE public.ledger_entry_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;


--
-- Name: ledger_entry_id_seq; Type: SEQUENCE OWNED BY; Schema: public; Owner: -
--

ALTER SEQUENCE public.ledger_entry_id_seq OWNED BY public.ledger_entry.id;


--
-- Name: ledger_transaction; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.ledger_transaction (
    id bigint NOT NULL,
    merchant character varying(40) DEFAULT NULL::character varying NOT NULL,
    kind character varying(40) DEFAULT ''::character varying NOT NULL,
    payout_id character varying(40) DEFAULT NULL::character varying,
    created_at timestamp with time zone DEFAULT CURRENT_TIMESTAMP NOT NULL
);
ALTER TABLE ONLY public.ledger_transaction ALTER COLUMN id SET STATISTICS 10;
ALTER TABLE ONLY public.ledger_transaction ALTER COLUMN merchant SET STATISTICS 10;
ALTER TABLE ONLY public.ledger_transaction ALTER COLUMN kind SET STATISTICS 10;
ALTER TABLE ONLY public.ledger_transaction ALTER COLUMN payout_id SET STATISTICS 10;
ALTER TABLE ONLY public.ledger_transaction ALTER COLUMN created_at SET STATISTICS 10;


--
-- Name: ledger_transaction_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

CREATE SEQUENCE public.ledger_transaction_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;


--
-- Name: ledger_transaction_id_seq; Type: SEQUENCE OWNED BY; Schema: public; Owner: -
--

ALTER SEQUENCE public.ledger_transaction_id_seq OWNED BY public.ledger_transaction.id;


--
-- Name: merchant; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.merchant (
    id character varying(40) DEFAULT ''::character varying NOT NULL,
    name character varying(200) DEFAULT ''::character varying NOT NULL,
    rate_limit_per_minute integer,
    created_at timestamp with time zone DEFAULT CURRENT_TIMESTAMP NOT NULL,
    team character varying(40) DEFAULT 'team_operator'::character varying NOT NULL,
    keep boolean DEFAULT false NOT NULL,
    made_by_scope character varying(60),
    made_by_key character varying(255)
);


--
-- Name: merchant_activity; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.merchant_activity (
    merchant character varying(40) NOT NULL,
    at timestamp with time zone NOT NULL
);


--
-- Name: merchant_clock; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.merchant_clock (
    merchant character varying(40) NOT NULL,
    "time" timestamp with time zone NOT NULL
);


--
-- Name: merchant_error_count; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.merchant_error_count (
    merchant character varying(40) NOT NULL,
    code character varying(60) NOT NULL,
    count bigint DEFAULT 0 NOT NULL,
    last_at timestamp with time zone NOT NULL,
    CONSTRAINT merchant_error_count_count_check CHECK ((count >= 0))
);


--
-- Name: merchant_scenario; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.merchant_scenario (
    number bigint NOT NULL,
    merchant character varying(60) NOT NULL,
    name character varying(40) NOT NULL,
    suffix character varying(4),
    body jsonb NOT NULL,
    created_at timestamp with time zone NOT NULL
);


--
-- Name: merchant_scenario_number_seq; Type: SEQUENCE; Schema: public; Owner: -
--

ALTER TABLE public.merchant_scenario ALTER COLUMN number ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME public.merchant_scenario_number_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);


--
-- Name: metric_count; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.metric_count (
    metric character varying(40) NOT NULL,
    label character varying(40) NOT NULL,
    n bigint NOT NULL
);


--
-- Name: metric_count_delta; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.metric_count_delta (
    metric character varying(40) NOT NULL,
    label character varying(40) NOT NULL,
    n integer NOT NULL
);


--
-- Name: migration; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.migration (
    id integer NOT NULL,
    name character varying(200) DEFAULT ''::character varying NOT NULL,
    app_name character varying(200) DEFAULT ''::character varying NOT NULL,
    ran_on timestamp without time zone DEFAULT CURRENT_TIMESTAMP NOT NULL
);


--
-- Name: migration_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

CREATE SEQUENCE public.migration_id_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;


--
-- Name: migration_id_seq; Type: SEQUENCE OWNED BY; Schema: public; Owner: -
--

ALTER SEQUENCE public.migration_id_seq OWNED BY public.migration.id;


--
-- Name: outbox_event; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.outbox_event (
    id character varying(40) DEFAULT ''::character varying NOT NULL,
    merchant character varying(40) DEFAULT NULL::character varying NOT NULL,
    type character varying(60) DEFAULT ''::character varying NOT NULL,
    payout_id character varying(40) DEFAULT NULL::character varying,
    data jsonb DEFAULT '{}'::jsonb NOT NULL,
    created_at timestamp with time zone DEFAULT CURRENT_TIMESTAMP NOT NULL,
    number bigint NOT NULL,
    request jsonb,
    sequence integer NOT NULL
)
WITH (autovacuum_analyze_threshold='500', autovacuum_analyze_scale_factor='0.02', autovacuum_vacuum_threshold='1000', autovacuum_vacuum_scale_factor='0.05', autovacuum_vacuum_insert_scale_factor='0.05');
ALTER TABLE ONLY public.outbox_event ALTER COLUMN id SET STATISTICS 10;
ALTER TABLE ONLY public.outbox_event ALTER COLUMN merchant SET STATISTICS 10;
ALTER TABLE ONLY public.outbox_event ALTER COLUMN type SET STATISTICS 10;
ALTER TABLE ONLY public.outbox_event ALTER COLUMN payout_id SET STATISTICS 10;
ALTER TABLE ONLY public.outbox_event ALTER COLUMN data SET STATISTICS 0;
ALTER TABLE ONLY public.outbox_event ALTER COLUMN created_at SET STATISTICS 10;
ALTER TABLE ONLY public.outbox_event ALTER COLUMN number SET STATISTICS 10;
ALTER TABLE ONLY public.outbox_event ALTER COLUMN request SET STATISTICS 0;
ALTER TABLE ONLY public.outbox_event ALTER COLUMN sequence SET STATISTICS 10;


--
-- Name: outbox_event_number_seq; Type: SEQUENCE; Schema: public; Owner: -
--

CREATE SEQUENCE public.outbox_event_number_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;


--
-- Name: outbox_event_number_seq; Type: SEQUENCE OWNED BY; Schema: public; Owner: -
--

ALTER SEQUENCE public.outbox_event_number_seq OWNED BY public.outbox_event.number;


--
-- Name: outbox_unrelayed; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.outbox_unrelayed (
    created_at timestamp with time zone NOT NULL,
    number bigint NOT NULL
)
WITH (autovacuum_vacuum_threshold='1000', autovacuum_vacuum_scale_factor='0.05', autovacuum_analyze_threshold='500', autovacuum_analyze_scale_factor='0.02');


--
-- Name: payout_batch; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.payout_batch (
    id character varying(40) DEFAULT ''::character varying NOT NULL,
    number bigint NOT NULL,
    merchant character varying(40) DEFAULT NULL::character varying NOT NULL,
    status character varying(30) DEFAULT ''::character varying NOT NULL,
    source character varying(10) DEFAULT ''::character varying NOT NULL,
    filename character varying(255) DEFAULT NULL::character varying,
    total_items integer DEFAULT 0 NOT NULL,
    created_at timestamp with time zone DEFAULT CURRENT_TIMESTAMP NOT NULL,
    updated_at timestamp with time zone DEFAULT CURRENT_TIMESTAMP NOT NULL,
    completed_at timestamp with time zone
);


--
-- Name: payout_batch_item; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.payout_batch_item (
    id bigint NOT NULL,
    batch character varying(40) DEFAULT NULL::character varying NOT NULL,
    line integer DEFAULT 0 NOT NULL,
    status character varying(20) DEFAULT ''::character varying NOT NULL,
    reason text,
    reference character varying(64) DEFAULT NULL::character varying,
    amount bigint,
    payload jsonb,
    payout_id character varying(40) DEFAULT NULL::character varying,
    retry character varying(20) DEFAULT NULL::character varying,
    retry_reason text
);


--
-- Name: payout_batch_item_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

CREATE SEQUENCE public.payout_batch_item_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;


--
-- Name: payout_batch_item_id_seq; Type: SEQUENCE OWNED BY; Schema: public; Owner: -
--

ALTER SEQUENCE public.payout_batch_item_id_seq OWNED BY public.payout_batch_item.id;


--
-- Name: payout_batch_number_seq; Type: SEQUENCE; Schema: public; Owner: -
--

CREATE SEQUENCE public.payout_batch_number_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;


--
-- Name: payout_batch_number_seq; Type: SEQUENCE OWNED BY; Schema: public; Owner: -
--

ALTER SEQUENCE public.payout_batch_number_seq OWNED BY public.payout_batch.number;


--
-- Name: payout_number_seq; Type: SEQUENCE; Schema: public; Owner: -
--

CREATE SEQUENCE public.payout_number_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;


--
-- Name: payout_number_seq; Type: SEQUENCE OWNED BY; Schema: public; Owner: -
--

ALTER SEQUENCE public.payout_number_seq OWNED BY public.payout.number;


--
-- Name: request_log; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.request_log (
    number bigint NOT NULL,
    id character varying(128) NOT NULL,
    merchant character varying(60) NOT NULL,
    at timestamp with time zone NOT NULL,
    logged_at timestamp with time zone DEFAULT now() NOT NULL,
    method character varying(16) NOT NULL,
    route character varying(255) NOT NULL,
    path text NOT NULL,
    status integer NOT NULL,
    duration_ms real NOT NULL,
    idempotency_key character varying(255),
    idempotency_outcome character varying(16),
    fault character varying(32),
    object_ids text[] DEFAULT '{}'::text[] NOT NULL,
    request_headers jsonb DEFAULT '[]'::jsonb NOT NULL,
    response_headers jsonb DEFAULT '[]'::jsonb NOT NULL,
    request_body bytea,
    response_body bytea,
    request_body_size integer DEFAULT 0 NOT NULL,
    response_body_size integer DEFAULT 0 NOT NULL
);
ALTER TABLE ONLY public.request_log ALTER COLUMN number SET STATISTICS 10;
ALTER TABLE ONLY public.request_log ALTER COLUMN id SET STATISTICS 10;
ALTER TABLE ONLY public.request_log ALTER COLUMN merchant SET STATISTICS 10;
ALTER TABLE ONLY public.request_log ALTER COLUMN at SET STATISTICS 10;
ALTER TABLE ONLY public.request_log ALTER COLUMN logged_at SET STATISTICS 10;
ALTER TABLE ONLY public.request_log ALTER COLUMN method SET STATISTICS 10;
ALTER TABLE ONLY public.request_log ALTER COLUMN route SET STATISTICS 10;
ALTER TABLE ONLY public.request_log ALTER COLUMN path SET STATISTICS 10;
ALTER TABLE ONLY public.request_log ALTER COLUMN status SET STATISTICS 10;
ALTER TABLE ONLY public.request_log ALTER COLUMN duration_ms SET STATISTICS 10;
ALTER TABLE ONLY public.request_log ALTER COLUMN idempotency_key SET STATISTICS 10;
ALTER TABLE ONLY public.request_log ALTER COLUMN idempotency_outcome SET STATISTICS 10;
ALTER TABLE ONLY public.request_log ALTER COLUMN fault SET STATISTICS 10;
ALTER TABLE ONLY public.request_log ALTER COLUMN object_ids SET STATISTICS 10;
ALTER TABLE ONLY public.request_log ALTER COLUMN request_headers SET STATISTICS 0;
ALTER TABLE ONLY public.request_log ALTER COLUMN response_headers SET STATISTICS 0;
ALTER TABLE ONLY public.request_log ALTER COLUMN request_body SET STATISTICS 0;
ALTER TABLE ONLY public.request_log ALTER COLUMN response_body SET STATISTICS 0;
ALTER TABLE ONLY public.request_log ALTER COLUMN request_body_size SET STATISTICS 10;
ALTER TABLE ONLY public.request_log ALTER COLUMN response_body_size SET STATISTICS 10;


--
-- Name: request_log_number_seq; Type: SEQUENCE; Schema: public; Owner: -
--

ALTER TABLE public.request_log ALTER COLUMN number ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME public.request_log_number_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);


--
-- Name: settlement; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.settlement (
    id character varying(40) DEFAULT ''::character varying NOT NULL,
    number bigint NOT NULL,
    merchant character varying(40) DEFAULT NULL::character varying NOT NULL,
    settled_count integer DEFAULT 0 NOT NULL,
    settled_amount bigint DEFAULT 0 NOT NULL,
    declined_count integer DEFAULT 0 NOT NULL,
    declined_amount bigint DEFAULT 0 NOT NULL,
    created_at timestamp with time zone DEFAULT CURRENT_TIMESTAMP NOT NULL
);


--
-- Name: settlement_number_seq; Type: SEQUENCE; Schema: public; Owner: -
--

CREATE SEQUENCE public.settlement_number_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;


--
-- Name: settlement_number_seq; Type: SEQUENCE OWNED BY; Schema: public; Owner: -
--

ALTER SEQUENCE public.settlement_number_seq OWNED BY public.settlement.number;


--
-- Name: team; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.team (
    id character varying(40) NOT NULL,
    name character varying(200) NOT NULL,
    max_merchants integer,
    max_payouts_per_day integer,
    max_webhook_endpoints integer,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT team_max_merchants_check CHECK ((max_merchants >= 0)),
    CONSTRAINT team_max_payouts_per_day_check CHECK ((max_payouts_per_day >= 0)),
    CONSTRAINT team_max_webhook_endpoints_check CHECK ((max_webhook_endpoints >= 0))
);


--
-- Name: wallet; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.wallet (
    code character varying(16) DEFAULT ''::character varying NOT NULL,
    name character varying(100) DEFAULT ''::character varying NOT NULL
);


--
-- Name: webhook_attempt; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.webhook_attempt (
    id bigint NOT NULL,
    delivery character varying(40) DEFAULT NULL::character varying NOT NULL,
    number integer DEFAULT 0 NOT NULL,
    at timestamp with time zone DEFAULT CURRENT_TIMESTAMP NOT NULL,
    webhook_timestamp bigint DEFAULT 0 NOT NULL,
    status_code integer,
    latency_ms integer,
    error text,
    response_excerpt text,
    faults jsonb DEFAULT '[]'::jsonb NOT NULL,
    next_retry_at timestamp with time zone
);
ALTER TABLE ONLY public.webhook_attempt ALTER COLUMN id SET STATISTICS 10;
ALTER TABLE ONLY public.webhook_attempt ALTER COLUMN delivery SET STATISTICS 10;
ALTER TABLE ONLY public.webhook_attempt ALTER COLUMN number SET STATISTICS 10;
ALTER TABLE ONLY public.webhook_attempt ALTER COLUMN at SET STATISTICS 10;
ALTER TABLE ONLY public.webhook_attempt ALTER COLUMN webhook_timestamp SET STATISTICS 10;
ALTER TABLE ONLY public.webhook_attempt ALTER COLUMN status_code SET STATISTICS 10;
ALTER TABLE ONLY public.webhook_attempt ALTER COLUMN latency_ms SET STATISTICS 10;
ALTER TABLE ONLY public.webhook_attempt ALTER COLUMN error SET STATISTICS 10;
ALTER TABLE ONLY public.webhook_attempt ALTER COLUMN response_excerpt SET STATISTICS 10;
ALTER TABLE ONLY public.webhook_attempt ALTER COLUMN faults SET STATISTICS 10;
ALTER TABLE ONLY public.webhook_attempt ALTER COLUMN next_retry_at SET STATISTICS 10;


--
-- Name: webhook_attempt_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

CREATE SEQUENCE public.webhook_attempt_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;


--
-- Name: webhook_attempt_id_seq; Type: SEQUENCE OWNED BY; Schema: public; Owner: -
--

ALTER SEQUENCE public.webhook_attempt_id_seq OWNED BY public.webhook_attempt.id;


--
-- Name: webhook_audit; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.webhook_audit (
    id character varying(40) NOT NULL,
    number bigint NOT NULL,
    merchant character varying(40) NOT NULL,
    endpoint character varying(40) NOT NULL,
    url character varying(2048) NOT NULL,
    signing character varying(16) NOT NULL,
    passed boolean NOT NULL,
    case_count integer NOT NULL,
    failed_count integer NOT NULL,
    case_timeout_s double precision NOT NULL,
    cases jsonb NOT NULL,
    started_at timestamp with time zone NOT NULL,
    finished_at timestamp with time zone NOT NULL,
    CONSTRAINT webhook_audit_case_count_check CHECK ((case_count >= 0)),
    CONSTRAINT webhook_audit_check CHECK (((failed_count >= 0) AND (failed_count <= case_count)))
);


--
-- Name: webhook_audit_number_seq; Type: SEQUENCE; Schema: public; Owner: -
--

CREATE SEQUENCE public.webhook_audit_number_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;


--
-- Name: webhook_audit_number_seq; Type: SEQUENCE OWNED BY; Schema: public; Owner: -
--

ALTER SEQUENCE public.webhook_audit_number_seq OWNED BY public.webhook_audit.number;


--
-- Name: webhook_delivery; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.webhook_delivery (
    id character varying(40) DEFAULT ''::character varying NOT NULL,
    number bigint NOT NULL,
    merchant character varying(40) DEFAULT NULL::character varying NOT NULL,
    event character varying(40) DEFAULT NULL::character varying NOT NULL,
    endpoint character varying(40) DEFAULT NULL::character varying NOT NULL,
    generation integer DEFAULT 0 NOT NULL,
    seq bigint DEFAULT 0 NOT NULL,
    status character varying(16) DEFAULT 'pending'::character varying NOT NULL,
    attempts integer DEFAULT 0 NOT NULL,
    next_attempt_at timestamp with time zone,
    lease_until timestamp with time zone,
    lease_token character varying(32) DEFAULT NULL::character varying,
    last_status_code integer,
    last_error text,
    created_at timestamp with time zone DEFAULT CURRENT_TIMESTAMP NOT NULL,
    updated_at timestamp with time zone DEFAULT CURRENT_TIMESTAMP NOT NULL,
    completed_at timestamp with time zone,
    parked boolean DEFAULT false NOT NULL,
    CONSTRAINT status_known CHECK (((status)::text = ANY (ARRAY[('pending'::character varying)::text, ('succeeded'::character varying)::text, ('failed'::character varying)::text, ('cancelled'::character varying)::text])))
)
WITH (fillfactor='80', autovacuum_analyze_threshold='500', autovacuum_analyze_scale_factor='0.02', autovacuum_vacuum_threshold='1000', autovacuum_vacuum_scale_factor='0.05', autovacuum_vacuum_insert_scale_factor='0.05');
ALTER TABLE ONLY public.webhook_delivery ALTER COLUMN id SET STATISTICS 10;
ALTER TABLE ONLY public.webhook_delivery ALTER COLUMN number SET STATISTICS 10;
ALTER TABLE ONLY public.webhook_delivery ALTER COLUMN merchant SET STATISTICS 10;
ALTER TABLE ONLY public.webhook_delivery ALTER COLUMN event SET STATISTICS 10;
ALTER TABLE ONLY public.webhook_delivery ALTER COLUMN endpoint SET STATISTICS 10;
ALTER TABLE ONLY public.webhook_delivery ALTER COLUMN generation SET STATISTICS 10;
ALTER TABLE ONLY public.webhook_delivery ALTER COLUMN seq SET STATISTICS 10;
ALTER TABLE ONLY public.webhook_delivery ALTER COLUMN status SET STATISTICS 10;
ALTER TABLE ONLY public.webhook_delivery ALTER COLUMN attempts SET STATISTICS 10;
ALTER TABLE ONLY public.webhook_delivery ALTER COLUMN next_attempt_at SET STATISTICS 10;
ALTER TABLE ONLY public.webhook_delivery ALTER COLUMN lease_until SET STATISTICS 10;
ALTER TABLE ONLY public.webhook_delivery ALTER COLUMN lease_token SET STATISTICS 10;
ALTER TABLE ONLY public.webhook_delivery ALTER COLUMN last_status_code SET STATISTICS 10;
ALTER TABLE ONLY public.webhook_delivery ALTER COLUMN last_error SET STATISTICS 10;
ALTER TABLE ONLY public.webhook_delivery ALTER COLUMN created_at SET STATISTICS 10;
ALTER TABLE ONLY public.webhook_delivery ALTER COLUMN updated_at SET STATISTICS 10;
ALTER TABLE ONLY public.webhook_delivery ALTER COLUMN completed_at SET STATISTICS 10;
ALTER TABLE ONLY public.webhook_delivery ALTER COLUMN parked SET STATISTICS 10;


--
-- Name: webhook_delivery_number_seq; Type: SEQUENCE; Schema: public; Owner: -
--

CREATE SEQUENCE public.webhook_delivery_number_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;


--
-- Name: webhook_delivery_number_seq; Type: SEQUENCE OWNED BY; Schema: public; Owner: -
--

ALTER SEQUENCE public.webhook_delivery_number_seq OWNED BY public.webhook_delivery.number;


--
-- Name: webhook_endpoint; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.webhook_endpoint (
    id character varying(40) DEFAULT ''::character varying NOT NULL,
    number bigint NOT NULL,
    merchant character varying(40) DEFAULT NULL::character varying NOT NULL,
    url character varying(2048) DEFAULT ''::character varying NOT NULL,
    description character varying(500) DEFAULT NULL::character varying,
    events jsonb DEFAULT '[]'::jsonb NOT NULL,
    signing character varying(16) DEFAULT ''::character varying NOT NULL,
    signing_key text DEFAULT ''::text NOT NULL,
    previous_signing_key text,
    previous_key_expires_at timestamp with time zone,
    public_key character varying(80) DEFAULT NULL::character varying,
    status character varying(16) DEFAULT 'enabled'::character varying NOT NULL,
    disabled_reason character varying(200) DEFAULT NULL::character varying,
    faults jsonb DEFAULT '{}'::jsonb NOT NULL,
    delivery_seq bigint DEFAULT 0 NOT NULL,
    created_at timestamp with time zone DEFAULT CURRENT_TIMESTAMP NOT NULL,
    updated_at timestamp with time zone DEFAULT CURRENT_TIMESTAMP NOT NULL,
    deleted_at timestamp with time zone,
    kind character varying(16) DEFAULT 'url'::character varying NOT NULL,
    listener_name character varying(64) DEFAULT NULL::character varying,
    CONSTRAINT signing_known CHECK (((signing)::text = ANY (ARRAY[('hmac-sha256'::character varying)::text, ('ed25519'::character varying)::text]))),
    CONSTRAINT status_known CHECK (((status)::text = ANY (ARRAY[('enabled'::character varying)::text, ('disabled'::character varying)::text]))),
    CONSTRAINT webhook_endpoint_kind_known CHECK (((kind)::text = ANY (ARRAY[('url'::character varying)::text, ('listener'::character varying)::text])))
);


--
-- Name: webhook_endpoint_number_seq; Type: SEQUENCE; Schema: public; Owner: -
--

CREATE SEQUENCE public.webhook_endpoint_number_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;


--
-- Name: webhook_endpoint_number_seq; Type: SEQUENCE OWNED BY; Schema: public; Owner: -
--

ALTER SEQUENCE public.webhook_endpoint_number_seq OWNED BY public.webhook_endpoint.number;


--
-- Name: collection number; Type: DEFAULT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.collection ALTER COLUMN number SET DEFAULT nextval('public.collection_number_seq'::regclass);


--
-- Name: idempotency_key id; Type: DEFAULT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.idempotency_key ALTER COLUMN id SET DEFAULT nextval('public.idempotency_key_id_seq'::regclass);


--
-- Name: ledger_entry id; Type: DEFAULT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.ledger_entry ALTER COLUMN id SET DEFAULT nextval('public.ledger_entry_id_seq'::regclass);


--
-- Name: ledger_transaction id; Type: DEFAULT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.ledger_transaction ALTER COLUMN id SET DEFAULT nextval('public.ledger_transaction_id_seq'::regclass);


--
-- Name: migration id; Type: DEFAULT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.migration ALTER COLUMN id SET DEFAULT nextval('public.migration_id_seq'::regclass);


--
-- Name: outbox_event number; Type: DEFAULT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.outbox_event ALTER COLUMN number SET DEFAULT nextval('public.outbox_event_number_seq'::regclass);


--
-- Name: payout number; Type: DEFAULT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.payout ALTER COLUMN number SET DEFAULT nextval('public.payout_number_seq'::regclass);


--
-- Name: payout_batch number; Type: DEFAULT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.payout_batch ALTER COLUMN number SET DEFAULT nextval('public.payout_batch_number_seq'::regclass);


--
-- Name: payout_batch_item id; Type: DEFAULT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.payout_batch_item ALTER COLUMN id SET DEFAULT nextval('public.payout_batch_item_id_seq'::regclass);


--
-- Name: settlement number; Type: DEFAULT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.settlement ALTER COLUMN number SET DEFAULT nextval('public.settlement_number_seq'::regclass);


--
-- Name: webhook_attempt id; Type: DEFAULT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.webhook_attempt ALTER COLUMN id SET DEFAULT nextval('public.webhook_attempt_id_seq'::regclass);


--
-- Name: webhook_audit number; Type: DEFAULT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.webhook_audit ALTER COLUMN number SET DEFAULT nextval('public.webhook_audit_number_seq'::regclass);


--
-- Name: webhook_delivery number; Type: DEFAULT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.webhook_delivery ALTER COLUMN number SET DEFAULT nextval('public.webhook_delivery_number_seq'::regclass);


--
-- Name: webhook_endpoint number; Type: DEFAULT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.webhook_endpoint ALTER COLUMN number SET DEFAULT nextval('public.webhook_endpoint_number_seq'::regclass);


--
-- Data for Name: api_key; Type: TABLE DATA; Schema: public; Owner: -
--



--
-- Data for Name: balance; Type: TABLE DATA; Schema: public; Owner: -
--



--
-- Data for Name: bank; Type: TABLE DATA; Schema: public; Owner: -
--



--
-- Data for Name: collection; Type: TABLE DATA; Schema: public; Owner: -
--



--
-- Data for Name: dashboard_session_revoked; Type: TABLE DATA; Schema: public; Owner: -
--



--
-- Data for Name: fault_rule; Type: TABLE DATA; Schema: public; Owner: -
--



--
-- Data for Name: idempotency_key; Type: TABLE DATA; Schema: public; Owner: -
--



--
-- Data for Name: ipn_notification; Type: TABLE DATA; Schema: public; Owner: -
--



--
-- Data for Name: ledger_entry; Type: TABLE DATA; Schema: public; Owner: -
--



--
-- Data for Name: ledger_transaction; Type: TABLE DATA; Schema: public; Owner: -
--



--
-- Data for Name: merchant; Type: TABLE DATA; Schema: public; Owner: -
--



--
-- Data for Name: merchant_activity; Type: TABLE DATA; Schema: public; Owner: -
--



--
-- Data for Name: merchant_clock; Type: TABLE DATA; Schema: public; Owner: -
--



--
-- Data for Name: merchant_error_count; Type: TABLE DATA; Schema: public; Owner: -
--



--
-- Data for Name: merchant_scenario; Type: TABLE DATA; Schema: public; Owner: -
--



--
-- Data for Name: metric_count; Type: TABLE DATA; Schema: public; Owner: -
--



--
-- Data for Name: metric_count_delta; Type: TABLE DATA; Schema: public; Owner: -
--



--
-- Data for Name: migration; Type: TABLE DATA; Schema: public; Owner: -
--

INSERT INTO public.migration VALUES (1, '2026-11-22T23:52:08:451197', 'sandbox', '2000-01-01 00:00:00');
INSERT INTO public.migration VALUES (2, '2026-11-22T23:59:00:000000', 'sandbox', '2000-01-01 00:00:00');
INSERT INTO public.migration VALUES (3, '2026-11-23T00:02:50:453070', 'sandbox', '2000-01-01 00:00:00');
INSERT INTO public.migration VALUES (4, '2026-11-23T00:14:11:625423', 'sandbox', '2000-01-01 00:00:00');
INSERT INTO public.migration VALUES (5, '2026-11-23T00:48:14:345419', 'sandbox', '2000-01-01 00:00:00');
INSERT INTO public.migration VALUES (6, '2026-11-23T06:00:00:000000', 'sandbox', '2000-01-01 00:00:00');
INSERT INTO public.migration VALUES (7, '2026-11-23T10:00:00:000000', 'sandbox', '2000-01-01 00:00:00');
INSERT INTO public.migration VALUES (8, '2026-11-23T10:10:00:000000', 'sandbox', '2000-01-01 00:00:00');
INSERT INTO public.migration VALUES (9, '2026-11-23T10:20:00:000000', 'sandbox', '2000-01-01 00:00:00');
INSERT INTO public.migration VALUES (10, '2026-11-23T11:00:00:000000', 'sandbox', '2000-01-01 00:00:00');
INSERT INTO public.migration VALUES (11, '2026-11-23T11:10:00:000000', 'sandbox', '2000-01-01 00:00:00');
INSERT INTO public.migration VALUES (12, '2026-11-23T12:12:00:000000', 'sandbox', '2000-01-01 00:00:00');
INSERT INTO public.migration VALUES (13, '2026-11-23T13:00:00:000000', 'sandbox', '2000-01-01 00:00:00');
INSERT INTO public.migration VALUES (14, '2026-11-23T16:00:00:000000', 'sandbox', '2000-01-01 00:00:00');
INSERT INTO public.migration VALUES (15, '2026-11-24T02:26:00:000000', 'sandbox', '2000-01-01 00:00:00');
INSERT INTO public.migration VALUES (16, '2026-11-24T09:00:00:000000', 'sandbox', '2000-01-01 00:00:00');
INSERT INTO public.migration VALUES (17, '2026-11-24T10:00:00:000000', 'sandbox', '2000-01-01 00:00:00');
INSERT INTO public.migration VALUES (18, '2026-11-24T10:10:00:000000', 'sandbox', '2000-01-01 00:00:00');
INSERT INTO public.migration VALUES (19, '2026-11-24T12:00:00:000000', 'sandbox', '2000-01-01 00:00:00');
INSERT INTO public.migration VALUES (20, '2026-11-25T01:40:00:000000', 'sandbox', '2000-01-01 00:00:00');
INSERT INTO public.migration VALUES (21, '2026-11-25T08:00:00:000000', 'sandbox', '2000-01-01 00:00:00');
INSERT INTO public.migration VALUES (22, '2026-11-25T13:00:00:000000', 'sandbox', '2000-01-01 00:00:00');
INSERT INTO public.migration VALUES (23, '2026-11-25T18:43:00:000000', 'sandbox', '2000-01-01 00:00:00');
INSERT INTO public.migration VALUES (24, '2026-11-25T18:43:17:000000', 'sandbox', '2000-01-01 00:00:00');
INSERT INTO public.migration VALUES (25, '2026-11-25T19:00:00:000000', 'sandbox', '2000-01-01 00:00:00');
INSERT INTO public.migration VALUES (26, '2026-11-26T20:00:00:000000', 'sandbox', '2000-01-01 00:00:00');
INSERT INTO public.migration VALUES (27, '2026-11-26T21:00:00:000000', 'sandbox', '2000-01-01 00:00:00');
INSERT INTO public.migration VALUES (28, '2026-11-26T21:10:00:000000', 'sandbox', '2000-01-01 00:00:00');
INSERT INTO public.migration VALUES (29, '2026-11-27T08:00:00:000000', 'sandbox', '2000-01-01 00:00:00');
INSERT INTO public.migration VALUES (30, '2026-11-27T09:00:00:000000', 'sandbox', '2000-01-01 00:00:00');
INSERT INTO public.migration VALUES (31, '2026-11-27T13:00:00:000000', 'sandbox', '2000-01-01 00:00:00');
INSERT INTO public.migration VALUES (32, '2026-11-27T19:00:00:000000', 'sandbox', '2000-01-01 00:00:00');
INSERT INTO public.migration VALUES (33, '2026-11-28T00:30:00:000000', 'sandbox', '2000-01-01 00:00:00');
INSERT INTO public.migration VALUES (34, '2026-11-28T00:40:00:000000', 'sandbox', '2000-01-01 00:00:00');
INSERT INTO public.migration VALUES (35, '2026-11-28T09:00:00:000000', 'sandbox', '2000-01-01 00:00:00');
INSERT INTO public.migration VALUES (36, '2026-11-28T13:30:00:000000', 'sandbox', '2000-01-01 00:00:00');
INSERT INTO public.migration VALUES (37, '2026-11-28T20:00:00:000000', 'sandbox', '2000-01-01 00:00:00');
INSERT INTO public.migration VALUES (38, '2026-11-28T23:00:00:000000', 'sandbox', '2000-01-01 00:00:00');
INSERT INTO public.migration VALUES (39, '2026-11-29T14:00:00:000000', 'sandbox', '2000-01-01 00:00:00');
INSERT INTO public.migration VALUES (40, '2026-11-30T01:00:00:000000', 'sandbox', '2000-01-01 00:00:00');
INSERT INTO public.migration VALUES (41, '2026-11-30T07:00:00:000000', 'sandbox', '2000-01-01 00:00:00');


--
-- Data for Name: outbox_event; Type: TABLE DATA; Schema: public; Owner: -
--



--
-- Data for Name: outbox_unrelayed; Type: TABLE DATA; Schema: public; Owner: -
--



--
-- Data for Name: payout; Type: TABLE DATA; Schema: public; Owner: -
--



--
-- Data for Name: payout_batch; Type: TABLE DATA; Schema: public; Owner: -
--



--
-- Data for Name: payout_batch_item; Type: TABLE DATA; Schema: public; Owner: -
--



--
-- Data for Name: request_log; Type: TABLE DATA; Schema: public; Owner: -
--



--
-- Data for Name: settlement; Type: TABLE DATA; Schema: public; Owner: -
--



--
-- Data for Name: team; Type: TABLE DATA; Schema: public; Owner: -
--

INSERT INTO public.team VALUES ('team_operator', 'Operator', NULL, NULL, NULL, '2000-01-01 00:00:00+00');


--
-- Data for Name: wallet; Type: TABLE DATA; Schema: public; Owner: -
--



--
-- Data for Name: webhook_attempt; Type: TABLE DATA; Schema: public; Owner: -
--



--
-- Data for Name: webhook_audit; Type: TABLE DATA; Schema: public; Owner: -
--



--
-- Data for Name: webhook_delivery; Type: TABLE DATA; Schema: public; Owner: -
--



--
-- Data for Name: webhook_endpoint; Type: TABLE DATA; Schema: public; Owner: -
--



--
-- Name: collection_number_seq; Type: SEQUENCE SET; Schema: public; Owner: -
--

SELECT pg_catalog.setval('public.collection_number_seq', 1, false);


--
-- Name: fault_rule_number_seq; Type: SEQUENCE SET; Schema: public; Owner: -
--

SELECT pg_catalog.setval('public.fault_rule_number_seq', 1, false);


--
-- Name: idempotency_key_id_seq; Type: SEQUENCE SET; Schema: public; Owner: -
--

SELECT pg_catalog.setval('public.idempotency_key_id_seq', 1, false);


--
-- Name: ledger_entry_id_seq; Type: SEQUENCE SET; Schema: public; Owner: -
--

SELECT pg_catalog.setval('public.ledger_entry_id_seq', 1, false);


--
-- Name: ledger_transaction_id_seq; Type: SEQUENCE SET; Schema: public; Owner: -
--

SELECT pg_catalog.setval('public.ledger_transaction_id_seq', 1, false);


--
-- Name: merchant_scenario_number_seq; Type: SEQUENCE SET; Schema: public; Owner: -
--

SELECT pg_catalog.setval('public.merchant_scenario_number_seq', 1, false);


--
-- Name: migration_id_seq; Type: SEQUENCE SET; Schema: public; Owner: -
--

SELECT pg_catalog.setval('public.migration_id_seq', 41, true);


--
-- Name: outbox_event_number_seq; Type: SEQUENCE SET; Schema: public; Owner: -
--

SELECT pg_catalog.setval('public.outbox_event_number_seq', 1, false);


--
-- Name: payout_batch_item_id_seq; Type: SEQUENCE SET; Schema: public; Owner: -
--

SELECT pg_catalog.setval('public.payout_batch_item_id_seq', 1, false);


--
-- Name: payout_batch_number_seq; Type: SEQUENCE SET; Schema: public; Owner: -
--

SELECT pg_catalog.setval('public.payout_batch_number_seq', 1, false);


--
-- Name: payout_number_seq; Type: SEQUENCE SET; Schema: public; Owner: -
--

SELECT pg_catalog.setval('public.payout_number_seq', 1, false);


--
-- Name: request_log_number_seq; Type: SEQUENCE SET; Schema: public; Owner: -
--

SELECT pg_catalog.setval('public.request_log_number_seq', 1, false);


--
-- Name: settlement_number_seq; Type: SEQUENCE SET; Schema: public; Owner: -
--

SELECT pg_catalog.setval('public.settlement_number_seq', 1, false);


--
-- Name: webhook_attempt_id_seq; Type: SEQUENCE SET; Schema: public; Owner: -
--

SELECT pg_catalog.setval('public.webhook_attempt_id_seq', 1, false);


--
-- Name: webhook_audit_number_seq; Type: SEQUENCE SET; Schema: public; Owner: -
--

SELECT pg_catalog.setval('public.webhook_audit_number_seq', 1, false);


--
-- Name: webhook_delivery_number_seq; Type: SEQUENCE SET; Schema: public; Owner: -
--

SELECT pg_catalog.setval('public.webhook_delivery_number_seq', 1, false);


--
-- Name: webhook_endpoint_number_seq; Type: SEQUENCE SET; Schema: public; Owner: -
--

SELECT pg_catalog.setval('public.webhook_endpoint_number_seq', 1, false);


--
-- Name: api_key api_key_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.api_key
    ADD CONSTRAINT api_key_pkey PRIMARY KEY (id);


--
-- Name: api_key api_key_prefix_key; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.api_key
    ADD CONSTRAINT api_key_prefix_key UNIQUE (prefix);


--
-- Name: balance balance_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.balance
    ADD CONSTRAINT balance_pkey PRIMARY KEY (merchant);


--
-- Name: bank bank_iban_code_key; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.bank
    ADD CONSTRAINT bank_iban_code_key UNIQUE (iban_code);


--
-- Name: bank bank_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.bank
    ADD CONSTRAINT bank_pkey PRIMARY KEY (code);


--
-- Name: payout_batch_item batch_line; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.payout_batch_item
    ADD CONSTRAINT batch_line UNIQUE (batch, line);


--
-- Name: collection collection_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.collection
    ADD CONSTRAINT collection_pkey PRIMARY KEY (id);


--
-- Name: dashboard_session_revoked dashboard_session_revoked_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.dashboard_session_revoked
    ADD CONSTRAINT dashboard_session_revoked_pkey PRIMARY KEY (id);


--
-- Name: fault_rule fault_rule_id_key; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.fault_rule
    ADD CONSTRAINT fault_rule_id_key UNIQUE (id);


--
-- Name: fault_rule fault_rule_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.fault_rule
    ADD CONSTRAINT fault_rule_pkey PRIMARY KEY (number);


--
-- Name: idempotency_key idempotency_key_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.idempotency_key
    ADD CONSTRAINT idempotency_key_pkey PRIMARY KEY (id);


--
-- Name: ipn_notification ipn_notification_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.ipn_notification
    ADD CONSTRAINT ipn_notification_pkey PRIMARY KEY (id);


--
-- Name: ledger_entry ledger_entry_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.ledger_entry
    ADD CONSTRAINT ledger_entry_pkey PRIMARY KEY (id);


--
-- Name: ledger_transaction ledger_transaction_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.ledger_transaction
    ADD CONSTRAINT ledger_transaction_pkey PRIMARY KEY (id);


--
-- Name: merchant_activity merchant_activity_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.merchant_activity
    ADD CONSTRAINT merchant_activity_pkey PRIMARY KEY (merchant);


--
-- Name: merchant_clock merchant_clock_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.merchant_clock
    ADD CONSTRAINT merchant_clock_pkey PRIMARY KEY (merchant);


--
-- Name: merchant_error_count merchant_error_count_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.merchant_error_count
    ADD CONSTRAINT merchant_error_count_pkey PRIMARY KEY (merchant, code);


--
-- Name: merchant merchant_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.merchant
    ADD CONSTRAINT merchant_pkey PRIMARY KEY (id);


--
-- Name: merchant_scenario merchant_scenario_merchant_name_key; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.merchant_scenario
    ADD CONSTRAINT merchant_scenario_merchant_name_key UNIQUE (merchant, name);


--
-- Name: merchant_scenario merchant_scenario_merchant_suffix_key; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.merchant_scenario
    ADD CONSTRAINT merchant_scenario_merchant_suffix_key UNIQUE (merchant, suffix);


--
-- Name: merchant_scenario merchant_scenario_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.merchant_scenario
    ADD CONSTRAINT merchant_scenario_pkey PRIMARY KEY (number);


--
-- Name: metric_count metric_count_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.metric_count
    ADD CONSTRAINT metric_count_pkey PRIMARY KEY (metric, label);


--
-- Name: migration migration_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.migration
    ADD CONSTRAINT migration_pkey PRIMARY KEY (id);


--
-- Name: webhook_delivery one_per_generation; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.webhook_delivery
    ADD CONSTRAINT one_per_generation UNIQUE (event, endpoint, generation);


--
-- Name: outbox_event outbox_event_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.outbox_event
    ADD CONSTRAINT outbox_event_pkey PRIMARY KEY (id);


--
-- Name: outbox_unrelayed outbox_unrelayed_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.outbox_unrelayed
    ADD CONSTRAINT outbox_unrelayed_pkey PRIMARY KEY (created_at, number);


--
-- Name: payout_batch_item payout_batch_item_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.payout_batch_item
    ADD CONSTRAINT payout_batch_item_pkey PRIMARY KEY (id);


--
-- Name: payout_batch payout_batch_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.payout_batch
    ADD CONSTRAINT payout_batch_pkey PRIMARY KEY (id);


--
-- Name: payout payout_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.payout
    ADD CONSTRAINT payout_pkey PRIMARY KEY (id);


--
-- Name: request_log request_log_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.request_log
    ADD CONSTRAINT request_log_pkey PRIMARY KEY (number);


--
-- Name: idempotency_key scope_key_unique; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.idempotency_key
    ADD CONSTRAINT scope_key_unique UNIQUE (scope, key);


--
-- Name: settlement settlement_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.settlement
    ADD CONSTRAINT settlement_pkey PRIMARY KEY (id);


--
-- Name: team team_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.team
    ADD CONSTRAINT team_pkey PRIMARY KEY (id);


--
-- Name: wallet wallet_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.wallet
    ADD CONSTRAINT wallet_pkey PRIMARY KEY (code);


--
-- Name: webhook_attempt webhook_attempt_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.webhook_attempt
    ADD CONSTRAINT webhook_attempt_pkey PRIMARY KEY (id);


--
-- Name: webhook_audit webhook_audit_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.webhook_audit
    ADD CONSTRAINT webhook_audit_pkey PRIMARY KEY (id);


--
-- Name: webhook_delivery webhook_delivery_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.webhook_delivery
    ADD CONSTRAINT webhook_delivery_pkey PRIMARY KEY (id);


--
-- Name: webhook_endpoint webhook_endpoint_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.webhook_endpoint
    ADD CONSTRAINT webhook_endpoint_pkey PRIMARY KEY (id);


--
-- Name: api_key_merchant; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX api_key_merchant ON public.api_key USING btree (merchant);


--
-- Name: collection_settlement; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX collection_settlement ON public.collection USING btree (settlement);


--
-- Name: dashboard_session_revoked_expires_at; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX dashboard_session_revoked_expires_at ON public.dashboard_session_revoked USING btree (expires_at);


--
-- Name: fault_rule_merchant; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX fault_rule_merchant ON public.fault_rule USING btree (merchant, number);


--
-- Name: idempotency_key_expires_at; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX idempotency_key_expires_at ON public.idempotency_key USING btree (expires_at);


--
-- Name: ipn_notification_psp_reference; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX ipn_notification_psp_reference ON public.ipn_notification USING btree (psp_reference);


--
-- Name: ledger_entry_merchant_seq; Type: INDEX; Schema: public; Owner: -
--

CREATE UNIQUE INDEX ledger_entry_merchant_seq ON public.ledger_entry USING btree (merchant, seq) WHERE (seq IS NOT NULL);


--
-- Name: ledger_entry_transaction; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX ledger_entry_transaction ON public.ledger_entry USING btree (transaction);


--
-- Name: ledger_transaction_merchant; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX ledger_transaction_merchant ON public.ledger_transaction USING btree (merchant);


--
-- Name: ledger_transaction_payout_id; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX ledger_transaction_payout_id ON public.ledger_transaction USING btree (payout_id);


--
-- Name: merchant_activity_at; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX merchant_activity_at ON public.merchant_activity USING btree (at);


--
-- Name: merchant_team; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX merchant_team ON public.merchant USING btree (team);


--
-- Name: outbox_event_merchant; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX outbox_event_merchant ON public.outbox_event USING btree (merchant);


--
-- Name: outbox_event_number; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX outbox_event_number ON public.outbox_event USING btree (number);


--
-- Name: outbox_event_payout_sequence; Type: INDEX; Schema: public; Owner: -
--

CREATE UNIQUE INDEX outbox_event_payout_sequence ON public.outbox_event USING btree (payout_id, sequence);


--
-- Name: payout_batch_item_payout; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX payout_batch_item_payout ON public.payout_batch_item USING btree (payout_id) WHERE (payout_id IS NOT NULL);


--
-- Name: payout_batch_item_queued; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX payout_batch_item_queued ON public.payout_batch_item USING btree (batch, line) WHERE ((status)::text = 'queued'::text);


--
-- Name: payout_batch_item_retry; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX payout_batch_item_retry ON public.payout_batch_item USING btree (batch) WHERE ((retry)::text = 'requested'::text);


--
-- Name: payout_batch_merchant; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX payout_batch_merchant ON public.payout_batch USING btree (merchant);


--
-- Name: payout_merchant_next_action; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX payout_merchant_next_action ON public.payout USING btree (merchant, next_action_at) WHERE (next_action_at IS NOT NULL);


--
-- Name: payout_merchant_number; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX payout_merchant_number ON public.payout USING btree (merchant, number DESC);


--
-- Name: payout_merchant_reference; Type: INDEX; Schema: public; Owner: -
--

CREATE UNIQUE INDEX payout_merchant_reference ON public.payout USING btree (merchant, reference) WHERE (reference IS NOT NULL);


--
-- Name: payout_next_action; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX payout_next_action ON public.payout USING btree (next_action_at) WHERE (next_action_at IS NOT NULL);


--
-- Name: payout_psp_reference; Type: INDEX; Schema: public; Owner: -
--

CREATE UNIQUE INDEX payout_psp_reference ON public.payout USING btree (psp_reference) WHERE (psp_reference IS NOT NULL);


--
-- Name: request_log_logged_at; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX request_log_logged_at ON public.request_log USING brin (logged_at);


--
-- Name: request_log_merchant; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX request_log_merchant ON public.request_log USING btree (merchant, number);


--
-- Name: settlement_merchant; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX settlement_merchant ON public.settlement USING btree (merchant);


--
-- Name: webhook_attempt_delivery; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX webhook_attempt_delivery ON public.webhook_attempt USING btree (delivery);


--
-- Name: webhook_audit_endpoint_number; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX webhook_audit_endpoint_number ON public.webhook_audit USING btree (endpoint, number DESC);


--
-- Name: webhook_delivery_due; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX webhook_delivery_due ON public.webhook_delivery USING btree (next_attempt_at) WHERE (next_attempt_at IS NOT NULL);


--
-- Name: webhook_delivery_parked; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX webhook_delivery_parked ON public.webhook_delivery USING btree (endpoint) WHERE parked;


--
-- Name: webhook_delivery_pending_endpoint; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX webhook_delivery_pending_endpoint ON public.webhook_delivery USING btree (endpoint) WHERE ((status)::text = 'pending'::text);


--
-- Name: webhook_endpoint_listener; Type: INDEX; Schema: public; Owner: -
--

CREATE UNIQUE INDEX webhook_endpoint_listener ON public.webhook_endpoint USING btree (merchant, listener_name) WHERE ((listener_name IS NOT NULL) AND (deleted_at IS NULL));


--
-- Name: webhook_endpoint_merchant; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX webhook_endpoint_merchant ON public.webhook_endpoint USING btree (merchant);


--
-- Name: api_key api_key_auth_changed; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER api_key_auth_changed AFTER DELETE OR UPDATE OR TRUNCATE ON public.api_key FOR EACH STATEMENT EXECUTE FUNCTION public.notify_auth_changed();


--
-- Name: fault_rule fault_rule_auth_changed; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER fault_rule_auth_changed AFTER INSERT OR DELETE OR UPDATE OR TRUNCATE ON public.fault_rule FOR EACH STATEMENT EXECUTE FUNCTION public.notify_auth_changed();


--
-- Name: ledger_entry ledger_entry_append_only; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER ledger_entry_append_only BEFORE DELETE OR UPDATE ON public.ledger_entry FOR EACH ROW EXECUTE FUNCTION public.ledger_is_append_only();


--
-- Name: ledger_entry ledger_entry_balanced; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER ledger_entry_balanced AFTER INSERT ON public.ledger_entry REFERENCING NEW TABLE AS inserted FOR EACH STATEMENT EXECUTE FUNCTION public.ledger_transaction_balanced();


--
-- Name: merchant merchant_auth_changed; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER merchant_auth_changed AFTER DELETE OR UPDATE OR TRUNCATE ON public.merchant FOR EACH STATEMENT EXECUTE FUNCTION public.notify_auth_changed();


--
-- Name: merchant_scenario merchant_scenario_auth_changed; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER merchant_scenario_auth_changed AFTER INSERT OR DELETE OR UPDATE OR TRUNCATE ON public.merchant_scenario FOR EACH STATEMENT EXECUTE FUNCTION public.notify_auth_changed();


--
-- Name: payout payout_count_inserted; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER payout_count_inserted AFTER INSERT ON public.payout REFERENCING NEW TABLE AS inserted FOR EACH STATEMENT EXECUTE FUNCTION public.metric_count_inserted('payouts');


--
-- Name: payout payout_count_reset; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER payout_count_reset AFTER TRUNCATE ON public.payout FOR EACH STATEMENT EXECUTE FUNCTION public.metric_count_reset('payouts');


--
-- Name: payout payout_count_rows; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER payout_count_rows AFTER DELETE ON public.payout FOR EACH ROW EXECUTE FUNCTION public.metric_count_status('payouts');


--
-- Name: payout payout_count_status; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER payout_count_status AFTER UPDATE ON public.payout REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION public.metric_count_status_changed('payouts');


--
-- Name: team team_auth_changed; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER team_auth_changed AFTER DELETE OR UPDATE OR TRUNCATE ON public.team FOR EACH STATEMENT EXECUTE FUNCTION public.notify_auth_changed();


--
-- Name: webhook_attempt webhook_attempt_count; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER webhook_attempt_count AFTER DELETE ON public.webhook_attempt FOR EACH ROW EXECUTE FUNCTION public.metric_count_attempt();


--
-- Name: webhook_attempt webhook_attempt_count_inserted; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER webhook_attempt_count_inserted AFTER INSERT ON public.webhook_attempt REFERENCING NEW TABLE AS inserted FOR EACH STATEMENT EXECUTE FUNCTION public.metric_count_attempts_inserted();


--
-- Name: webhook_attempt webhook_attempt_count_reset; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER webhook_attempt_count_reset AFTER TRUNCATE ON public.webhook_attempt FOR EACH STATEMENT EXECUTE FUNCTION public.metric_count_reset('webhook_attempts');


--
-- Name: webhook_delivery webhook_delivery_count_inserted; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER webhook_delivery_count_inserted AFTER INSERT ON public.webhook_delivery REFERENCING NEW TABLE AS inserted FOR EACH STATEMENT EXECUTE FUNCTION public.metric_count_inserted('webhook_deliveries');


--
-- Name: webhook_delivery webhook_delivery_count_reset; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER webhook_delivery_count_reset AFTER TRUNCATE ON public.webhook_delivery FOR EACH STATEMENT EXECUTE FUNCTION public.metric_count_reset('webhook_deliveries');


--
-- Name: webhook_delivery webhook_delivery_count_rows; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER webhook_delivery_count_rows AFTER DELETE ON public.webhook_delivery FOR EACH ROW EXECUTE FUNCTION public.metric_count_status('webhook_deliveries');


--
-- Name: webhook_delivery webhook_delivery_count_status; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER webhook_delivery_count_status AFTER UPDATE ON public.webhook_delivery REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION public.metric_count_status_changed('webhook_deliveries');


--
-- Name: webhook_endpoint webhook_endpoint_auth_changed; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER webhook_endpoint_auth_changed AFTER INSERT OR DELETE OR UPDATE OF signing_key, previous_signing_key OR TRUNCATE ON public.webhook_endpoint FOR EACH STATEMENT EXECUTE FUNCTION public.notify_auth_changed();


--
-- Name: api_key api_key_merchant_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.api_key
    ADD CONSTRAINT api_key_merchant_fkey FOREIGN KEY (merchant) REFERENCES public.merchant(id) ON UPDATE CASCADE ON DELETE CASCADE;


--
-- Name: api_key api_key_team_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.api_key
    ADD CONSTRAINT api_key_team_fkey FOREIGN KEY (team) REFERENCES public.team(id);


--
-- Name: balance balance_merchant_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.balance
    ADD CONSTRAINT balance_merchant_fkey FOREIGN KEY (merchant) REFERENCES public.merchant(id) ON UPDATE CASCADE ON DELETE CASCADE;


--
-- Name: collection collection_created_transaction_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.collection
    ADD CONSTRAINT collection_created_transaction_fkey FOREIGN KEY (created_transaction) REFERENCES public.ledger_transaction(id) ON UPDATE CASCADE ON DELETE CASCADE;


--
-- Name: collection collection_merchant_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.collection
    ADD CONSTRAINT collection_merchant_fkey FOREIGN KEY (merchant) REFERENCES public.merchant(id) ON UPDATE CASCADE ON DELETE CASCADE;


--
-- Name: collection collection_settled_transaction_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.collection
    ADD CONSTRAINT collection_settled_transaction_fkey FOREIGN KEY (settled_transaction) REFERENCES public.ledger_transaction(id) ON UPDATE CASCADE ON DELETE CASCADE;


--
-- Name: collection collection_settlement_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.collection
    ADD CONSTRAINT collection_settlement_fkey FOREIGN KEY (settlement) REFERENCES public.settlement(id) ON UPDATE CASCADE ON DELETE CASCADE;


--
-- Name: ledger_entry ledger_entry_merchant_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.ledger_entry
    ADD CONSTRAINT ledger_entry_merchant_fkey FOREIGN KEY (merchant) REFERENCES public.merchant(id) ON UPDATE CASCADE ON DELETE CASCADE;


--
-- Name: ledger_entry ledger_entry_transaction_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.ledger_entry
    ADD CONSTRAINT ledger_entry_transaction_fkey FOREIGN KEY (transaction) REFERENCES public.ledger_transaction(id) ON UPDATE CASCADE ON DELETE CASCADE;


--
-- Name: ledger_transaction ledger_transaction_merchant_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.ledger_transaction
    ADD CONSTRAINT ledger_transaction_merchant_fkey FOREIGN KEY (merchant) REFERENCES public.merchant(id) ON UPDATE CASCADE ON DELETE CASCADE;


--
-- Name: merchant_activity merchant_activity_merchant_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.merchant_activity
    ADD CONSTRAINT merchant_activity_merchant_fkey FOREIGN KEY (merchant) REFERENCES public.merchant(id) ON DELETE CASCADE;


--
-- Name: merchant_clock merchant_clock_merchant_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.merchant_clock
    ADD CONSTRAINT merchant_clock_merchant_fkey FOREIGN KEY (merchant) REFERENCES public.merchant(id) ON DELETE CASCADE;


--
-- Name: merchant_error_count merchant_error_count_merchant_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.merchant_error_count
    ADD CONSTRAINT merchant_error_count_merchant_fkey FOREIGN KEY (merchant) REFERENCES public.merchant(id) ON DELETE CASCADE;


--
-- Name: merchant merchant_team_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.merchant
    ADD CONSTRAINT merchant_team_fkey FOREIGN KEY (team) REFERENCES public.team(id);


--
-- Name: payout_batch_item payout_batch_item_batch_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.payout_batch_item
    ADD CONSTRAINT payout_batch_item_batch_fkey FOREIGN KEY (batch) REFERENCES public.payout_batch(id) ON UPDATE CASCADE ON DELETE CASCADE;


--
-- Name: payout_batch payout_batch_merchant_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.payout_batch
    ADD CONSTRAINT payout_batch_merchant_fkey FOREIGN KEY (merchant) REFERENCES public.merchant(id) ON UPDATE CASCADE ON DELETE CASCADE;


--
-- Name: payout payout_merchant_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.payout
    ADD CONSTRAINT payout_merchant_fkey FOREIGN KEY (merchant) REFERENCES public.merchant(id) ON UPDATE CASCADE ON DELETE CASCADE;


--
-- Name: settlement settlement_merchant_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.settlement
    ADD CONSTRAINT settlement_merchant_fkey FOREIGN KEY (merchant) REFERENCES public.merchant(id) ON UPDATE CASCADE ON DELETE CASCADE;


--
-- Name: webhook_audit webhook_audit_endpoint_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.webhook_audit
    ADD CONSTRAINT webhook_audit_endpoint_fkey FOREIGN KEY (endpoint) REFERENCES public.webhook_endpoint(id) ON DELETE CASCADE;


--
-- Name: webhook_audit webhook_audit_merchant_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.webhook_audit
    ADD CONSTRAINT webhook_audit_merchant_fkey FOREIGN KEY (merchant) REFERENCES public.merchant(id) ON DELETE CASCADE;


--
-- Name: webhook_endpoint webhook_endpoint_merchant_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.webhook_endpoint
    ADD CONSTRAINT webhook_endpoint_merchant_fkey FOREIGN KEY (merchant) REFERENCES public.merchant(id) ON UPDATE CASCADE ON DELETE CASCADE;


--
-- PostgreSQL database dump complete
--

UPDATE public.migration SET ran_on = now() WHERE true;
UPDATE public.team SET created_at = now() WHERE id = 'team_operator';
