-- 0004_consumer.sql - what the consumer daemon needs beyond the skeleton.
--
-- jobs.swept_at / sweep_count: the sweeper's bookkeeping. It re-publishes jobs that
--   were accepted but never consumed, and jobs whose lease expired; swept_at keeps it
--   from re-publishing the same job on every pass.
-- dead_letters: one row per Kafka message that was not a valid job and was parked on
--   the dead-letter topic. The payload itself is not kept (it could hold anything); its
--   size and SHA-256 identify it on the topic.

ALTER TABLE jobs
    ADD COLUMN swept_at    timestamptz,
    ADD COLUMN sweep_count integer NOT NULL DEFAULT 0;

-- The sweeper's second question: running jobs whose holder stopped renewing.
CREATE INDEX jobs_lease_expiry_idx ON jobs (lease_expires_at) WHERE status = 'running';

CREATE TABLE dead_letters (
    id               bigserial   PRIMARY KEY,
    topic            text        NOT NULL,
    kafka_partition  integer     NOT NULL,
    kafka_offset     bigint      NOT NULL,
    reason           text        NOT NULL,
    payload_bytes    integer     NOT NULL,
    payload_sha256   text        NOT NULL,
    recorded_at      timestamptz NOT NULL DEFAULT now(),
    UNIQUE (topic, kafka_partition, kafka_offset)
);
