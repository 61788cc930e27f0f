-- Wakes long-polling claims: every change that can make a cycle claimable
-- (a cycle inserted, or updated into AWAITING_REBALANCE or AWAITING_RETRY or
-- given a new next_retry_at, by this service, a kimP app through TypeORM or
-- psql) notifies channel cycle_claimer_claimable. PostgreSQL folds identical
-- notifications of one transaction into one and delivers them at commit.
--
-- The trigger (ddl/create_notify_trigger.sql) names no column and has no
-- WHEN clause, and this function reads status as text: a trigger that
-- referenced the status column or its enum type would make TypeORM's
-- synchronize fail when kimP changes that enum (PostgreSQL refuses to retype
-- a column a trigger definition uses).
CREATE OR REPLACE FUNCTION cycle_claimer.notify_claimable()
  RETURNS trigger
  LANGUAGE plpgsql
AS $$
BEGIN
  IF NEW.status::text IN ('AWAITING_REBALANCE', 'AWAITING_RETRY')
     AND (TG_OP = 'INSERT'
          OR NEW.status::text IS DISTINCT FROM OLD.status::text
          OR NEW.next_retry_at IS DISTINCT FROM OLD.next_retry_at) THEN
    PERFORM pg_notify('cycle_claimer_claimable', '');
  END IF;
  RETURN NULL;
END
$$;
