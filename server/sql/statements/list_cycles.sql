-- A page of cycles, newest first by (start_time, id), after the position
-- ($1 start_time in epoch microseconds, $2 id) of the previous page's last
-- row (NULL, NULL for the first page); only statuses in $3 (text[]; empty:
-- all); at most $4 rows.
WITH r AS (
  SELECT c.*,
         coalesce(l.lease_token, 0) AS lease_token,
         l.locked_by,
         l.lease_expires_at
  FROM public.arbitrage_cycles c
  LEFT JOIN cycle_claimer.cycle_leases l ON l.cycle_id = c.id
  WHERE ($1::bigint IS NULL
         OR (c.start_time, c.id) < (timestamp 'epoch' + $1::bigint * interval '1 microsecond', $2::uuid))
    AND (cardinality($3::text[]) = 0 OR c.status::text = ANY ($3::text[]))
  ORDER BY c.start_time DESC, c.id DESC
  LIMIT $4::integer
)
SELECT {{cycle_columns}}
FROM r
ORDER BY r.start_time DESC, r.id DESC;
