-- 0007_batch_reporting.sql - reporting per batch: jobs.batch_id (0006) becomes a dimension
-- of every fact, of both rollup tables and of prune, and report_spend_batch gives one row
-- per batch. docs/reporting.md documents the views.
--
-- Forward-only: never edit this file once released.
--
-- This follows the recipe in 0005's header. batch_id is NULL for a job outside any batch,
-- so the rollups' unique keys treat NULL as a value (NULLS NOT DISTINCT): otherwise each
-- prune would add a new rollup row per group instead of adding to the existing one.
-- job_latency_rollups' primary key cannot hold a NULL column, so it becomes a unique
-- constraint of the same shape (the table needs no other identity: its rows are only ever
-- found by that key). Rollup rows written before this migration have batch_id NULL, which
-- is right: 0006 and 0007 ship together, so no batch job was pruned before.
--
-- Prune now also leaves alone the jobs of a batch that has not ended: quarry_batch_end()
-- (0006) freezes a batch's final figures from its jobs rows, and the results endpoint
-- streams them, so they must all still be there when the last one is accounted.

-- ---- the rollup tables -------------------------------------------------------------------

ALTER TABLE job_rollups
    ADD COLUMN batch_id uuid REFERENCES batches (id),
    DROP CONSTRAINT job_rollups_day_api_key_id_model_status_error_code_key,
    ADD CONSTRAINT job_rollups_group_key
        UNIQUE NULLS NOT DISTINCT (day, api_key_id, model, status, error_code, batch_id);

ALTER TABLE job_latency_rollups
    ADD COLUMN batch_id uuid REFERENCES batches (id),
    DROP CONSTRAINT job_latency_rollups_pkey,
    ADD CONSTRAINT job_latency_rollups_group_key
        UNIQUE NULLS NOT DISTINCT (day, api_key_id, model, status, kind, latency_ms, batch_id);

-- report_spend_batch looks a batch's pruned jobs up by batch (the unique keys lead with day).
CREATE INDEX job_rollups_batch_idx ON job_rollups (batch_id) WHERE batch_id IS NOT NULL;

-- ---- the facts: batch_id appended as the last column -------------------------------------

CREATE OR REPLACE VIEW report_job_facts_live AS
SELECT j.id,
       quarry_utc_day(j.created_at)                      AS day,
       j.api_key_id,
       j.model,
       j.status,
       j.error_code,
       1::bigint                                         AS jobs,
       j.attempts::bigint                                AS attempts,
       coalesce(j.input_tokens, 0)::bigint               AS input_tokens,
       coalesce(j.output_tokens, 0)::bigint              AS output_tokens,
       j.cache_read_tokens::bigint                       AS cache_read_tokens,
       j.cache_write_tokens::bigint                      AS cache_write_tokens,
       coalesce(j.cost_usd, 0)::numeric(24,12)           AS cost_usd,
       j.model_latency_ms::bigint                        AS model_latency_ms,
       quarry_ms_between(j.created_at, j.finished_at)    AS end_to_end_ms,
       j.batch_id
FROM jobs j
WHERE j.finished_at IS NOT NULL;

CREATE OR REPLACE VIEW report_job_facts AS
SELECT day, api_key_id, model, status, error_code, jobs, attempts, input_tokens,
       output_tokens, cache_read_tokens, cache_write_tokens, cost_usd,
       (model_latency_ms IS NOT NULL)::int::bigint AS model_latency_jobs,
       coalesce(model_latency_ms, 0)               AS model_latency_sum_ms,
       end_to_end_ms                               AS end_to_end_sum_ms,
       batch_id
FROM report_job_facts_live
UNION ALL
SELECT day, api_key_id, model, status, error_code, jobs, attempts, input_tokens,
       output_tokens, cache_read_tokens, cache_write_tokens, cost_usd,
       model_latency_jobs, model_latency_sum_ms, end_to_end_sum_ms, batch_id
FROM job_rollups;

CREATE OR REPLACE VIEW report_latency_histogram AS
SELECT day, api_key_id, model, status, 'model'::text AS kind,
       model_latency_ms AS latency_ms, count(*) AS jobs, batch_id
