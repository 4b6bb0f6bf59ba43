-- 0003_intake.sql - the intake's production contract: per-key policy, atomic quota
-- reservation in batches, idempotency keys, cancel, change notifications, and a record of
-- every rejected or flagged submission.
--
-- Forward-only: never edit this file once released.
--
-- Tables and columns added here (issue 6 builds report views on them):
--
--   api_keys.injection_policy   'block' | 'flag' | 'off' (default 'block')
--   api_keys.min_question_chars shortest question accepted, in Unicode characters
--   jobs.injection_reason       NULL, or the screen's reason when the key's policy is 'flag'
--                               and the question looked like a prompt injection
--   idempotency_keys            (api_key_id, idempotency_key) -> job_id and the SHA-256 of the
--                               request body; rows live 24 hours (quarry_intake_cleanup()
--                               deletes them after 25), an expired row is replaced in place
--   intake_rejections           one row per submission that was rejected or flagged after the
--                               key was authenticated: when, which key, the stable error code
--                               (PROMPT_INJECTION, RATE_LIMITED, QUOTA_EXCEEDED,
--                               MODEL_NOT_ALLOWED), action ('blocked', 'flagged' = accepted
--                               and marked on the job, 'rejected'), a reason (the injection
--                               kind, or which daily limit), the question's length in
--                               characters, the screen's score and, for flags, the job id.
--                               Never the question text.
--
-- Quota design (why daily_usage keeps the reservations): the intake does not reserve per
-- request. It group-commits every few milliseconds: one call of quarry_intake_accept() takes
-- every submission of the batch, inserts the jobs, then locks the daily_usage rows of the
-- batch's keys in one statement (in key id order, so two intake instances cannot deadlock),
-- decides in submission order which jobs of a key with a daily limit fit under its daily
-- requests / tokens / USD, adds the reservations (one set-based UPDATE for the keys without
-- a daily limit), deletes the jobs that did not fit, and commits. A hot key therefore takes
-- one row lock per batch per intake instance, held only for the UPDATE and the COMMIT, not one
-- per submission; and because the check and the increment happen under the row lock, no
-- number of concurrent batches can push settled + reserved past a limit. The consumer's
-- quarry_job_settled() (0002) is unchanged: it releases jobs.reserved_* from the same row.

ALTER TABLE api_keys
    ADD COLUMN injection_policy   text    NOT NULL DEFAULT 'block'
               CHECK (injection_policy IN ('block', 'flag', 'off')),
    ADD COLUMN min_question_chars integer NOT NULL DEFAULT 1 CHECK (min_question_chars > 0);

ALTER TABLE jobs ADD COLUMN injection_reason text;

CREATE TABLE idempotency_keys (
    api_key_id       bigint      NOT NULL REFERENCES api_keys (id),
    idempotency_key  text        NOT NULL CHECK (length(idempotency_key) BETWEEN 1 AND 255),
    body_sha256      bytea       NOT NULL CHECK (length(body_sha256) = 32),
    job_id           uuid        NOT NULL,
    created_at       timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (api_key_id, idempotency_key)
);
CREATE INDEX idempotency_keys_created_idx ON idempotency_keys (created_at);

CREATE TABLE intake_rejections (
    id               bigserial   PRIMARY KEY,
    at               timestamptz NOT NULL DEFAULT now(),
    api_key_id       bigint      NOT NULL REFERENCES api_keys (id),
    code             text        NOT NULL,
    action           text        NOT NULL CHECK (action IN ('blocked', 'flagged', 'rejected')),
    reason           text,
    question_chars   integer,
    score            smallint,
    job_id           uuid,
    request_id       text
);
CREATE INDEX intake_rejections_key_at_idx ON intake_rejections (api_key_id, at);

