-- Completes cycle $1 held with token $2: COMPLETED, end_time = now, lease
-- cleared, and the result fields stored where given (an empty string keeps
-- the column as it is).
--   $3 rebalance_trade_id  $4 total_net_profit_krw  $5 total_net_profit_percent
-- Returns the cycle, or no row when the lease is lost (nothing changes then).
WITH held AS MATERIALIZED (
  SELECT c.id
  FROM public.arbitrage_cycles c
  WHERE c.id = $1 AND c.status = 'REBALANCING_IN_PROGRESS'
  FOR NO KEY UPDATE
),
released AS (
  UPDATE cycle_claimer.cycle_leases l
  SET locked_by = NULL, lease_expires_at = NULL
  FROM held h
  WHERE l.cycle_id = h.id AND l.lease_token = $2 AND l.locked_by IS NOT NULL
  RETURNING l.cycle_id, l.lease_token, l.locked_by, l.lease_expires_at
),
r AS (
  UPDATE public.arbitrage_cycles c
  SET status = 'COMPLETED',
      end_time = timezone('UTC', now()),
      locked_at = NULL,
      rebalance_trade_id = coalesce(nullif($3, '')::uuid, c.rebalance_trade_id),
      total_net_profit_krw = coalesce(nullif($4, '')::numeric, c.total_net_profit_krw),
      total_net_profit_percent = coalesce(nullif($5, '')::numeric, c.total_net_profit_percent)
  FROM released n
  WHERE c.id = n.cycle_id
  RETURNING c.*, n.lease_token, n.locked_by, n.lease_expires_at
)
SELECT {{cycle_columns}}
FROM r;
