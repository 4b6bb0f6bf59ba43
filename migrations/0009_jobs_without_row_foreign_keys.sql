-- 0009_jobs_without_row_foreign_keys.sql - the intake inserts a job without a per-row
-- foreign-key check; what the two foreign keys of `jobs` guaranteed is kept another way.
--
-- Forward-only: never edit this file once released.
--
-- Why: PostgreSQL checks a foreign key with one query per inserted row, queued as an
-- after-trigger event, also for a NULL batch_id. Measured on a warm connection (EXPLAIN
-- ANALYZE, 1,000-row INSERT into a 1.5-million-row jobs table, docs/benchmarks.md "## Intake"):
-- 29-36 ms with the two foreign keys, 16-17 ms without; about 13 us of the database's CPU per
-- accepted submission, half of what PostgreSQL spent per job at 20,000 submissions/s.
--
-- What stays true, and how:
--   - a job's api_key_id names an existing key: quarry_intake_accept locks every key of its
--     batch FOR KEY SHARE (the lock the foreign key took, once per key instead of once per
--     row) and answers 'invalid_key' for keys already gone (the first usage row of a key's
--     day locks it too, by daily_usage's own foreign key, but later batches of the day only
--     update that row); the batch upload inserts its `batches` row first, whose own foreign
--     key locks the key the same way;
--   - a job's batch_id names an existing batch: batch jobs are inserted only in the
--     transaction that inserts their batch;
--   - a key or a batch that jobs point to cannot be deleted (or its id changed): the triggers
--     below refuse it with the foreign-key error code (23503), as the constraints did. A
--     delete that races an intake transaction waits for its FOR KEY SHARE lock, then sees
--     its jobs (in READ COMMITTED, PostgreSQL's default; a delete inside a REPEATABLE READ
--     transaction would look with its older snapshot). Quarry itself never deletes keys or
--     batches: keys are disabled, batches expire.

ALTER TABLE jobs DROP CONSTRAINT jobs_api_key_id_fkey;
ALTER TABLE jobs DROP CONSTRAINT jobs_batch_id_fkey;

-- jobs_api_key_created_idx and jobs_batch_line_idx make both lookups index scans.
CREATE FUNCTION quarry_refuse_delete_with_jobs() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND NEW.id = OLD.id THEN
        RETURN NEW;
    END IF;
    IF TG_TABLE_NAME = 'api_keys' THEN
        PERFORM 1 FROM jobs WHERE api_key_id = OLD.id LIMIT 1;
    ELSE
        PERFORM 1 FROM jobs WHERE batch_id = OLD.id LIMIT 1;
    END IF;
    IF FOUND THEN
        RAISE EXCEPTION 'update or delete on table "%" violates a reference from table "jobs"',
                        TG_TABLE_NAME
              USING ERRCODE = 'foreign_key_violation',
                    DETAIL = format('Key (id)=(%s) is still referenced from table "jobs".', OLD.id);
    END IF;
    RETURN CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
END
$$;

CREATE TRIGGER api_keys_referenced_by_jobs BEFORE DELETE OR UPDATE OF id ON api_keys
    FOR EACH ROW EXECUTE FUNCTION quarry_refuse_delete_with_jobs();
CREATE TRIGGER batches_referenced_by_jobs BEFORE DELETE OR UPDATE OF id ON batches
    FOR EACH ROW EXECUTE FUNCTION quarry_refuse_delete_with_jobs();

-- quarry_intake_accept() as in 0008, except the first statement, which now also locks the keys.
CREATE OR REPLACE FUNCTION quarry_intake_accept(
    p_ids uuid[], p_keys bigint[], p_questions text[], p_models text[], p_max_tokens integer[],
    p_temperatures real[], p_res_tokens bigint[], p_res_pico bigint[], p_injection text[],
    p_chars integer[], p_scores integer[], p_request_ids text[], p_idem_keys text[],
    p_idem_hashes bytea[])
