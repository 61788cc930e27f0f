-- The cycle that worker $1 claimed with request id $2 and still holds
-- (expired or not, as long as nobody took it over); no row otherwise.
WITH r AS (
  SELECT c.*, l.lease_token, l.locked_by, l.lease_expires_at
  FROM cycle_claimer.cycle_leases l
  JOIN public.arbitrage_cycles c ON c.id = l.cycle_id
  WHERE l.locked_by = $1
    AND l.claim_request_id = $2
    AND c.status = 'REBALANCING_IN_PROGRESS'
)
SELECT {{cycle_columns}}
FROM r;
