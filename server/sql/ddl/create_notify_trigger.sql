-- The trigger of migration 0004 on kimP's table (created, and re-created when
-- found missing, by the server's schema keeper).
CREATE OR REPLACE TRIGGER cycle_claimer_notify_claimable
  AFTER INSERT OR UPDATE OF status, next_retry_at ON public.arbitrage_cycles
  FOR EACH ROW
  WHEN (NEW.status IN ('AWAITING_REBALANCE', 'AWAITING_RETRY'))
  EXECUTE FUNCTION cycle_claimer.notify_claimable()
