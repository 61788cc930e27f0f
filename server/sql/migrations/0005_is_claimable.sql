-- Whether a cycle can be claimed now: AWAITING_REBALANCE; AWAITING_RETRY
-- with next_retry_at passed; REBALANCING_IN_PROGRESS with its lease expired
-- (a lease this service did not grant counts as locked_at + legacy_lease_us).
--
-- A function, and a PL/pgSQL one that the planner cannot inline, on purpose:
-- inlined, the planner estimates this condition from table-wide statistics,
-- in which finished cycles dominate, decides almost no claimable row exists,
-- and sorts every candidate instead of reading the claim index in order; the
-- claim then slows down as history grows. Status comes as text so that no
-- object of ours depends on kimP's enum type (TypeORM re-creates it when the
-- enum changes).
CREATE OR REPLACE FUNCTION cycle_claimer.is_claimable(
    status text,
    next_retry_at timestamp without time zone,
    lease_expires_at timestamp without time zone,
    locked_at timestamp without time zone,
    legacy_lease_us bigint)
  RETURNS boolean
  LANGUAGE plpgsql STABLE PARALLEL SAFE COST 1
AS $$
BEGIN
  RETURN status = 'AWAITING_REBALANCE'
      OR (status = 'AWAITING_RETRY'
          AND coalesce(next_retry_at, '-infinity') <= timezone('UTC', now()))
      OR (status = 'REBALANCING_IN_PROGRESS'
          AND coalesce(lease_expires_at,
                       locked_at + legacy_lease_us * interval '1 microsecond')
              < timezone('UTC', now()));
END
$$;
