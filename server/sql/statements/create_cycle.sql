-- Inserts a cycle as a producer would: $1 initial_trade_id ('' = NULL),
-- $2 initial_investment_krw ('' = NULL), $3 status label. end_time stays NULL
-- (TypeORM's DDL defaults it to now(), which a new cycle should not have).
WITH r AS (
  INSERT INTO public.arbitrage_cycles
    (start_time, end_time, status, initial_trade_id, initial_investment_krw)
  VALUES (timezone('UTC', now()), NULL,
          $3::text::public.arbitrage_cycles_status_enum,
          nullif($1::text, '')::uuid, nullif($2::text, '')::numeric)
  RETURNING *, 0::bigint AS lease_token, NULL::text AS locked_by,
            NULL::timestamp AS lease_expires_at
)
SELECT {{cycle_columns}}
FROM r;
