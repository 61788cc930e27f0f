-- The trigger of migration 0004 on kimP's table (installed with the
-- migrations, and re-created when found missing by the server's keeper).
-- Deliberately without a column list or WHEN clause: see 0004.
CREATE OR REPLACE TRIGGER cycle_claimer_notify_claimable
  AFTER INSERT OR UPDATE ON public.arbitrage_cycles
  FOR EACH ROW
  EXECUTE FUNCTION cycle_claimer.notify_claimable()
