-- Gives the planner statistics on kimP's table (statements/
-- claim_statistics_missing.sql says when). A sample of at most
-- 300 × default_statistics_target rows, so its cost does not grow with the
-- table. Only the table's owner may ANALYZE it; for anyone else PostgreSQL
-- skips it with a warning and autovacuum remains the only source.
ANALYZE public.arbitrage_cycles
