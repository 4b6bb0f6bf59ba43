-- 0005_reporting.sql - spend, error and latency reporting, and the rollups that let
-- `quarry prune` delete old jobs without changing any reported figure.
--
-- Every report reads "facts": one row per terminal job still in `jobs`, plus the rows of
-- `job_rollups`, where `quarry_prune_jobs` folds jobs before deleting them. Every measure
-- is a sum (or, for latency, an exact millisecond histogram), so a figure is the same
-- whether the jobs behind it are live, pruned, or some of each. A job counts on the UTC
-- day it was created (as in daily_usage). Only terminal jobs are reported: a queued or
-- running job has no usage or cost yet. docs/reporting.md documents every view.
--
-- Rejected and flagged submissions come from intake_rejections (0003), which prune leaves
-- alone: it holds no question text and is small next to jobs.
--
-- Adding a dimension later (e.g. jobs.batch_id): add the column to job_rollups (and to its
-- unique key) and job_latency_rollups, append it to report_job_facts_live /
-- report_job_facts / report_latency_histogram with CREATE OR REPLACE VIEW (new columns go
-- last), group by it in quarry_prune_jobs, and add a report_spend_batch view.

-- The UTC day a timestamp falls on; immutable, so it can be indexed.
CREATE FUNCTION quarry_utc_day(ts timestamptz) RETURNS date
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN (ts AT TIME ZONE 'UTC')::date;

-- Whole milliseconds from t0 to t1, rounded down (exact: extract returns numeric).
CREATE FUNCTION quarry_ms_between(t0 timestamptz, t1 timestamptz) RETURNS bigint
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN floor(extract(epoch FROM t1 - t0) * 1000)::bigint;

-- Reports filter by day (and often key); prune looks for old jobs by the same key.
CREATE INDEX jobs_report_day_idx ON jobs (quarry_utc_day(created_at), api_key_id);

-- Sums over pruned jobs, one row per day, key, model, status and error code.
CREATE TABLE job_rollups (
    day                   date           NOT NULL,
    api_key_id            bigint         NOT NULL REFERENCES api_keys (id),
    model                 text           NOT NULL,
    status                text           NOT NULL,
    error_code            text,
    jobs                  bigint         NOT NULL CHECK (jobs > 0),
    attempts              bigint         NOT NULL,
    input_tokens          bigint         NOT NULL,
    output_tokens         bigint         NOT NULL,
    cache_read_tokens     bigint         NOT NULL,
    cache_write_tokens    bigint         NOT NULL,
    cost_usd              numeric(24,12) NOT NULL,
    model_latency_jobs    bigint         NOT NULL,   -- jobs that have a model latency
    model_latency_sum_ms  bigint         NOT NULL,
    end_to_end_sum_ms     bigint         NOT NULL,
    UNIQUE NULLS NOT DISTINCT (day, api_key_id, model, status, error_code)
);

-- Latency of pruned jobs as an exact histogram: how many jobs took exactly latency_ms.
-- Exact percentiles need every value; at 1 ms resolution a day has at most a few
-- thousand distinct values per key and model, far fewer rows than the jobs themselves.
-- kind 'model' is jobs.model_latency_ms (the model call), 'end_to_end' is created_at to
-- finished_at (queueing, retries and the call).
CREATE TABLE job_latency_rollups (
    day          date    NOT NULL,
    api_key_id   bigint  NOT NULL REFERENCES api_keys (id),
    model        text    NOT NULL,
    status       text    NOT NULL,
    kind         text    NOT NULL CHECK (kind IN ('model', 'end_to_end')),
    latency_ms   bigint  NOT NULL,
    jobs         bigint  NOT NULL CHECK (jobs > 0),
    PRIMARY KEY (day, api_key_id, model, status, kind, latency_ms)
);

-- One row per terminal job still in jobs, in the shape of a rollup row.
CREATE VIEW report_job_facts_live AS
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
       quarry_ms_between(j.created_at, j.finished_at)    AS end_to_end_ms
FROM jobs j
WHERE j.finished_at IS NOT NULL;

-- Live jobs and pruned ones together: the base of every aggregate report.
CREATE VIEW report_job_facts AS
SELECT day, api_key_id, model, status, error_code, jobs, attempts, input_tokens,
       output_tokens, cache_read_tokens, cache_write_tokens, cost_usd,
       (model_latency_ms IS NOT NULL)::int::bigint AS model_latency_jobs,
       coalesce(model_latency_ms, 0)               AS model_latency_sum_ms,
       end_to_end_ms                               AS end_to_end_sum_ms
FROM report_job_facts_live
UNION ALL
SELECT day, api_key_id, model, status, error_code, jobs, attempts, input_tokens,
       output_tokens, cache_read_tokens, cache_write_tokens, cost_usd,
       model_latency_jobs, model_latency_sum_ms, end_to_end_sum_ms
FROM job_rollups;

-- Latency histogram of live and pruned jobs (several rows may share a bucket: sum them).
CREATE VIEW report_latency_histogram AS
SELECT day, api_key_id, model, status, 'model'::text AS kind,
       model_latency_ms AS latency_ms, count(*) AS jobs
