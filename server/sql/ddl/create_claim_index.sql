-- Serves the claim: exactly the rows that can become claimable, in claim
-- order, so that the claim's cost does not grow with finished cycles. Lives
-- on kimP's table, where TypeORM's synchronize drops it; the server re-creates
-- it when it finds it gone. CONCURRENTLY: kimP's apps keep writing meanwhile.
CREATE INDEX CONCURRENTLY IF NOT EXISTS cycle_claimer_claimable_idx
  ON public.arbitrage_cycles (start_time, id)
  WHERE status IN ('AWAITING_REBALANCE', 'AWAITING_RETRY', 'REBALANCING_IN_PROGRESS')
