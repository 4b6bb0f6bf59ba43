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
--   - a key or a batch that jobs point to cannot be deleted (or its id changed): the triggers
--     below refuse it with the foreign-key error code (23503), as the constraints did;
--   - a job's api_key_id names an existing key, also when the key is deleted while the job
--     is being inserted. quarry_intake_accept (unchanged since 0008) already sorts out keys
--     that no longer exist ('invalid_key', nothing written), and in the same transaction as
--     the jobs it writes the usage row (api_key_id, today) of every key it accepts jobs for:
--     it inserts the row, whose foreign key locks the key FOR KEY SHARE until COMMIT, or
--     locks the existing row (ON CONFLICT DO UPDATE locks it even when its WHERE skips the
--     update). A delete of the key must first delete that usage row (daily_usage keeps its
--     foreign key): it waits for the intake's row lock and then finds the jobs, or it ran
--     first and the intake's usage insert fails on the missing key (the batch is then
--     retried one submission at a time and answered 'invalid_key'). Either way no job is
--     left pointing at a deleted key, and no per-row check is paid for it. The batch upload
--     inserts its `batches` row first, whose own foreign key locks the key the same way
--     (tests/e2e/test_intake_contract.py, JobReferences, holds an intake transaction open
--     across a delete);
--   - a job's batch_id names an existing batch: batch jobs are inserted only in the
--     transaction that inserts their batch. Quarry itself never deletes keys (it disables
--     them) or batches (they expire).

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
