-- Whether the claim is about to be planned blind: kimP's table holds rows but
-- PostgreSQL has no statistics on its status column yet (a new table before
-- autovacuum's first ANALYZE, up to autovacuum_naptime after it filled, or a
-- table whose autovacuum is off). Without them the planner takes the claimable
-- rows for a handful and, for a claim of several slots, sorts them all
-- instead of reading the claim index in order.
SELECT NOT EXISTS (SELECT 1
                   FROM pg_catalog.pg_stats
                   WHERE schemaname = 'public'
                     AND tablename = 'arbitrage_cycles'
                     AND attname = 'status')
       AND EXISTS (SELECT 1 FROM public.arbitrage_cycles) AS missing