FROM report_job_facts_live WHERE model_latency_ms IS NOT NULL
GROUP BY day, api_key_id, model, status, model_latency_ms, batch_id
UNION ALL
SELECT day, api_key_id, model, status, 'end_to_end'::text, end_to_end_ms, count(*), batch_id
FROM report_job_facts_live
GROUP BY day, api_key_id, model, status, end_to_end_ms, batch_id
UNION ALL
SELECT day, api_key_id, model, status, kind, latency_ms, jobs, batch_id
FROM job_latency_rollups;

-- The drill-down view, so a batch's most expensive requests can be listed too.
CREATE OR REPLACE VIEW report_requests AS
SELECT f.id, f.day, j.created_at, j.finished_at, f.api_key_id, k.name AS key_name,
       f.model, f.status, f.error_code, f.attempts, f.input_tokens, f.output_tokens,
       f.cache_read_tokens, f.cache_write_tokens, f.cost_usd, f.model_latency_ms,
       f.end_to_end_ms, f.batch_id
FROM report_job_facts_live f
JOIN jobs j ON j.id = f.id
JOIN api_keys k ON k.id = f.api_key_id;

-- ---- spend per batch -----------------------------------------------------------------------

-- One row per batch, running or ended. The figures are sums over the batch's finished
-- jobs, live or pruned (report_job_facts), so they equal the sum over its jobs at any
-- time and, once it ended, the final figures 0006 froze on the batches row. queued and
-- running come from jobs (prune never deletes an unfinished job), so
-- queued + running + jobs = request_total.
CREATE VIEW report_spend_batch AS
SELECT b.id                                  AS batch_id,
       b.api_key_id,
       k.name                                AS key_name,
       b.status,
       b.created_at,
       b.ended_at,
       b.request_total::bigint               AS request_total,
       u.queued,
       u.running,
       f.jobs,
       f.succeeded,
       f.failed,
       f.cancelled,
       f.expired,
       f.attempts,
       f.input_tokens,
       f.output_tokens,
       f.cache_read_tokens,
       f.cache_write_tokens,
       f.cost_usd
FROM batches b
JOIN api_keys k ON k.id = b.api_key_id
-- LATERAL, so any filter on batches (id, key, created_at) reads only those batches' jobs
-- and rollup rows, by jobs_batch_line_idx and job_rollups_batch_idx.
CROSS JOIN LATERAL (
    SELECT coalesce(sum(x.jobs), 0)::bigint                                          AS jobs,
           coalesce(sum(x.jobs) FILTER (WHERE x.status = 'succeeded'), 0)::bigint    AS succeeded,
           coalesce(sum(x.jobs) FILTER (WHERE x.status = 'failed'), 0)::bigint       AS failed,
           coalesce(sum(x.jobs) FILTER (WHERE x.status = 'cancelled'), 0)::bigint    AS cancelled,
           coalesce(sum(x.jobs) FILTER (WHERE x.status = 'expired'), 0)::bigint      AS expired,
           coalesce(sum(x.attempts), 0)::bigint                                      AS attempts,
           coalesce(sum(x.input_tokens), 0)::bigint                                  AS input_tokens,
           coalesce(sum(x.output_tokens), 0)::bigint                                 AS output_tokens,
           coalesce(sum(x.cache_read_tokens), 0)::bigint                             AS cache_read_tokens,
           coalesce(sum(x.cache_write_tokens), 0)::bigint                            AS cache_write_tokens,
           coalesce(sum(x.cost_usd), 0)::numeric(24,12)                              AS cost_usd
    FROM report_job_facts x
    WHERE x.batch_id = b.id) f
CROSS JOIN LATERAL (
    SELECT count(*) FILTER (WHERE j.status = 'queued')::bigint  AS queued,
           count(*) FILTER (WHERE j.status = 'running')::bigint AS running
    FROM jobs j
    WHERE j.batch_id = b.id AND j.finished_at IS NULL) u;

-- ---- prune ---------------------------------------------------------------------------------

