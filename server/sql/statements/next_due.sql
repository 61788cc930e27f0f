-- When the next cycle becomes claimable by the clock alone (a retry falls
-- due, a lease expires), in microseconds from now by the database's clock;
-- NULL when nothing is waiting on the clock. Long-polling claims sleep until
-- then. Cycles put in REBALANCING_IN_PROGRESS by something other than this
-- service are not counted: the server's slow fallback poll finds those.
SELECT (cycle_claimer.epoch_us(least(
          (SELECT min(next_retry_at) FROM public.arbitrage_cycles
           WHERE status = 'AWAITING_RETRY'),
          (SELECT min(lease_expires_at) FROM cycle_claimer.cycle_leases
           WHERE lease_expires_at IS NOT NULL)))
        - cycle_claimer.epoch_us(timezone('UTC', now()))) AS due_in_us
