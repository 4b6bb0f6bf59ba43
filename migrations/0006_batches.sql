-- 0006_batches.sql - batches: many questions submitted at once, processed at a lower
-- priority, followed as one unit, cancelled as one unit.
--
-- Forward-only: never edit this file once released.
--
-- A batch is one row in `batches` and one job per request in `jobs` (jobs.batch_id,
-- jobs.custom_id chosen by the client and unique within the batch, jobs.batch_line: the
-- request's line in a JSONL upload, or its index + 1 in a JSON one). The intake streams the
-- upload into jobs with COPY inside one transaction, then calls quarry_batch_accept(), which
-- reserves the whole batch's quota at once (all or nothing) under the same daily_usage row
-- lock as single questions, and commits. Jobs then travel on the batch topic.
--
-- Status: in_progress -> completed | expired, or in_progress -> cancelling -> cancelled.
-- batches.unfinished_jobs counts jobs not yet accounted; quarry_jobs_settled() (replaced
-- here, same signature and contract) decrements it once per job - it already counts every
-- terminal job exactly once - and the settlement that takes it to zero ends the batch:
-- 'cancelled' when a cancel was requested, 'expired' when any job expired, else 'completed',
-- and freezes the final counts, tokens and cost on the row so they outlive `quarry prune`.
-- A counter under the batch's row lock (not "does any job remain?") because two
-- settlements committing at once would each still see the other's job unfinished.
--
-- Lock order everywhere: jobs rows, then daily_usage rows (key order), then batches rows
-- (id order); quarry_batch_cancel() takes only the batch row.

CREATE TABLE batches (
    id                   uuid        PRIMARY KEY,
    api_key_id           bigint      NOT NULL REFERENCES api_keys (id),
    status               text        NOT NULL DEFAULT 'in_progress'
                         CHECK (status IN ('in_progress', 'cancelling', 'cancelled',
                                           'completed', 'expired')),
    metadata             jsonb,
    request_total        integer     NOT NULL DEFAULT 0 CHECK (request_total >= 0),
    unfinished_jobs      integer     NOT NULL DEFAULT 0 CHECK (unfinished_jobs >= 0),
    -- Lines of the upload that were invalid and not accepted (reported to the client).
    invalid_requests     integer     NOT NULL DEFAULT 0 CHECK (invalid_requests >= 0),
    request_id           text,
    created_at           timestamptz NOT NULL DEFAULT now(),
    -- Jobs still queued at this time end 'expired' (the consumer's sweeper does it).
    expires_at           timestamptz NOT NULL,
    -- Set by the intake once Kafka acknowledged every job of the batch. Batch jobs may
    -- wait queued for hours behind each other, so the sweeper re-publishes the queued jobs
    -- of a batch only while this is NULL (the intake stopped between commit and produce).
    published_at         timestamptz,
    cancel_requested_at  timestamptz,
    ended_at             timestamptz,
    -- Final figures, written once when the batch ends; NULL while it runs.
    succeeded            integer,
    failed               integer,
    cancelled            integer,
    expired              integer,
    input_tokens         bigint,
    output_tokens        bigint,
    cache_read_tokens    bigint,
    cache_write_tokens   bigint,
    cost_usd             numeric(24,12),
    CHECK ((status IN ('cancelled', 'completed', 'expired')) = (ended_at IS NOT NULL))
);
CREATE INDEX batches_api_key_created_idx ON batches (api_key_id, created_at DESC, id DESC);
-- The sweeper's question: running batches past their expiry.
CREATE INDEX batches_expiry_idx ON batches (expires_at) WHERE status = 'in_progress';

ALTER TABLE jobs
    ADD COLUMN batch_id   uuid REFERENCES batches (id),
    ADD COLUMN custom_id  text CHECK (length(custom_id) BETWEEN 1 AND 64),
    ADD COLUMN batch_line integer CHECK (batch_line > 0),
    ADD CONSTRAINT jobs_batch_fields CHECK ((batch_id IS NULL) = (custom_id IS NULL)
                                            AND (batch_id IS NULL) = (batch_line IS NULL));
-- Results stream in line order; custom_id is unique per batch.
CREATE UNIQUE INDEX jobs_batch_line_idx ON jobs (batch_id, batch_line) WHERE batch_id IS NOT NULL;
CREATE UNIQUE INDEX jobs_batch_custom_id_idx ON jobs (batch_id, custom_id) WHERE batch_id IS NOT NULL;
-- Cancel and expiry look for a batch's queued jobs only.
CREATE INDEX jobs_batch_queued_idx ON jobs (batch_id) WHERE status = 'queued' AND batch_id IS NOT NULL;

-- The same contract as 0002 (idempotent, set-based, refuses unfinished jobs), plus: each
-- newly accounted batch job decrements its batch's unfinished_jobs, and the batch ends when
-- that reaches zero.
CREATE OR REPLACE FUNCTION quarry_jobs_settled(p_job_ids uuid[]) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    accounted integer;
    unfinished uuid;
    v_batches uuid[];
    v_counts integer[];
BEGIN
    SELECT id INTO unfinished FROM jobs WHERE id = ANY(p_job_ids) AND finished_at IS NULL LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'job % is not terminal', unfinished;
    END IF;
    WITH marked AS (
        UPDATE jobs SET accounted_at = now()
         WHERE id = ANY(p_job_ids) AND finished_at IS NOT NULL AND accounted_at IS NULL
        RETURNING api_key_id, (created_at AT TIME ZONE 'UTC')::date AS day, status,
                  input_tokens, output_tokens, cache_read_tokens, cache_write_tokens, cost_usd,
                  reserved_tokens, reserved_usd, batch_id
    ), per_day AS (
        SELECT api_key_id, day, count(*) AS jobs,
               count(*) FILTER (WHERE status = 'succeeded') AS settled_jobs,
               sum(coalesce(input_tokens, 0)) AS input_tokens,
               sum(coalesce(output_tokens, 0)) AS output_tokens,
               sum(cache_read_tokens) AS cache_read_tokens,
               sum(cache_write_tokens) AS cache_write_tokens,
               sum(coalesce(cost_usd, 0)) AS cost_usd,
               sum(reserved_tokens) AS reserved_tokens, sum(reserved_usd) AS reserved_usd
          FROM marked GROUP BY api_key_id, day
    ), upserted AS (
        INSERT INTO daily_usage AS u (api_key_id, day, settled_jobs, input_tokens, output_tokens,
                                      cache_read_tokens, cache_write_tokens, cost_usd,
                                      reserved_tokens, reserved_usd)
        SELECT api_key_id, day, settled_jobs, input_tokens, output_tokens, cache_read_tokens,
               cache_write_tokens, cost_usd, -reserved_tokens, -reserved_usd
          FROM per_day ORDER BY api_key_id, day
        ON CONFLICT (api_key_id, day) DO UPDATE SET
            settled_jobs       = u.settled_jobs + EXCLUDED.settled_jobs,
            input_tokens       = u.input_tokens + EXCLUDED.input_tokens,
            output_tokens      = u.output_tokens + EXCLUDED.output_tokens,
            cache_read_tokens  = u.cache_read_tokens + EXCLUDED.cache_read_tokens,
            cache_write_tokens = u.cache_write_tokens + EXCLUDED.cache_write_tokens,
            cost_usd           = u.cost_usd + EXCLUDED.cost_usd,
            reserved_tokens    = u.reserved_tokens + EXCLUDED.reserved_tokens,
            reserved_usd       = u.reserved_usd + EXCLUDED.reserved_usd
        RETURNING 1
    ), per_batch AS (
        SELECT batch_id, count(*)::integer AS n FROM marked
         WHERE batch_id IS NOT NULL GROUP BY batch_id
    )
    SELECT (SELECT coalesce(sum(jobs), 0) FROM per_day),
           (SELECT array_agg(batch_id ORDER BY batch_id) FROM per_batch),
           (SELECT array_agg(n ORDER BY batch_id) FROM per_batch)
      INTO accounted, v_batches, v_counts;

    IF v_batches IS NOT NULL THEN
        -- After the daily_usage upsert above (lock order), in batch id order.
        UPDATE batches b SET unfinished_jobs = b.unfinished_jobs - d.n
          FROM unnest(v_batches, v_counts) AS d(id, n)
         WHERE b.id = d.id;
        PERFORM quarry_batch_end(id) FROM batches
         WHERE id = ANY (v_batches) AND unfinished_jobs = 0 AND ended_at IS NULL;
    END IF;
    RETURN accounted;
END
$$;

-- Ends a batch whose every job is accounted: final status and frozen figures. The caller
-- holds the batch's row lock (it just updated unfinished_jobs).
CREATE FUNCTION quarry_batch_end(p_batch_id uuid) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    UPDATE batches b SET
        status = CASE WHEN b.cancel_requested_at IS NOT NULL THEN 'cancelled'
                      WHEN t.expired > 0 THEN 'expired'
                      ELSE 'completed' END,
        ended_at = now(),
        succeeded = t.succeeded, failed = t.failed, cancelled = t.cancelled,
        expired = t.expired, input_tokens = t.input_tokens, output_tokens = t.output_tokens,
        cache_read_tokens = t.cache_read_tokens, cache_write_tokens = t.cache_write_tokens,
        cost_usd = t.cost_usd
      FROM (SELECT count(*) FILTER (WHERE status = 'succeeded')::integer AS succeeded,
                   count(*) FILTER (WHERE status = 'failed')::integer AS failed,
                   count(*) FILTER (WHERE status = 'cancelled')::integer AS cancelled,
                   count(*) FILTER (WHERE status = 'expired')::integer AS expired,
                   coalesce(sum(input_tokens), 0)::bigint AS input_tokens,
                   coalesce(sum(output_tokens), 0)::bigint AS output_tokens,
                   coalesce(sum(cache_read_tokens), 0)::bigint AS cache_read_tokens,
                   coalesce(sum(cache_write_tokens), 0)::bigint AS cache_write_tokens,
                   coalesce(sum(cost_usd), 0)::numeric(24,12) AS cost_usd
              FROM jobs WHERE batch_id = p_batch_id) t
     WHERE b.id = p_batch_id AND b.ended_at IS NULL;
END
$$;

-- Accepts a batch whose jobs the caller has inserted (status 'queued', batch_id set, each
-- with its reservation) in the current transaction: reserves the whole batch's requests,
-- tokens and USD against the key's daily limits at once, under the key's daily_usage row
-- lock, and records the injection flags. All or nothing: on 'quota' or 'invalid_key' the
-- caller rolls back. Returns one row:
--   outcome 'accepted'     detail {"requests", "created_at_ms", "created_at", "expires_at"}
--   outcome 'quota'        detail {"limit", "limit_value", "used", "reserved", "requested"}
--   outcome 'invalid_key'  the key was disabled, expired or deleted since it was cached
CREATE FUNCTION quarry_batch_accept(p_batch_id uuid, p_api_key_id bigint)
RETURNS TABLE (outcome text, detail jsonb)
LANGUAGE plpgsql AS $$
DECLARE
    v_day  date := (now() AT TIME ZONE 'UTC')::date;
    n      bigint;
    tok    bigint;
    usd    numeric;
    lim    record;
BEGIN
    SELECT count(*), coalesce(sum(reserved_tokens), 0), coalesce(sum(reserved_usd), 0)
      INTO n, tok, usd FROM jobs WHERE batch_id = p_batch_id;
    INSERT INTO daily_usage (api_key_id, day) VALUES (p_api_key_id, v_day)
        ON CONFLICT (api_key_id, day) DO NOTHING;
    SELECT u.requests, u.input_tokens + u.output_tokens + u.cache_read_tokens
               + u.cache_write_tokens AS tokens, u.cost_usd, u.reserved_tokens,
           u.reserved_usd, a.daily_requests, a.daily_tokens, a.daily_budget_usd,
           (a.disabled_at IS NULL AND (a.expires_at IS NULL OR a.expires_at > now())) AS usable
      INTO lim
      FROM daily_usage u JOIN api_keys a ON a.id = u.api_key_id
     WHERE u.api_key_id = p_api_key_id AND u.day = v_day
       FOR UPDATE OF u;
    IF lim IS NULL OR NOT lim.usable THEN
        outcome := 'invalid_key';
        RETURN NEXT;
        RETURN;
    END IF;
    IF lim.daily_requests IS NOT NULL AND lim.requests + n > lim.daily_requests THEN
        outcome := 'quota';
        detail := jsonb_build_object('limit', 'daily_requests',
            'limit_value', lim.daily_requests::text, 'used', lim.requests::text,
            'reserved', '0', 'requested', n::text);
    ELSIF lim.daily_tokens IS NOT NULL
          AND lim.tokens + lim.reserved_tokens + tok > lim.daily_tokens THEN
        outcome := 'quota';
        detail := jsonb_build_object('limit', 'daily_tokens',
            'limit_value', lim.daily_tokens::text, 'used', lim.tokens::text,
            'reserved', lim.reserved_tokens::text, 'requested', tok::text);
    ELSIF lim.daily_budget_usd IS NOT NULL
          AND lim.cost_usd + lim.reserved_usd + usd > lim.daily_budget_usd THEN
        outcome := 'quota';
        detail := jsonb_build_object('limit', 'daily_budget_usd',
            'limit_value', lim.daily_budget_usd::text, 'used', lim.cost_usd::text,
            'reserved', lim.reserved_usd::text, 'requested', usd::text);
    END IF;
    IF outcome IS NOT NULL THEN
        RETURN NEXT;
        RETURN;
    END IF;

    UPDATE daily_usage SET requests = requests + n, reserved_tokens = reserved_tokens + tok,
                           reserved_usd = reserved_usd + usd
     WHERE api_key_id = p_api_key_id AND day = v_day;
    UPDATE batches SET request_total = n, unfinished_jobs = n WHERE id = p_batch_id;
    INSERT INTO intake_rejections (at, api_key_id, code, action, reason, question_chars, job_id,
                                   request_id)
    SELECT now(), j.api_key_id, 'PROMPT_INJECTION', 'flagged', j.injection_reason,
           char_length(j.question), j.id, b.request_id
      FROM jobs j JOIN batches b ON b.id = j.batch_id
     WHERE j.batch_id = p_batch_id AND j.injection_reason IS NOT NULL;

    outcome := 'accepted';
    SELECT jsonb_build_object(
               'requests', n,
               'created_at_ms', (extract(epoch FROM b.created_at) * 1000)::bigint,
               'created_at', to_char(b.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
               'expires_at', to_char(b.expires_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'))
      INTO detail FROM batches b WHERE b.id = p_batch_id;
    RETURN NEXT;
END
$$;

-- Cancelling a batch is two steps, so that no lock is held for long: a 50,000-job batch
-- cannot be cancelled in one short transaction, and a long one holding the key's daily_usage
-- row would stall every submission and settlement of that key.
--
-- quarry_batch_cancel() records the request (status 'cancelling'), at once and durably; from
-- then on the batch can only end 'cancelled'. Returns the batch's status afterwards, or NULL
-- when the key has no such batch. A batch that already ended keeps its status.
CREATE FUNCTION quarry_batch_cancel(p_batch_id uuid, p_api_key_id bigint) RETURNS text
LANGUAGE plpgsql AS $$
BEGIN
    UPDATE batches SET cancel_requested_at = now(), status = 'cancelling'
     WHERE id = p_batch_id AND api_key_id = p_api_key_id
       AND cancel_requested_at IS NULL AND ended_at IS NULL;
    RETURN (SELECT status FROM batches WHERE id = p_batch_id AND api_key_id = p_api_key_id);
END
$$;

-- quarry_batch_cancel_queued() then cancels up to p_limit of the batch's queued jobs and
-- settles them (their reservations are released), in one transaction; the caller repeats it
-- until it returns fewer than p_limit. The intake does so right after the request, and the
-- sweeper finishes the work if the intake stopped halfway. Jobs already running finish; the
-- batch ends 'cancelled' when the last job is accounted (quarry_jobs_settled).
CREATE FUNCTION quarry_batch_cancel_queued(p_batch_id uuid, p_limit integer) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    v_ids uuid[];
BEGIN
    WITH c AS (
        UPDATE jobs SET status = 'cancelled', finished_at = now(), error_code = 'CANCELLED',
                        error_message = 'the batch was cancelled before this request started'
         WHERE id IN (SELECT j.id FROM jobs j
                       WHERE j.batch_id = p_batch_id AND j.status = 'queued'
                         AND EXISTS (SELECT 1 FROM batches b WHERE b.id = p_batch_id
                                        AND b.cancel_requested_at IS NOT NULL)
                       LIMIT p_limit FOR UPDATE SKIP LOCKED)
        RETURNING id)
    SELECT coalesce(array_agg(id), '{}') INTO v_ids FROM c;
    PERFORM quarry_jobs_settled(v_ids);
    RETURN cardinality(v_ids);
END
$$;

-- Expires the queued jobs of batches past their expires_at (at most p_limit jobs per
-- call, settled in the same transaction); the sweeper calls it. Returns how many.
CREATE FUNCTION quarry_batches_expire(p_limit integer) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    v_ids uuid[];
BEGIN
    WITH e AS (
        UPDATE jobs SET status = 'expired', finished_at = now(), error_code = 'BATCH_EXPIRED',
                        error_message = 'the batch expired before this request started'
         WHERE id IN (SELECT j.id FROM batches b JOIN jobs j
                             ON j.batch_id = b.id AND j.status = 'queued'
                       WHERE b.status = 'in_progress' AND b.expires_at <= now()
                       LIMIT p_limit FOR UPDATE OF j SKIP LOCKED)
        RETURNING id)
    SELECT coalesce(array_agg(id), '{}') INTO v_ids FROM e;
    PERFORM quarry_jobs_settled(v_ids);
    RETURN cardinality(v_ids);
END
$$;