FROM report_job_facts_live WHERE model_latency_ms IS NOT NULL
GROUP BY day, api_key_id, model, status, model_latency_ms
UNION ALL
SELECT day, api_key_id, model, status, 'end_to_end'::text, end_to_end_ms, count(*)
FROM report_job_facts_live
GROUP BY day, api_key_id, model, status, end_to_end_ms
UNION ALL
SELECT day, api_key_id, model, status, kind, latency_ms, jobs
FROM job_latency_rollups;

-- Spend at the finest grain: per UTC day, key and model.
CREATE VIEW report_spend_daily AS
SELECT f.day, f.api_key_id, k.name AS key_name, f.model,
       sum(f.jobs)::bigint                                                   AS jobs,
       coalesce(sum(f.jobs) FILTER (WHERE f.status = 'succeeded'), 0)::bigint AS succeeded,
       coalesce(sum(f.jobs) FILTER (WHERE f.status = 'failed'), 0)::bigint    AS failed,
       coalesce(sum(f.jobs) FILTER (WHERE f.status = 'cancelled'), 0)::bigint AS cancelled,
       coalesce(sum(f.jobs) FILTER (WHERE f.status = 'expired'), 0)::bigint   AS expired,
       sum(f.attempts)::bigint                                               AS attempts,
       sum(f.input_tokens)::bigint                                           AS input_tokens,
       sum(f.output_tokens)::bigint                                          AS output_tokens,
       sum(f.cache_read_tokens)::bigint                                      AS cache_read_tokens,
       sum(f.cache_write_tokens)::bigint                                     AS cache_write_tokens,
       sum(f.cost_usd)::numeric(24,12)                                       AS cost_usd
FROM report_job_facts f
JOIN api_keys k ON k.id = f.api_key_id
GROUP BY f.day, f.api_key_id, k.name, f.model;

CREATE VIEW report_spend_key_day AS
SELECT day, api_key_id, key_name,
       sum(jobs)::bigint AS jobs, sum(succeeded)::bigint AS succeeded,
       sum(failed)::bigint AS failed, sum(cancelled)::bigint AS cancelled,
       sum(expired)::bigint AS expired, sum(attempts)::bigint AS attempts,
       sum(input_tokens)::bigint AS input_tokens, sum(output_tokens)::bigint AS output_tokens,
       sum(cache_read_tokens)::bigint AS cache_read_tokens,
       sum(cache_write_tokens)::bigint AS cache_write_tokens,
       sum(cost_usd)::numeric(24,12) AS cost_usd
FROM report_spend_daily
GROUP BY day, api_key_id, key_name;

CREATE VIEW report_spend_model_day AS
SELECT day, model,
       sum(jobs)::bigint AS jobs, sum(succeeded)::bigint AS succeeded,
       sum(failed)::bigint AS failed, sum(cancelled)::bigint AS cancelled,
       sum(expired)::bigint AS expired, sum(attempts)::bigint AS attempts,
       sum(input_tokens)::bigint AS input_tokens, sum(output_tokens)::bigint AS output_tokens,
       sum(cache_read_tokens)::bigint AS cache_read_tokens,
       sum(cache_write_tokens)::bigint AS cache_write_tokens,
       sum(cost_usd)::numeric(24,12) AS cost_usd
FROM report_spend_daily
GROUP BY day, model;

-- Jobs that did not succeed, per day, key, model, status and error code.
CREATE VIEW report_errors_daily AS
SELECT f.day, f.api_key_id, k.name AS key_name, f.model, f.status, f.error_code,
       sum(f.jobs)::bigint AS jobs, sum(f.attempts)::bigint AS attempts,
       sum(f.cost_usd)::numeric(24,12) AS cost_usd
FROM report_job_facts f
JOIN api_keys k ON k.id = f.api_key_id
WHERE f.status <> 'succeeded'
GROUP BY f.day, f.api_key_id, k.name, f.model, f.status, f.error_code;

-- Latency percentiles of succeeded jobs per day and model. A percentile is exact and
-- discrete, like percentile_disc: the smallest latency L such that at least p% of the
-- jobs took L ms or less. Percentiles do not add up across days: for a range, compute
-- them from report_latency_histogram (docs/reporting.md shows the query).
CREATE VIEW report_latency_daily AS
WITH h AS (
    SELECT day, model, kind, latency_ms, sum(jobs) AS n
    FROM report_latency_histogram
    WHERE status = 'succeeded'
    GROUP BY day, model, kind, latency_ms
), c AS (
    SELECT h.*, sum(n) OVER (PARTITION BY day, model, kind ORDER BY latency_ms) AS cum,
                sum(n) OVER (PARTITION BY day, model, kind) AS total
    FROM h
)
SELECT day, model, kind,
       max(total)::bigint                                   AS jobs,
       min(latency_ms) FILTER (WHERE cum * 100 >= total * 50) AS p50_ms,
       min(latency_ms) FILTER (WHERE cum * 100 >= total * 90) AS p90_ms,
       min(latency_ms) FILTER (WHERE cum * 100 >= total * 99) AS p99_ms,
       max(latency_ms)                                       AS max_ms,
       round(sum(latency_ms * n) / max(total), 1)            AS avg_ms
