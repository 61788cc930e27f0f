-- Finds the next retry-due moment (statements/next_due.sql) without reading
-- other cycles. Kept like the claim index.
CREATE INDEX CONCURRENTLY IF NOT EXISTS cycle_claimer_retry_due_idx
  ON public.arbitrage_cycles (next_retry_at)
  WHERE status = 'AWAITING_RETRY'
