-- Puts DEAD_LETTER or FAILED cycle $1 back to AWAITING_REBALANCE with its
-- attempts, retry time, failure reason and lease holder reset (the lease
-- token is kept: it only ever grows). Returns no row for any other status.
WITH held AS MATERIALIZED (
  SELECT c.id
  FROM public.arbitrage_cycles c
  WHERE c.id = $1 AND c.status IN ('DEAD_LETTER', 'FAILED')
  FOR NO KEY UPDATE
),
cleared AS (
  UPDATE cycle_claimer.cycle_leases l
  SET locked_by = NULL, lease_expires_at = NULL, claim_request_id = NULL
  FROM held h
  WHERE l.cycle_id = h.id
  RETURNING l.cycle_id
),
r AS (
  UPDATE public.arbitrage_cycles c
  SET status = 'AWAITING_REBALANCE',
      retry_count = 0,
      next_retry_at = NULL,
      failure_reason = NULL,
      locked_at = NULL,
      error_details = concat_ws(E'\n', c.error_details,
                        format('[%s] requeued from %s after %s attempts',
                               to_char(timezone('UTC', now()), 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
                               c.status, c.retry_count))
  FROM held h
  WHERE c.id = h.id
  RETURNING c.*
)
SELECT {{cycle_columns}}
FROM (SELECT r.*, coalesce(l.lease_token, 0) AS lease_token,
             NULL::text AS locked_by, NULL::timestamp AS lease_expires_at
      FROM r LEFT JOIN cycle_claimer.cycle_leases l ON l.cycle_id = r.id) r;
