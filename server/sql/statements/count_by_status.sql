-- How many cycles each status has (statuses with none are absent).
SELECT status::text AS status, count(*) AS n
FROM public.arbitrage_cycles
GROUP BY status
