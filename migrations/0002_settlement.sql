-- 0002_settlement.sql - one place where finished jobs' money is accounted.
--
-- Whoever moves jobs to a terminal state (the consumer, a cancel, the sweeper) calls
-- quarry_jobs_settled(ids) - or quarry_job_settled(id) for one - in the same transaction.
-- It adds the jobs' real usage to their keys' daily totals and releases what the intake
-- reserved for them when they were accepted (jobs.reserved_tokens / reserved_usd). It is
-- idempotent: the first call for a terminal job marks jobs.accounted_at and any later call
-- skips it, so a job is counted exactly once however often it is settled or its message
-- delivered; it refuses jobs that are not terminal.
--
-- It works on sets: the consumer settles hundreds of jobs per transaction, often of one
-- key, and upserting the same daily_usage row once per job would walk an ever longer chain
-- of row versions (O(n^2) per batch). So it upserts once per (key, UTC day), in key order
-- like the intake's reservations, and concurrent settlements and acceptances cannot
-- deadlock. A later migration may replace the bodies (CREATE OR REPLACE) to follow a
-- different quota design, but never the signatures, the idempotence or that contract.

ALTER TABLE jobs
    ADD COLUMN reserved_tokens bigint         NOT NULL DEFAULT 0 CHECK (reserved_tokens >= 0),
    ADD COLUMN reserved_usd    numeric(24,12) NOT NULL DEFAULT 0 CHECK (reserved_usd >= 0),
    -- Set once, by quarry_jobs_settled, when the job's usage entered daily_usage.
    ADD COLUMN accounted_at    timestamptz,
    -- A lease exists only while a job runs. The consumer's settlement relies on it: it
    -- matches its claim by lease_owner alone, which keeps that UPDATE on the primary key.
    ADD CONSTRAINT jobs_lease_only_while_running CHECK (lease_owner IS NULL OR status = 'running');

CREATE FUNCTION quarry_jobs_settled(p_job_ids uuid[]) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    accounted integer;
    unfinished uuid;
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
                  reserved_tokens, reserved_usd
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
    )
    SELECT coalesce(sum(jobs), 0) INTO accounted FROM per_day;
    RETURN accounted;
END
$$;

CREATE FUNCTION quarry_job_settled(p_job_id uuid) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM quarry_jobs_settled(ARRAY[p_job_id]);
END
$$;
