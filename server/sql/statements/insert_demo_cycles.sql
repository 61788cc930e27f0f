-- Inserts $1 cycles in AWAITING_REBALANCE, a millisecond apart in start_time,
-- as kimP's trader would after an initial trade. For demos and benchmarks.
INSERT INTO public.arbitrage_cycles (start_time, end_time, status, initial_trade_id, initial_investment_krw)
SELECT timezone('UTC', now()) - ($1 - g) * interval '1 millisecond',
       NULL,
       'AWAITING_REBALANCE',
       uuid_generate_v4(),
       (1000000 + g)::numeric(20, 4)
FROM generate_series(1, $1) AS g;
