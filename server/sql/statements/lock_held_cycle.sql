-- Locks cycle $1 and its lease row when the lease is held with token $2, and
-- reads what FailCycle needs to decide the outcome. Locking both rows makes
-- PostgreSQL re-read both at their newest versions, so the token check cannot
-- pass on a stale lease. No row: the lease is lost.
SELECT c.retry_count, l.locked_by
FROM public.arbitrage_cycles c
JOIN cycle_claimer.cycle_leases l ON l.cycle_id = c.id
WHERE c.id = $1
  AND c.status = 'REBALANCING_IN_PROGRESS'
  AND l.lease_token = $2
  AND l.locked_by IS NOT NULL
FOR NO KEY UPDATE OF c, l;
