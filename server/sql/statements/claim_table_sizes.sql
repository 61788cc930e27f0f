-- The sizes on disk (bytes) of the two tables the claim reads. Cheap: one
-- file-size look-up each, no row read. The server re-plans its prepared
-- statements when either has doubled (storage/plan_growth.h says why).
SELECT pg_relation_size('public.arbitrage_cycles'::regclass) AS cycles_bytes,
       pg_relation_size('cycle_claimer.cycle_leases'::regclass) AS leases_bytes