FROM c
GROUP BY day, model, kind;

-- Every terminal job still in jobs with its key name, for "most expensive requests" and
-- drill-downs. Pruned jobs are gone from here (their sums live on in the rollups).
CREATE VIEW report_requests AS
SELECT f.id, f.day, j.created_at, j.finished_at, f.api_key_id, k.name AS key_name,
       f.model, f.status, f.error_code, f.attempts, f.input_tokens, f.output_tokens,
       f.cache_read_tokens, f.cache_write_tokens, f.cost_usd, f.model_latency_ms,
       f.end_to_end_ms
FROM report_job_facts_live f
JOIN jobs j ON j.id = f.id
JOIN api_keys k ON k.id = f.api_key_id;

-- Submissions the intake turned away or flagged after authenticating the key (0003's
-- intake_rejections: rate limits, quotas, models not allowed, prompt injections), per
-- UTC day, key, code, action and reason. Never the question text.
CREATE INDEX intake_rejections_day_idx ON intake_rejections (quarry_utc_day(at));

CREATE VIEW report_rejections_daily AS
SELECT quarry_utc_day(r.at) AS day, r.api_key_id, k.name AS key_name, r.code, r.action,
       r.reason, count(*)::bigint AS attempts,
       max(r.question_chars) AS max_question_chars
FROM intake_rejections r
JOIN api_keys k ON k.id = r.api_key_id
GROUP BY quarry_utc_day(r.at), r.api_key_id, k.name, r.code, r.action, r.reason;

-- Every prompt-injection attempt, blocked or flagged (then job_id is the accepted job).
CREATE VIEW report_injection_attempts AS
SELECT r.id, r.at, quarry_utc_day(r.at) AS day, r.api_key_id, k.name AS key_name,
       k.injection_policy, r.action, r.reason, r.score, r.question_chars, r.job_id,
       r.request_id
FROM intake_rejections r
JOIN api_keys k ON k.id = r.api_key_id
WHERE r.code = 'PROMPT_INJECTION';

-- Folds up to p_limit terminal jobs created before p_cutoff into the rollups and deletes
-- them, in the caller's transaction; returns how many were deleted (fewer than p_limit
-- means nothing older is left). Never touches a queued or running job. Locked rows are
-- skipped, so a concurrent prune or settlement is never waited on or double counted.
-- daily_usage is not touched: it is already a rollup.
CREATE FUNCTION quarry_prune_jobs(p_cutoff timestamptz, p_limit integer) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    ids uuid[];
BEGIN
    IF p_limit IS NULL OR p_limit < 1 THEN
        RAISE EXCEPTION 'prune batch size must be positive, not %', p_limit;
    END IF;
    SELECT coalesce(array_agg(id), '{}') INTO ids FROM (
        SELECT id FROM jobs
        WHERE finished_at IS NOT NULL
          AND created_at < p_cutoff
          AND quarry_utc_day(created_at) <= quarry_utc_day(p_cutoff)
        ORDER BY quarry_utc_day(created_at)
        LIMIT p_limit
        FOR UPDATE SKIP LOCKED) v;
    IF cardinality(ids) = 0 THEN
        RETURN 0;
    END IF;

    INSERT INTO job_rollups AS r (day, api_key_id, model, status, error_code, jobs, attempts,
                                  input_tokens, output_tokens, cache_read_tokens,
                                  cache_write_tokens, cost_usd, model_latency_jobs,
                                  model_latency_sum_ms, end_to_end_sum_ms)
    SELECT day, api_key_id, model, status, error_code, sum(jobs), sum(attempts),
           sum(input_tokens), sum(output_tokens), sum(cache_read_tokens),
           sum(cache_write_tokens), sum(cost_usd), count(model_latency_ms),
           coalesce(sum(model_latency_ms), 0), sum(end_to_end_ms)
    FROM report_job_facts_live
    WHERE id = ANY (ids)
    GROUP BY day, api_key_id, model, status, error_code
    ON CONFLICT (day, api_key_id, model, status, error_code) DO UPDATE SET
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

    INSERT INTO job_latency_rollups AS r (day, api_key_id, model, status, kind, latency_ms, jobs)
    SELECT day, api_key_id, model, status, kind, latency_ms, count(*)
    FROM (SELECT day, api_key_id, model, status, 'model' AS kind, model_latency_ms AS latency_ms
          FROM report_job_facts_live WHERE id = ANY (ids) AND model_latency_ms IS NOT NULL
          UNION ALL
          SELECT day, api_key_id, model, status, 'end_to_end', end_to_end_ms
          FROM report_job_facts_live WHERE id = ANY (ids)) x
    GROUP BY day, api_key_id, model, status, kind, latency_ms
    ON CONFLICT (day, api_key_id, model, status, kind, latency_ms) DO UPDATE SET
        jobs = r.jobs + EXCLUDED.jobs;

    DELETE FROM jobs WHERE id = ANY (ids);
    RETURN cardinality(ids);
END
$$;