-- Every intake instance LISTENs: a changed or deleted key is dropped from its cache at once
-- (the payload is the key's SHA-256 in hex), and a job reaching a terminal state wakes the
-- long-polls waiting for it (the payload is the job id). NOTIFY is delivered at commit, so a
-- woken poll always reads the committed state.
CREATE FUNCTION quarry_api_keys_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        PERFORM pg_notify('quarry_api_keys', encode(OLD.key_sha256, 'hex'));
    ELSE
        PERFORM pg_notify('quarry_api_keys', encode(NEW.key_sha256, 'hex'));
        IF NEW.key_sha256 <> OLD.key_sha256 THEN
            PERFORM pg_notify('quarry_api_keys', encode(OLD.key_sha256, 'hex'));
        END IF;
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER api_keys_changed AFTER UPDATE OR DELETE ON api_keys
    FOR EACH ROW EXECUTE FUNCTION quarry_api_keys_changed();

CREATE FUNCTION quarry_job_finished_notify() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('quarry_job_done', NEW.id::text);
    RETURN NULL;
END
$$;
CREATE TRIGGER jobs_finished_notify AFTER UPDATE OF status, finished_at ON jobs
    FOR EACH ROW WHEN (NEW.finished_at IS NOT NULL AND OLD.finished_at IS NULL)
    EXECUTE FUNCTION quarry_job_finished_notify();

-- Accepts a batch of submissions atomically (see the quota design above). The arrays are
-- parallel, one element per submission; the caller passes them grouped by api key (for a
-- linear scan), each key's submissions in arrival order. Reservations in USD are integer
-- pico-USD (exact, and fixed-width so the arrays index in constant time). p_idem_keys[i] is
-- NULL when the request had no Idempotency-Key. Returns a row with idx 0 whose detail is
-- {"created_at_ms", "created_at"} of every accepted job, then one row per element that was
-- NOT accepted (every other element was):
--   outcome 'quota'       detail {"limit", "limit_value", "used", "reserved", "requested"}
--   outcome 'invalid_key' the key was disabled, expired or deleted since it was cached
--   outcome 'duplicate'   detail {"job_id", "same_body"}: the Idempotency-Key is already
--                         bound to a job
--   outcome 'retry'       an earlier element of this batch with the same Idempotency-Key
--                         was rejected: the client may retry
CREATE FUNCTION quarry_intake_accept(
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
    v_checked bigint[];
    v_bad    boolean := false;
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

    -- Idempotency keys first: the first element per (key, idempotency key) claims the key
    -- unless a live row holds it (an insert that conflicts with an uncommitted row of
    -- another batch waits for that batch, so the answer is always the committed one).
    IF EXISTS (SELECT 1 FROM unnest(p_idem_keys) x WHERE x IS NOT NULL) THEN
        WITH items AS (
            SELECT t.* FROM unnest(p_ids, p_keys, p_idem_keys, p_idem_hashes)
                   WITH ORDINALITY AS t(id, key_id, ikey, ihash, o)
            WHERE t.ikey IS NOT NULL),
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
        END LOOP;
    END IF;

    -- Insert every candidate now, so the usage rows are locked only for the UPDATE and
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

    INSERT INTO daily_usage (api_key_id, day)
    SELECT DISTINCT key_id, v_day FROM unnest(p_keys) AS key_id ORDER BY 1
    ON CONFLICT (api_key_id, day) DO NOTHING;

    -- Lock every usage row of the batch at once, in key order (so concurrent batches of
    -- several intake instances cannot deadlock), and sort the keys: those with a daily limit,
    -- or no longer usable, are checked one by one below; the rest (no daily limit) only
    -- count, in one set-based UPDATE.
    PERFORM 1 FROM daily_usage
     WHERE day = v_day AND api_key_id IN (SELECT DISTINCT unnest(p_keys))
     ORDER BY api_key_id FOR UPDATE;
    SELECT coalesce(array_agg(a.id), '{}') INTO v_checked FROM api_keys a
     WHERE a.id IN (SELECT DISTINCT unnest(p_keys))
       AND (a.daily_requests IS NOT NULL OR a.daily_tokens IS NOT NULL
            OR a.daily_budget_usd IS NOT NULL OR a.disabled_at IS NOT NULL
            OR (a.expires_at IS NOT NULL AND a.expires_at <= now()));
    -- A key deleted since it was cached has no api_keys row: check it (and reject).
    SELECT v_checked || coalesce(array_agg(d.gone), '{}') INTO v_checked
      FROM (SELECT DISTINCT unnest(p_keys) AS gone) d
     WHERE NOT EXISTS (SELECT 1 FROM api_keys a WHERE a.id = d.gone);

    UPDATE daily_usage u SET requests = u.requests + t.n,
                             reserved_tokens = u.reserved_tokens + t.tok,
                             reserved_usd = u.reserved_usd + t.pico / 1000000000000.0
      FROM (SELECT x.key_id, count(*) AS n, sum(x.res_tokens) AS tok, sum(x.res_pico) AS pico
              FROM unnest(p_keys, p_res_tokens, p_res_pico) WITH ORDINALITY
                   AS x(key_id, res_tokens, res_pico, o)
             WHERE v_state[x.o] = 0 AND NOT (x.key_id = ANY (v_checked))
             GROUP BY x.key_id) t
     WHERE u.api_key_id = t.key_id AND u.day = v_day;

    i := 1;
    WHILE i <= n LOOP
        k := p_keys[i];
        IF NOT (k = ANY (v_checked)) THEN
            WHILE i <= n AND p_keys[i] = k LOOP
                i := i + 1;
            END LOOP;
            CONTINUE;
        END IF;
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
        i := j;
    END LOOP;

    -- Undo what did not fit: its job row and its claim on an idempotency key.
    IF v_bad THEN
        DELETE FROM jobs WHERE id IN (
            SELECT t.id FROM unnest(p_ids) WITH ORDINALITY AS t(id, o) WHERE v_state[t.o] IN (2, 3));
        DELETE FROM idempotency_keys d
         USING unnest(p_ids, p_keys, p_idem_keys) WITH ORDINALITY AS t(id, key_id, ikey, o)
         WHERE v_state[t.o] IN (2, 3) AND t.ikey IS NOT NULL
           AND d.api_key_id = t.key_id AND d.idempotency_key = t.ikey AND d.job_id = t.id;
    END IF;

    -- Flags are recorded with the job they belong to, in the same transaction.
    INSERT INTO intake_rejections (api_key_id, code, action, reason, question_chars, score,
                                   job_id, request_id)
    SELECT t.key_id, 'PROMPT_INJECTION', 'flagged', t.injection, t.chars, t.score, t.id, t.rid
    FROM unnest(p_ids, p_keys, p_injection, p_chars, p_scores, p_request_ids)
         WITH ORDINALITY AS t(id, key_id, injection, chars, score, rid, o)
    WHERE t.injection IS NOT NULL AND v_state[t.o] = 0;

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

-- Cancels a queued job of the key and releases its reservation in the same transaction.
-- Returns the job's status afterwards ('cancelled' when this call or an earlier one
-- cancelled it, otherwise the state that prevented it), or NULL when the key has no such job.
CREATE FUNCTION quarry_job_cancel(p_job_id uuid, p_api_key_id bigint) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    v_status text;
BEGIN
    UPDATE jobs SET status = 'cancelled', finished_at = now(),
                    error_code = 'CANCELLED', error_message = 'cancelled by the client'
     WHERE id = p_job_id AND api_key_id = p_api_key_id AND status = 'queued';
    IF FOUND THEN
        PERFORM quarry_job_settled(p_job_id);
        RETURN 'cancelled';
    END IF;
    SELECT status INTO v_status FROM jobs WHERE id = p_job_id AND api_key_id = p_api_key_id;
    RETURN v_status;
END
$$;

-- Housekeeping, run by every intake instance about once a minute.
CREATE FUNCTION quarry_intake_cleanup() RETURNS void
LANGUAGE sql AS $$
    DELETE FROM idempotency_keys WHERE created_at < now() - interval '25 hours';
$$;
