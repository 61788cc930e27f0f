-- Wakes long-polling claims: every change that can make a cycle claimable
-- (a cycle inserted or set to AWAITING_REBALANCE or AWAITING_RETRY, by this
-- service, a kimP app through TypeORM or psql) notifies channel
-- cycle_claimer_claimable. PostgreSQL folds identical notifications of one
-- transaction into one and delivers them at commit. TypeORM's synchronize
-- leaves triggers alone; the server re-creates this one if it goes missing.
CREATE OR REPLACE FUNCTION cycle_claimer.notify_claimable()
  RETURNS trigger
  LANGUAGE plpgsql
AS $$
BEGIN
  PERFORM pg_notify('cycle_claimer_claimable', '');
  RETURN NULL;
END
$$;
