-- The oldest claimable cycle's age (microseconds, NULL when none) and the
-- held leases, live and expired. $1: the lease length assumed for cycles this
-- service did not lease (microseconds), as in claim_cycles.
SELECT
  (SELECT cycle_claimer.epoch_us(timezone('UTC', now()))
          - cycle_claimer.epoch_us(min(c.start_time))
   FROM (SELECT c.start_time
         FROM public.arbitrage_cycles c
         LEFT JOIN cycle_claimer.cycle_leases l ON l.cycle_id = c.id
         WHERE c.status IN ('AWAITING_REBALANCE', 'AWAITING_RETRY', 'REBALANCING_IN_PROGRESS')
           AND cycle_claimer.is_claimable(c.status::text, c.next_retry_at,
                                          l.lease_expires_at, c.locked_at, $1::bigint)
         ORDER BY c.start_time
         LIMIT 1) c) AS oldest_claimable_age_us,
  (SELECT count(*) FROM cycle_claimer.cycle_leases l
   JOIN public.arbitrage_cycles c ON c.id = l.cycle_id
   WHERE c.status = 'REBALANCING_IN_PROGRESS'
     AND l.lease_expires_at >= timezone('UTC', now())) AS live_leases,
  (SELECT count(*) FROM cycle_claimer.cycle_leases l
   JOIN public.arbitrage_cycles c ON c.id = l.cycle_id
   WHERE c.status = 'REBALANCING_IN_PROGRESS'
     AND l.lease_expires_at < timezone('UTC', now())) AS expired_leases
