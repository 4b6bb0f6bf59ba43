-- 0002_settlement.sql - one place where a finished job's money is accounted.
--
-- Whoever moves a job to a terminal state (the consumer, a cancel, the sweeper) calls
-- quarry_job_settled(job id) in the same transaction. The function adds the job's real
-- usage to the key's daily totals and releases what the intake reserved for the job when
-- it was accepted (jobs.reserved_tokens / reserved_usd). It is idempotent: the first call
-- for a terminal job marks jobs.accounted_at, and any later call does nothing, so a job
-- is counted exactly once however often it is settled or its message delivered.
-- A later migration may replace the body (CREATE OR REPLACE) to follow the intake's
-- quota design, but never the signature, the idempotence or that contract.

ALTER TABLE jobs
    ADD COLUMN reserved_tokens bigint         NOT NULL DEFAULT 0 CHECK (reserved_tokens >= 0),
    ADD COLUMN reserved_usd    numeric(24,12) NOT NULL DEFAULT 0 CHECK (reserved_usd >= 0),
    -- Set once, by quarry_job_settled, when the job's usage entered daily_usage.
    ADD COLUMN accounted_at    timestamptz;

CREATE FUNCTION quarry_job_settled(p_job_id uuid) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    j jobs%ROWTYPE;
BEGIN
    UPDATE jobs SET accounted_at = now()
     WHERE id = p_job_id AND finished_at IS NOT NULL AND accounted_at IS NULL
    RETURNING * INTO j;
    IF NOT FOUND THEN
        -- Already accounted, or not terminal (then the caller has a bug: say so).
        PERFORM 1 FROM jobs WHERE id = p_job_id AND finished_at IS NULL;
        IF FOUND THEN
            RAISE EXCEPTION 'job % is not terminal', p_job_id;
        END IF;
        RETURN;
    END IF;
    INSERT INTO daily_usage AS u (api_key_id, day, settled_jobs, input_tokens, output_tokens,
                                  cache_read_tokens, cache_write_tokens, cost_usd,
                                  reserved_tokens, reserved_usd)
    VALUES (j.api_key_id, (j.created_at AT TIME ZONE 'UTC')::date,
            CASE WHEN j.status = 'succeeded' THEN 1 ELSE 0 END,
            coalesce(j.input_tokens, 0), coalesce(j.output_tokens, 0),
            j.cache_read_tokens, j.cache_write_tokens, coalesce(j.cost_usd, 0),
            -j.reserved_tokens, -j.reserved_usd)
    ON CONFLICT (api_key_id, day) DO UPDATE SET
        settled_jobs       = u.settled_jobs + EXCLUDED.settled_jobs,
        input_tokens       = u.input_tokens + EXCLUDED.input_tokens,
        output_tokens      = u.output_tokens + EXCLUDED.output_tokens,
        cache_read_tokens  = u.cache_read_tokens + EXCLUDED.cache_read_tokens,
        cache_write_tokens = u.cache_write_tokens + EXCLUDED.cache_write_tokens,
        cost_usd           = u.cost_usd + EXCLUDED.cost_usd,
        reserved_tokens    = u.reserved_tokens + EXCLUDED.reserved_tokens,
        reserved_usd       = u.reserved_usd + EXCLUDED.reserved_usd;
END
$$;
