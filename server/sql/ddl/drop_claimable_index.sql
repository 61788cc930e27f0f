-- Drops the claim index so that it can be built again: only done when a
-- failed CREATE INDEX CONCURRENTLY has left it invalid.
DROP INDEX CONCURRENTLY IF EXISTS public.cycle_claimer_claimable_idx
