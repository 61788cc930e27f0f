-- Claims up to $5 of the oldest claimable cycles for worker $1 in one
-- statement, one short transaction.
--   $1 worker_id text       $2 lease length (microseconds)
--   $3 max_attempts int     $4 lease length assumed for a cycle put in
--                              REBALANCING_IN_PROGRESS by something other
--                              than this service (microseconds)
--   $5 how many cycles to claim at most
-- Returns one row with the number of candidates locked, followed by the
-- claimed cycle columns (all NULL when none was claimed). A cycle whose
-- expired lease uses up its last attempt goes to DEAD_LETTER instead of
-- being handed out; it is returned with that status.
--
-- Why two checks of the lease: "candidate" reads cycle_leases from the
-- statement's snapshot, which can be stale by the time the cycle row lock is
-- granted (a concurrent renewal or take-over may have committed). The cycle
-- columns are re-read under the lock, the lease row is not. The UPDATE of
-- cycle_leases below re-evaluates its WHERE on the newest row version, so a
-- lease that is live by then is left alone and its cycle is not claimed; the
-- caller sees candidates > claimed and runs the statement again.
WITH candidate AS MATERIALIZED (
  SELECT c.id,
         c.status,
         c.locked_at,
         l.lease_token AS held_token,
         l.locked_by AS held_by,
         l.lease_expires_at AS held_until,
         c.status = 'REBALANCING_IN_PROGRESS' AS takeover,
         c.status = 'REBALANCING_IN_PROGRESS' AND c.retry_count + 1 >= $3::integer AS exhausted
  FROM public.arbitrage_cycles c
  LEFT JOIN cycle_claimer.cycle_leases l ON l.cycle_id = c.id
  WHERE c.status IN ('AWAITING_REBALANCE', 'AWAITING_RETRY', 'REBALANCING_IN_PROGRESS')
    AND (c.status = 'AWAITING_REBALANCE'
         OR (c.status = 'AWAITING_RETRY'
             AND coalesce(c.next_retry_at, '-infinity') <= timezone('UTC', now()))
         OR (c.status = 'REBALANCING_IN_PROGRESS'
             AND coalesce(l.lease_expires_at, c.locked_at + $4::bigint * interval '1 microsecond')
                 < timezone('UTC', now())))
  ORDER BY c.start_time, c.id
  LIMIT $5::integer
  FOR NO KEY UPDATE OF c SKIP LOCKED
),
leased_again AS (
  UPDATE cycle_claimer.cycle_leases l
  SET lease_token = l.lease_token + 1,
      locked_by = CASE WHEN k.exhausted THEN NULL ELSE $1::text END,
      lease_expires_at = CASE WHEN k.exhausted THEN NULL
                              ELSE timezone('UTC', now()) + $2::bigint * interval '1 microsecond' END
  FROM candidate k
  WHERE l.cycle_id = k.id
    AND (NOT k.takeover
         OR coalesce(l.lease_expires_at, k.locked_at + $4::bigint * interval '1 microsecond')
            < timezone('UTC', now()))
  RETURNING l.cycle_id, l.lease_token, l.locked_by, l.lease_expires_at
),
leased_first AS (
  INSERT INTO cycle_claimer.cycle_leases (cycle_id, lease_token, locked_by, lease_expires_at)
  SELECT k.id,
         1,
         CASE WHEN k.exhausted THEN NULL ELSE $1::text END,
         CASE WHEN k.exhausted THEN NULL
              ELSE timezone('UTC', now()) + $2::bigint * interval '1 microsecond' END
  FROM candidate k
  WHERE k.held_token IS NULL
  ON CONFLICT (cycle_id) DO NOTHING
  RETURNING cycle_id, lease_token, locked_by, lease_expires_at
),
granted AS (
  SELECT * FROM leased_again
  UNION ALL
  SELECT * FROM leased_first
),
claimed AS (
  UPDATE public.arbitrage_cycles c
  SET status = CASE WHEN k.exhausted THEN 'DEAD_LETTER'::public.arbitrage_cycles_status_enum
                    ELSE 'REBALANCING_IN_PROGRESS' END,
      locked_at = CASE WHEN k.exhausted THEN NULL ELSE timezone('UTC', now()) END,
      retry_count = c.retry_count + CASE WHEN k.takeover THEN 1 ELSE 0 END,
      last_retry_at = CASE WHEN k.takeover THEN timezone('UTC', now()) ELSE c.last_retry_at END,
      failure_reason = CASE WHEN k.takeover THEN 'lease expired' ELSE c.failure_reason END,
      error_details = CASE WHEN NOT k.takeover THEN c.error_details
                           ELSE concat_ws(E'\n', c.error_details,
                                  format('[%s] attempt %s failed: lease of %s (token %s) expired at %s; %s',
                                         to_char(timezone('UTC', now()), 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
                                         c.retry_count + 1,
                                         coalesce(k.held_by, 'an unknown worker'),
                                         coalesce(k.held_token::text, 'none'),
                                         coalesce(to_char(k.held_until, 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
                                                  'locked_at + default lease'),
                                         CASE WHEN k.exhausted THEN 'attempts exhausted, dead-lettered'
                                              ELSE 'taken over by ' || $1::text END)) END
  FROM candidate k
  JOIN granted g ON g.cycle_id = k.id
  WHERE c.id = k.id
  RETURNING c.*, g.lease_token, g.locked_by, g.lease_expires_at
)
SELECT (SELECT count(*) FROM candidate) AS candidates,
       {{cycle_columns}}
FROM (SELECT 1) AS one
LEFT JOIN claimed r ON true
ORDER BY r.start_time, r.id;
