-- 0001_initial.sql - API keys, jobs, daily usage, model prices.
--
-- Forward-only: never edit this file once released; `quarry migrate` records its
-- SHA-256 in schema_migrations and refuses to run when an applied file changed.
-- The ledger table itself is created by `quarry migrate` before it applies 0001.
--
-- Money is numeric, never floating point. Prices are USD per million tokens.

CREATE TABLE api_keys (
    id                   bigserial PRIMARY KEY,
    name                 text        NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    -- The raw key is shown once at creation; only its SHA-256 is stored. The prefix
    -- ("qk_" plus a few characters) lets an operator recognise a key in listings.
    key_prefix           text        NOT NULL,
    key_sha256           bytea       NOT NULL UNIQUE CHECK (length(key_sha256) = 32),
    created_at           timestamptz NOT NULL DEFAULT now(),
    disabled_at          timestamptz,
    expires_at           timestamptz,
    -- Per-key limits; NULL means "no limit of this kind".
    allowed_models       text[],
    max_question_chars   integer     NOT NULL DEFAULT 32000 CHECK (max_question_chars > 0),
    requests_per_second  numeric(10,3) CHECK (requests_per_second > 0),
    burst                integer     CHECK (burst > 0),
    daily_requests       bigint      CHECK (daily_requests >= 0),
    daily_tokens         bigint      CHECK (daily_tokens >= 0),
    daily_budget_usd     numeric(14,6) CHECK (daily_budget_usd >= 0)
);

CREATE TABLE model_prices (
    model                       text          NOT NULL,
    effective_from              timestamptz   NOT NULL,
    input_usd_per_mtok          numeric(12,6) NOT NULL CHECK (input_usd_per_mtok >= 0),
    output_usd_per_mtok         numeric(12,6) NOT NULL CHECK (output_usd_per_mtok >= 0),
    cache_read_usd_per_mtok     numeric(12,6) NOT NULL DEFAULT 0 CHECK (cache_read_usd_per_mtok >= 0),
    cache_write_usd_per_mtok    numeric(12,6) NOT NULL DEFAULT 0 CHECK (cache_write_usd_per_mtok >= 0),
    PRIMARY KEY (model, effective_from)
);

-- Status is text with a CHECK rather than an enum so later migrations can extend it
-- inside a transaction.
CREATE TABLE jobs (
    id                   uuid        PRIMARY KEY,
    api_key_id           bigint      NOT NULL REFERENCES api_keys (id),
    status               text        NOT NULL DEFAULT 'queued'
                         CHECK (status IN ('queued', 'running', 'succeeded', 'failed',
                                           'cancelled', 'expired')),
    question             text        NOT NULL,
    model                text        NOT NULL,
    max_tokens           integer     NOT NULL CHECK (max_tokens > 0),
    temperature          real        CHECK (temperature >= 0 AND temperature <= 1),
    parameters           jsonb       NOT NULL DEFAULT '{}',
    -- Result, written once by the consumer's settlement.
    answer               text,
    stop_reason          text,
    answered_model       text,
    input_tokens         integer     CHECK (input_tokens >= 0),
    output_tokens        integer     CHECK (output_tokens >= 0),
    cache_read_tokens    integer     NOT NULL DEFAULT 0 CHECK (cache_read_tokens >= 0),
    cache_write_tokens   integer     NOT NULL DEFAULT 0 CHECK (cache_write_tokens >= 0),
    cost_usd             numeric(20,12) CHECK (cost_usd >= 0),
    attempts             integer     NOT NULL DEFAULT 0,
    error_code           text,
    error_message        text,
    bedrock_request_id   text,
    model_latency_ms     integer,
    -- Lease held by the consumer that is calling the model (see DESIGN.md).
    lease_owner          text,
    lease_expires_at     timestamptz,
    created_at           timestamptz NOT NULL DEFAULT now(),
    started_at           timestamptz,
    finished_at          timestamptz,
    CHECK ((status IN ('succeeded', 'failed', 'cancelled', 'expired')) = (finished_at IS NOT NULL))
);

CREATE INDEX jobs_api_key_created_idx ON jobs (api_key_id, created_at DESC);
-- Small partial index: the sweeper looks only at unfinished jobs.
CREATE INDEX jobs_unfinished_idx ON jobs (created_at) WHERE status IN ('queued', 'running');

-- One row per key per UTC day. The consumer adds each settled job's real usage once,
-- in the same statement that settles the job.
CREATE TABLE daily_usage (
    api_key_id           bigint      NOT NULL REFERENCES api_keys (id),
    day                  date        NOT NULL,
    requests             bigint      NOT NULL DEFAULT 0,
    settled_jobs         bigint      NOT NULL DEFAULT 0,
    input_tokens         bigint      NOT NULL DEFAULT 0,
    output_tokens        bigint      NOT NULL DEFAULT 0,
    cache_read_tokens    bigint      NOT NULL DEFAULT 0,
    cache_write_tokens   bigint      NOT NULL DEFAULT 0,
    cost_usd             numeric(24,12) NOT NULL DEFAULT 0,
    reserved_tokens      bigint      NOT NULL DEFAULT 0,
    reserved_usd         numeric(24,12) NOT NULL DEFAULT 0,
    PRIMARY KEY (api_key_id, day)
);

INSERT INTO model_prices (model, effective_from, input_usd_per_mtok, output_usd_per_mtok,
                          cache_read_usd_per_mtok, cache_write_usd_per_mtok) VALUES
    ('anthropic.claude-3-haiku-20240307-v1:0',    '2024-03-07', 0.25,  1.25,  0,    0),
    ('anthropic.claude-3-5-haiku-20241022-v1:0',  '2024-10-22', 0.80,  4.00,  0.08, 1.00),
    ('anthropic.claude-3-5-sonnet-20240620-v1:0', '2024-06-20', 3.00, 15.00,  0,    0),
    ('anthropic.claude-3-7-sonnet-20250219-v1:0', '2025-02-19', 3.00, 15.00,  0.30, 3.75),
    ('anthropic.claude-sonnet-4-20250514-v1:0',   '2025-05-14', 3.00, 15.00,  0.30, 3.75),
    ('amazon.nova-micro-v1:0',                    '2024-12-03', 0.035, 0.14,  0,    0),
    ('amazon.nova-lite-v1:0',                     '2024-12-03', 0.06,  0.24,  0,    0),
    ('amazon.nova-pro-v1:0',                      '2024-12-03', 0.80,  3.20,  0,    0);
