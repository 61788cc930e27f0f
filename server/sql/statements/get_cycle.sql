-- Reads cycle $1 with its lease; no row when there is no such cycle.
WITH r AS (
  SELECT c.*,
         coalesce(l.lease_token, 0) AS lease_token,
         l.locked_by,
         l.lease_expires_at
  FROM public.arbitrage_cycles c
  LEFT JOIN cycle_claimer.cycle_leases l ON l.cycle_id = c.id
  WHERE c.id = $1
)
SELECT {{cycle_columns}}
FROM r;
