-- 0006_settle_in_sets.sql - account a whole batch of settled jobs at once.
--
-- quarry_job_settled() (0002) upserts the key's daily_usage row once per job. The
-- consumer settles jobs in batches of hundreds, often of one key, and updating the same
-- row hundreds of times in one transaction walks an ever longer chain of row versions:
-- the batch costs O(n^2) and the database became the consumer's bottleneck (~1.4 ms per
-- job). quarry_jobs_settled() marks the jobs accounted and adds their usage (and releases
-- their reservations) with one upsert per (key, UTC day), taken in key order like the
-- intake's reservations, so concurrent settlements and acceptances cannot deadlock.
-- Same contract as quarry_job_settled: call it in the transaction that made the jobs
-- terminal; it is idempotent (jobs already accounted are skipped) and refuses jobs that
-- are not terminal. quarry_job_settled(id) now calls it, so there is one implementation.
-- It also makes "a lease only while running" a constraint (see the end of this file).

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

CREATE OR REPLACE FUNCTION quarry_job_settled(p_job_id uuid) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM quarry_jobs_settled(ARRAY[p_job_id]);
END
$$;

-- A lease exists only while a job runs: the consumer's settlement relies on it (it matches
-- a claim by lease_owner alone, which keeps its plan on the primary key).
ALTER TABLE jobs ADD CONSTRAINT jobs_lease_only_while_running
    CHECK (lease_owner IS NULL OR status = 'running');