RETURNS TABLE (idx integer, outcome text, detail jsonb)
LANGUAGE plpgsql AS $$
DECLARE
    n        integer := coalesce(array_length(p_ids, 1), 0);
    v_day    date := (now() AT TIME ZONE 'UTC')::date;
    -- 0 candidate/accepted, 2 quota, 3 invalid key, 4 duplicate (smallint: O(1) subscripts)
    v_state  smallint[] := array_fill(0::smallint, ARRAY[n]);
    v_det    jsonb := '{}';
    v_fresh  integer[];
    v_checked bigint[];   -- keys with a daily limit, disabled or expired: checked one by one
    v_gone   bigint[];    -- keys deleted since they were cached
    v_bad    boolean := false;
    v_other  boolean := false; -- some element is not accepted: answer it below
    i        integer;
    j        integer;
    k        bigint;
    lim      record;
    acc_req  bigint;
    acc_tok  bigint;
    acc_pico bigint;
    used_tok bigint;
    used_usd numeric;
BEGIN
    idx := 0;
    outcome := 'created';
    detail := jsonb_build_object(
        'created_at_ms', (extract(epoch FROM now()) * 1000)::bigint,
        'created_at', to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'));
    RETURN NEXT;
    IF n = 0 THEN
        RETURN;
    END IF;

    -- Lock the batch's keys against deletion until COMMIT (what the foreign key's per-row
    -- check did, once per key here), and sort them: those that need a look one by one, and
    -- those that no longer exist (deleted since they were cached; a key being deleted right
    -- now is waited for, and skipped if the delete commits).
    WITH live AS (
        SELECT a.id,
               (a.daily_requests IS NOT NULL OR a.daily_tokens IS NOT NULL
                OR a.daily_budget_usd IS NOT NULL OR a.disabled_at IS NOT NULL
                OR (a.expires_at IS NOT NULL AND a.expires_at <= now())) AS checked
          FROM api_keys a
         WHERE a.id = ANY (p_keys)
           FOR KEY SHARE)
    SELECT coalesce((SELECT array_agg(l.id ORDER BY l.id) FROM live l WHERE l.checked), '{}'),
           coalesce((SELECT array_agg(DISTINCT x) FROM unnest(p_keys) x
                      WHERE NOT EXISTS (SELECT 1 FROM live l WHERE l.id = x)), '{}')
      INTO v_checked, v_gone;

    -- Idempotency keys first: the first element per (key, idempotency key) claims the key
    -- unless a live row holds it (an insert that conflicts with an uncommitted row of
    -- another batch waits for that batch, so the answer is always the committed one).
    IF cardinality(array_remove(p_idem_keys, NULL)) > 0 THEN
        WITH items AS (
            SELECT t.* FROM unnest(p_ids, p_keys, p_idem_keys, p_idem_hashes)
                   WITH ORDINALITY AS t(id, key_id, ikey, ihash, o)
            WHERE t.ikey IS NOT NULL AND NOT (t.key_id = ANY (v_gone))),
        cand AS (
            SELECT DISTINCT ON (key_id, ikey) * FROM items ORDER BY key_id, ikey, o),
        ins AS (
            INSERT INTO idempotency_keys AS t (api_key_id, idempotency_key, body_sha256, job_id)
            SELECT key_id, ikey, ihash, id FROM cand ORDER BY o
            ON CONFLICT (api_key_id, idempotency_key) DO UPDATE
                SET body_sha256 = EXCLUDED.body_sha256, job_id = EXCLUDED.job_id,
                    created_at = now()
                WHERE t.created_at < now() - interval '24 hours'
            RETURNING t.job_id)
        SELECT array_agg(cand.o) INTO v_fresh FROM cand JOIN ins ON ins.job_id = cand.id;
        SELECT array_agg(o) INTO v_fresh FROM (
            SELECT o FROM unnest(p_idem_keys) WITH ORDINALITY AS t(ikey, o)
            WHERE ikey IS NOT NULL AND NOT (o = ANY (coalesce(v_fresh, '{}')))) d;
        FOR i IN SELECT unnest(v_fresh) LOOP
            v_state[i] := 4;
            v_other := true;
        END LOOP;
    END IF;

    -- Elements of deleted keys are rejected before anything is written for them.
    FOREACH k IN ARRAY v_gone LOOP
        i := array_position(p_keys, k);
        WHILE i <= n AND p_keys[i] = k LOOP
            v_state[i] := 3;
            i := i + 1;
        END LOOP;
        v_other := true;
    END LOOP;

    -- Insert every candidate now, so the usage rows are locked only for the counting and
    -- the COMMIT; the few that do not fit are deleted below.
    INSERT INTO jobs (id, api_key_id, question, model, max_tokens, temperature,
                      reserved_tokens, reserved_usd, injection_reason)
    SELECT t.id, t.key_id, t.question, t.model, t.max_tokens, t.temperature, t.res_tokens,
           t.res_pico / 1000000000000.0, t.injection
    FROM unnest(p_ids, p_keys, p_questions, p_models, p_max_tokens, p_temperatures,
                p_res_tokens, p_res_pico, p_injection)
         WITH ORDINALITY AS t(id, key_id, question, model, max_tokens, temperature,
                              res_tokens, res_pico, injection, o)
    WHERE v_state[t.o] = 0;

    -- Create, lock (in key order) and count the usage row of every existing key of the
    -- batch at once. Keys without a daily limit are counted here; the others get +0 (the
    -- WHERE skips the update, the row stays locked) and are checked one by one below.
    INSERT INTO daily_usage AS u (api_key_id, day, requests, reserved_tokens, reserved_usd)
    SELECT x.key_id, v_day,
           count(*) FILTER (WHERE v_state[x.o] = 0 AND NOT (x.key_id = ANY (v_checked))),
           coalesce(sum(x.res_tokens) FILTER (WHERE v_state[x.o] = 0
                                              AND NOT (x.key_id = ANY (v_checked))), 0),
           coalesce(sum(x.res_pico) FILTER (WHERE v_state[x.o] = 0
                                            AND NOT (x.key_id = ANY (v_checked))), 0)
               / 1000000000000.0
      FROM unnest(p_keys, p_res_tokens, p_res_pico) WITH ORDINALITY
           AS x(key_id, res_tokens, res_pico, o)
     WHERE NOT (x.key_id = ANY (v_gone))
     GROUP BY x.key_id
     ORDER BY x.key_id
    ON CONFLICT (api_key_id, day) DO UPDATE
       SET requests = u.requests + EXCLUDED.requests,
           reserved_tokens = u.reserved_tokens + EXCLUDED.reserved_tokens,
           reserved_usd = u.reserved_usd + EXCLUDED.reserved_usd
     WHERE EXCLUDED.requests > 0;

    -- Keys with a daily limit (or no longer usable): decide in submission order which jobs
    -- fit, under the row lock taken above.
    FOREACH k IN ARRAY v_checked LOOP
        i := array_position(p_keys, k);
        SELECT u.requests, u.input_tokens + u.output_tokens + u.cache_read_tokens
                   + u.cache_write_tokens AS tokens, u.cost_usd, u.reserved_tokens,
               u.reserved_usd, a.daily_requests, a.daily_tokens, a.daily_budget_usd,
               (a.disabled_at IS NULL AND (a.expires_at IS NULL OR a.expires_at > now()))
                   AS usable
          INTO lim
          FROM daily_usage u JOIN api_keys a ON a.id = u.api_key_id
         WHERE u.api_key_id = k AND u.day = v_day;
        acc_req := 0; acc_tok := 0; acc_pico := 0;
        j := i;
        WHILE j <= n AND p_keys[j] = k LOOP
            IF v_state[j] = 0 THEN
                IF lim IS NULL OR NOT lim.usable THEN
                    v_state[j] := 3;
                ELSE
                    used_tok := lim.tokens + lim.reserved_tokens + acc_tok;
                    used_usd := lim.cost_usd + lim.reserved_usd + acc_pico / 1000000000000.0;
                    IF lim.daily_requests IS NOT NULL
                       AND lim.requests + acc_req + 1 > lim.daily_requests THEN
                        v_state[j] := 2;
                        v_det := v_det || jsonb_build_object(j::text, jsonb_build_object(
                            'limit', 'daily_requests',
                            'limit_value', lim.daily_requests::text,
                            'used', (lim.requests + acc_req)::text, 'reserved', '0',
                            'requested', '1'));
                    ELSIF lim.daily_tokens IS NOT NULL
                       AND used_tok + p_res_tokens[j] > lim.daily_tokens THEN
                        v_state[j] := 2;
                        v_det := v_det || jsonb_build_object(j::text, jsonb_build_object(
                            'limit', 'daily_tokens',
                            'limit_value', lim.daily_tokens::text,
                            'used', lim.tokens::text,
                            'reserved', (lim.reserved_tokens + acc_tok)::text,
                            'requested', p_res_tokens[j]::text));
                    ELSIF lim.daily_budget_usd IS NOT NULL
                       AND used_usd + p_res_pico[j] / 1000000000000.0 > lim.daily_budget_usd THEN
                        v_state[j] := 2;
                        v_det := v_det || jsonb_build_object(j::text, jsonb_build_object(
                            'limit', 'daily_budget_usd',
                            'limit_value', lim.daily_budget_usd::text,
                            'used', lim.cost_usd::text,
                            'reserved', (lim.reserved_usd + acc_pico / 1000000000000.0)::text,
                            'requested', (p_res_pico[j] / 1000000000000.0)::text));
                    ELSE
                        acc_req := acc_req + 1;
                        acc_tok := acc_tok + p_res_tokens[j];
                        acc_pico := acc_pico + p_res_pico[j];
                    END IF;
                END IF;
                IF v_state[j] IN (2, 3) THEN
                    v_bad := true;
                END IF;
            END IF;
            j := j + 1;
        END LOOP;
        IF acc_req > 0 THEN
            UPDATE daily_usage SET requests = requests + acc_req,
                                   reserved_tokens = reserved_tokens + acc_tok,
                                   reserved_usd = reserved_usd + acc_pico / 1000000000000.0
             WHERE api_key_id = k AND day = v_day;
        END IF;
    END LOOP;

    -- Undo what did not fit: its job row and its claim on an idempotency key.
    IF v_bad THEN
        v_other := true;
        DELETE FROM jobs WHERE id IN (
            SELECT t.id FROM unnest(p_ids) WITH ORDINALITY AS t(id, o) WHERE v_state[t.o] IN (2, 3));
        DELETE FROM idempotency_keys d
         USING unnest(p_ids, p_keys, p_idem_keys) WITH ORDINALITY AS t(id, key_id, ikey, o)
         WHERE v_state[t.o] IN (2, 3) AND t.ikey IS NOT NULL
           AND d.api_key_id = t.key_id AND d.idempotency_key = t.ikey AND d.job_id = t.id;
    END IF;

    -- Flags are recorded with the job they belong to, in the same transaction.
    IF cardinality(array_remove(p_injection, NULL)) > 0 THEN
        INSERT INTO intake_rejections (api_key_id, code, action, reason, question_chars, score,
                                       job_id, request_id)
        SELECT t.key_id, 'PROMPT_INJECTION', 'flagged', t.injection, t.chars, t.score, t.id,
               t.rid
        FROM unnest(p_ids, p_keys, p_injection, p_chars, p_scores, p_request_ids)
             WITH ORDINALITY AS t(id, key_id, injection, chars, score, rid, o)
        WHERE t.injection IS NOT NULL AND v_state[t.o] = 0;
    END IF;

    IF NOT v_other THEN
        RETURN;
    END IF;
    FOR i IN 1 .. n LOOP
        CONTINUE WHEN v_state[i] = 0;
        idx := i;
        IF v_state[i] = 2 THEN
            outcome := 'quota';
            detail := v_det -> i::text;
        ELSIF v_state[i] = 3 THEN
            outcome := 'invalid_key';
            detail := NULL;
        ELSE
            outcome := 'duplicate';
            SELECT jsonb_build_object('job_id', t.job_id, 'same_body',
                                      t.body_sha256 = p_idem_hashes[i])
              INTO detail
              FROM idempotency_keys t
             WHERE t.api_key_id = p_keys[i] AND t.idempotency_key = p_idem_keys[i];
            IF detail IS NULL THEN
                outcome := 'retry';
            END IF;
        END IF;
        RETURN NEXT;
    END LOOP;
END
$$;
