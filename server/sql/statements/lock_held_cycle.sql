-- Locks cycle $1 and then its lease row when the lease is held with token
-- $2, and reads what FailCycle needs to decide the outcome. No row: the lease
-- is lost. The cycle row is locked first, as by every other lease statement
-- and the claim, so that none of them can deadlock with another. Locking the
-- lease row makes PostgreSQL re-check the token on its newest version.
WITH held AS MATERIALIZED (
  SELECT c.id, c.retry_count
  FROM public.arbitrage_cycles c
  WHERE c.id = $1 AND c.status = 'REBALANCING_IN_PROGRESS'
  FOR NO KEY UPDATE
)
SELECT h.retry_count, l.locked_by
FROM held h
JOIN cycle_claimer.cycle_leases l ON l.cycle_id = h.id
WHERE l.lease_token = $2 AND l.locked_by IS NOT NULL
FOR UPDATE OF l
