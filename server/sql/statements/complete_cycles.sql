-- Completes a batch of held cycles in one statement: COMPLETED, end_time =
-- now, lease cleared, and the result fields stored where given (an empty
-- string keeps the column as it is). Item i of each array belongs together:
--   $1 uuid[]   cycle ids (distinct)     $2 bigint[] lease tokens
--   $3 text[]   rebalance_trade_id       $4 text[]   total_net_profit_krw
--   $5 text[]   total_net_profit_percent
-- Returns the completed cycles; an item whose lease is lost returns no row
-- and changes nothing. Cycle rows are locked in id order, so concurrent
-- batches cannot deadlock; each lease token is checked by the UPDATE of its
-- lease row, which sees the newest committed version.
WITH item AS MATERIALIZED (
  SELECT *
  FROM unnest($1::uuid[], $2::bigint[], $3::text[], $4::text[], $5::text[])
       AS i(cycle_id, lease_token, rebalance_trade_id, total_net_profit_krw,
            total_net_profit_percent)
),
held AS MATERIALIZED (
  SELECT c.id
  FROM public.arbitrage_cycles c
  WHERE c.id IN (SELECT cycle_id FROM item)
    AND c.status = 'REBALANCING_IN_PROGRESS'
  ORDER BY c.id
  FOR NO KEY UPDATE
),
released AS (
  UPDATE cycle_claimer.cycle_leases l
  SET locked_by = NULL, lease_expires_at = NULL, claim_request_id = NULL
  FROM held h
  JOIN item i ON i.cycle_id = h.id
  WHERE l.cycle_id = h.id AND l.lease_token = i.lease_token AND l.locked_by IS NOT NULL
  RETURNING l.cycle_id, l.lease_token, l.locked_by, l.lease_expires_at
),
r AS (
  UPDATE public.arbitrage_cycles c
  SET status = 'COMPLETED',
      end_time = timezone('UTC', now()),
      locked_at = NULL,
      rebalance_trade_id = coalesce(nullif(i.rebalance_trade_id, '')::uuid, c.rebalance_trade_id),
      total_net_profit_krw = coalesce(nullif(i.total_net_profit_krw, '')::numeric,
                                      c.total_net_profit_krw),
      total_net_profit_percent = coalesce(nullif(i.total_net_profit_percent, '')::numeric,
                                          c.total_net_profit_percent)
  FROM released n
  JOIN item i ON i.cycle_id = n.cycle_id
  WHERE c.id = n.cycle_id
  RETURNING c.*, n.lease_token, n.locked_by, n.lease_expires_at
)
SELECT {{cycle_columns}}
FROM r;