-- 0005's contract, plus: groups by batch_id, and never touches a job of a batch that has
-- not ended (see the header). A batch ends only once, so skipping on a read without a lock
-- is safe: at worst a job is kept until the next prune.
CREATE OR REPLACE FUNCTION quarry_prune_jobs(p_cutoff timestamptz, p_limit integer) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    ids uuid[];
BEGIN
    IF p_limit IS NULL OR p_limit < 1 THEN
        RAISE EXCEPTION 'prune batch size must be positive, not %', p_limit;
    END IF;
    SELECT coalesce(array_agg(id), '{}') INTO ids FROM (
        SELECT j.id FROM jobs j
        WHERE j.finished_at IS NOT NULL
          AND j.created_at < p_cutoff
          AND quarry_utc_day(j.created_at) <= quarry_utc_day(p_cutoff)
          AND (j.batch_id IS NULL
               OR EXISTS (SELECT 1 FROM batches b
                          WHERE b.id = j.batch_id AND b.ended_at IS NOT NULL))
        ORDER BY quarry_utc_day(j.created_at)
        LIMIT p_limit
        FOR UPDATE OF j SKIP LOCKED) v;
    IF cardinality(ids) = 0 THEN
        RETURN 0;
    END IF;

    INSERT INTO job_rollups AS r (day, api_key_id, model, status, error_code, jobs, attempts,
                                  input_tokens, output_tokens, cache_read_tokens,
                                  cache_write_tokens, cost_usd, model_latency_jobs,
                                  model_latency_sum_ms, end_to_end_sum_ms, batch_id)
    SELECT day, api_key_id, model, status, error_code, sum(jobs), sum(attempts),
           sum(input_tokens), sum(output_tokens), sum(cache_read_tokens),
           sum(cache_write_tokens), sum(cost_usd), count(model_latency_ms),
           coalesce(sum(model_latency_ms), 0), sum(end_to_end_ms), batch_id
    FROM report_job_facts_live
    WHERE id = ANY (ids)
    GROUP BY day, api_key_id, model, status, error_code, batch_id
    ON CONFLICT (day, api_key_id, model, status, error_code, batch_id) DO UPDATE SET
        jobs                 = r.jobs + EXCLUDED.jobs,
        attempts             = r.attempts + EXCLUDED.attempts,
        input_tokens         = r.input_tokens + EXCLUDED.input_tokens,
        output_tokens        = r.output_tokens + EXCLUDED.output_tokens,
        cache_read_tokens    = r.cache_read_tokens + EXCLUDED.cache_read_tokens,
        cache_write_tokens   = r.cache_write_tokens + EXCLUDED.cache_write_tokens,
        cost_usd             = r.cost_usd + EXCLUDED.cost_usd,
        model_latency_jobs   = r.model_latency_jobs + EXCLUDED.model_latency_jobs,
        model_latency_sum_ms = r.model_latency_sum_ms + EXCLUDED.model_latency_sum_ms,
        end_to_end_sum_ms    = r.end_to_end_sum_ms + EXCLUDED.end_to_end_sum_ms;

    INSERT INTO job_latency_rollups AS r (day, api_key_id, model, status, kind, latency_ms, jobs,
                                          batch_id)
    SELECT day, api_key_id, model, status, kind, latency_ms, count(*), batch_id
    FROM (SELECT day, api_key_id, model, status, 'model' AS kind, model_latency_ms AS latency_ms,
                 batch_id
          FROM report_job_facts_live WHERE id = ANY (ids) AND model_latency_ms IS NOT NULL
          UNION ALL
          SELECT day, api_key_id, model, status, 'end_to_end', end_to_end_ms, batch_id
          FROM report_job_facts_live WHERE id = ANY (ids)) x
    GROUP BY day, api_key_id, model, status, kind, latency_ms, batch_id
    ON CONFLICT (day, api_key_id, model, status, kind, latency_ms, batch_id) DO UPDATE SET
        jobs = r.jobs + EXCLUDED.jobs;

    DELETE FROM jobs WHERE id = ANY (ids);
    RETURN cardinality(ids);
END
$$;
