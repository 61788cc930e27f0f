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
  SET locked_by = NULL, lease_expires_at = NULL
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
SELECT r.id::text AS id,
       r.status::text AS status,
       cycle_claimer.epoch_us(r.start_time) AS start_time_us,
       cycle_claimer.epoch_us(r.end_time) AS end_time_us,
       r.initial_trade_id::text AS initial_trade_id,
       r.rebalance_trade_id::text AS rebalance_trade_id,
       r.total_net_profit_krw::text AS total_net_profit_krw,
       r.total_net_profit_percent::text AS total_net_profit_percent,
       r.initial_investment_krw::text AS initial_investment_krw,
       r.error_details,
       cycle_claimer.epoch_us(r.locked_at) AS locked_at_us,
       r.retry_count,
       cycle_claimer.epoch_us(r.last_retry_at) AS last_retry_at_us,
       cycle_claimer.epoch_us(r.next_retry_at) AS next_retry_at_us,
       r.failure_reason,
       r.locked_by,
       cycle_claimer.epoch_us(r.lease_expires_at) AS lease_expires_at_us,
       r.lease_token
FROM r;
