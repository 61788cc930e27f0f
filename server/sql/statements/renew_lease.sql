-- Extends the lease on cycle $1 held with token $2 to now + $3 microseconds.
-- Returns the cycle, or no row when the lease is lost.
-- The cycle row is locked first (as every lease operation does, so none can
-- deadlock with a claim); the token is then checked by the UPDATE of the
-- lease row, which sees the newest committed version of it. A lease that has
-- expired but was not taken over is still renewed.
WITH held AS MATERIALIZED (
  SELECT c.*
  FROM public.arbitrage_cycles c
  WHERE c.id = $1 AND c.status = 'REBALANCING_IN_PROGRESS'
  FOR NO KEY UPDATE
),
renewed AS (
  UPDATE cycle_claimer.cycle_leases l
  SET lease_expires_at = timezone('UTC', now()) + $3::bigint * interval '1 microsecond'
  FROM held h
  WHERE l.cycle_id = h.id AND l.lease_token = $2 AND l.locked_by IS NOT NULL
  RETURNING l.cycle_id, l.lease_token, l.locked_by, l.lease_expires_at
),
r AS (
  SELECT h.*, n.lease_token, n.locked_by, n.lease_expires_at
  FROM held h
  JOIN renewed n ON n.cycle_id = h.id
)
SELECT {{cycle_columns}}
FROM r;
