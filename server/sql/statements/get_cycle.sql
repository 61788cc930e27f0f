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
