-- Whether trigger $1 exists on public.arbitrage_cycles.
SELECT count(*) > 0 AS present
FROM pg_trigger
WHERE tgrelid = 'public.arbitrage_cycles'::regclass AND tgname = $1
