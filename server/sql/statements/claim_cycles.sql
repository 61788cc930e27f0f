-- Claims cycles for a list of claim slots in one statement, one short
-- transaction. Slot i (1-based) gets the i-th oldest claimable cycle:
--   $1 text[]   worker id of each slot
--   $2 bigint[] lease length of each slot (microseconds)
--   $3 text[]   request id of each slot ('' for none)
--   $4 integer  max_attempts
--   $5 bigint   lease length assumed for a cycle put in REBALANCING_IN_PROGRESS
--               by something other than this service (microseconds)
-- One batch claim is several slots of one worker; concurrent single claims
-- merged by the server are slots of different workers, in arrival order.
-- Returns one row with the number of candidates locked, then one row per
-- claimed cycle with its slot (all NULL when nothing was claimed). A cycle
-- whose expired lease uses up its last attempt goes to DEAD_LETTER instead of
-- being handed out; it is returned with that status, and its slot is left
-- unserved (the caller runs the statement again for unserved slots).
--
-- Why two checks of the lease: "candidate" and "assigned" read cycle_leases
-- from the statement's snapshot, which can be stale by the time the cycle row
-- lock is granted (a concurrent renewal or take-over may have committed). The
-- cycle columns are re-read under the lock, the lease row is not. The UPDATE
-- of cycle_leases below re-evaluates its WHERE on the newest row version, so a
-- lease that is live by then is left alone and its cycle is not claimed; the
-- caller sees fewer claims than candidates and runs the statement again.
WITH claimer AS MATERIALIZED (
  SELECT k.worker_id, k.lease_us, nullif(k.request_id, '') AS request_id, k.slot
  FROM unnest($1::text[], $2::bigint[], $3::text[])
       WITH ORDINALITY AS k(worker_id, lease_us, request_id, slot)
),
candidate AS MATERIALIZED (
  SELECT c.id,
         c.start_time,
         c.status,
         c.locked_at,
         c.status = 'REBALANCING_IN_PROGRESS' AS takeover,
         c.status = 'REBALANCING_IN_PROGRESS' AND c.retry_count + 1 >= $4::integer AS exhausted
  FROM public.arbitrage_cycles c
  WHERE c.status IN ('AWAITING_REBALANCE', 'AWAITING_RETRY', 'REBALANCING_IN_PROGRESS')
    AND cycle_claimer.is_claimable(
          c.status::text, c.next_retry_at,
          -- Only a take-over needs the lease: looked up by key for that row
          -- alone (CASE evaluates it lazily). Not a join, on purpose: with
          -- a join, a plan made while the tables were small (a cached
          -- generic plan, or no statistics yet on a new table) hashes every
          -- lease ever granted on each claim, and cycle_leases only grows.
          CASE WHEN c.status = 'REBALANCING_IN_PROGRESS' THEN
            (SELECT l.lease_expires_at FROM cycle_claimer.cycle_leases l
             WHERE l.cycle_id = c.id)
          END,
          c.locked_at, $5::bigint)
  ORDER BY c.start_time, c.id
  -- The number of slots, as a constant: prepared once per slot count, so that
  -- even a generic plan knows the limit and walks the claim index in order
  -- instead of sorting every claimable row.
  LIMIT /*slots*/1
  FOR NO KEY UPDATE OF c SKIP LOCKED
),
assigned AS MATERIALIZED (
  SELECT n.*, l.lease_token AS held_token, l.locked_by AS held_by,
         l.lease_expires_at AS held_until, k.worker_id, k.lease_us, k.request_id
  FROM (SELECT candidate.*, row_number() OVER (ORDER BY start_time, id) AS slot
        FROM candidate) n
  JOIN claimer k ON k.slot = n.slot
  -- LIMIT keeps the subquery from being merged into a join: one probe of the
  -- lease's key per claimed row, whatever the planner believes of the sizes.
  LEFT JOIN LATERAL (
    SELECT l.lease_token, l.locked_by, l.lease_expires_at
    FROM cycle_claimer.cycle_leases l
    WHERE l.cycle_id = n.id
    LIMIT 1
  ) l ON true
),
leased_again AS (
  UPDATE cycle_claimer.cycle_leases l
  SET lease_token = l.lease_token + 1,
      locked_by = CASE WHEN a.exhausted THEN NULL ELSE a.worker_id END,
      claim_request_id = CASE WHEN a.exhausted THEN NULL ELSE a.request_id END,
      lease_expires_at = CASE WHEN a.exhausted THEN NULL
                              ELSE timezone('UTC', now()) + a.lease_us * interval '1 microsecond' END
  FROM assigned a
  WHERE l.cycle_id = a.id
    AND (NOT a.takeover
         OR coalesce(l.lease_expires_at, a.locked_at + $5::bigint * interval '1 microsecond')
            < timezone('UTC', now()))
  RETURNING l.cycle_id, l.lease_token, l.locked_by, l.lease_expires_at
),
leased_first AS (
  INSERT INTO cycle_claimer.cycle_leases
    (cycle_id, lease_token, locked_by, claim_request_id, lease_expires_at)
  SELECT a.id,
         1,
         CASE WHEN a.exhausted THEN NULL ELSE a.worker_id END,
         CASE WHEN a.exhausted THEN NULL ELSE a.request_id END,
         CASE WHEN a.exhausted THEN NULL
              ELSE timezone('UTC', now()) + a.lease_us * interval '1 microsecond' END
  FROM assigned a
  WHERE a.held_token IS NULL
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
  SET status = CASE WHEN a.exhausted THEN 'DEAD_LETTER'::public.arbitrage_cycles_status_enum
                    ELSE 'REBALANCING_IN_PROGRESS' END,
      locked_at = CASE WHEN a.exhausted THEN NULL ELSE timezone('UTC', now()) END,
      retry_count = c.retry_count + CASE WHEN a.takeover THEN 1 ELSE 0 END,
      last_retry_at = CASE WHEN a.takeover THEN timezone('UTC', now()) ELSE c.last_retry_at END,
      failure_reason = CASE WHEN a.takeover THEN 'lease expired' ELSE c.failure_reason END,
      error_details = CASE WHEN NOT a.takeover THEN c.error_details
                           ELSE concat_ws(E'\n', c.error_details,
                                  format('[%s] attempt %s failed: lease of %s (token %s) expired at %s; %s',
                                         to_char(timezone('UTC', now()), 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
                                         c.retry_count + 1,
                                         coalesce(a.held_by, 'an unknown worker'),
                                         coalesce(a.held_token::text, 'none'),
                                         coalesce(to_char(a.held_until, 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
                                                  'locked_at + default lease'),
                                         CASE WHEN a.exhausted THEN 'attempts exhausted, dead-lettered'
                                              ELSE 'taken over by ' || a.worker_id END)) END
  FROM assigned a
  JOIN granted g ON g.cycle_id = a.id
  WHERE c.id = a.id
  RETURNING c.*, g.lease_token, g.locked_by, g.lease_expires_at, a.slot, a.takeover
)
SELECT (SELECT count(*) FROM candidate) AS candidates,
       r.slot,
       r.takeover AS taken_over,
       {{cycle_columns}}
FROM (SELECT 1) AS one
LEFT JOIN claimed r ON true
ORDER BY r.slot;
