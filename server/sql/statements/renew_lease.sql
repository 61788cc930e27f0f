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
