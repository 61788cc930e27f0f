-- Records a failed attempt on cycle $1, whose rows lock_held_cycle has locked
-- in this transaction. The outcome was decided by the lease policy:
--   $2 next status (AWAITING_RETRY or DEAD_LETTER)  $3 new retry_count
--   $4 reason  $5 retry delay in microseconds, negative for none
--   $6 the worker that held the lease  $7 its lease token
WITH released AS (
  UPDATE cycle_claimer.cycle_leases l
  SET locked_by = NULL, lease_expires_at = NULL, claim_request_id = NULL
  WHERE l.cycle_id = $1
  RETURNING l.cycle_id, l.lease_token, l.locked_by, l.lease_expires_at
),
r AS (
  UPDATE public.arbitrage_cycles c
  SET status = $2::text::public.arbitrage_cycles_status_enum,
      retry_count = $3::integer,
      failure_reason = $4::text,
      last_retry_at = timezone('UTC', now()),
      next_retry_at = CASE WHEN $5::bigint >= 0
                           THEN timezone('UTC', now()) + $5::bigint * interval '1 microsecond' END,
      locked_at = NULL,
      error_details = concat_ws(E'\n', c.error_details,
                        format('[%s] attempt %s failed (worker %s, token %s): %s',
                               to_char(timezone('UTC', now()), 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
                               $3::integer, $6::text, $7::bigint, $4))
  FROM released n
  WHERE c.id = n.cycle_id
  RETURNING c.*, n.lease_token, n.locked_by, n.lease_expires_at
)
SELECT {{cycle_columns}}
FROM r;
