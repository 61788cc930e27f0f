-- Gives cycle $1 held with token $2 back: AWAITING_REBALANCE, lease cleared,
-- retry_count unchanged. Returns the cycle, or no row when the lease is lost.
WITH held AS MATERIALIZED (
  SELECT c.id
  FROM public.arbitrage_cycles c
  WHERE c.id = $1 AND c.status = 'REBALANCING_IN_PROGRESS'
  FOR NO KEY UPDATE
),
released AS (
  UPDATE cycle_claimer.cycle_leases l
  SET locked_by = NULL, lease_expires_at = NULL, claim_request_id = NULL
  FROM held h
  WHERE l.cycle_id = h.id AND l.lease_token = $2 AND l.locked_by IS NOT NULL
  RETURNING l.cycle_id, l.lease_token, l.locked_by, l.lease_expires_at
),
r AS (
  UPDATE public.arbitrage_cycles c
  SET status = 'AWAITING_REBALANCE', locked_at = NULL
  FROM released n
  WHERE c.id = n.cycle_id
  RETURNING c.*, n.lease_token, n.locked_by, n.lease_expires_at
)
SELECT {{cycle_columns}}
FROM r;
