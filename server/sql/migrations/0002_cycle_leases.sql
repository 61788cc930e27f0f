-- The service's own state lives beside kimP's table, never in it: TypeORM's
-- synchronize drops every column of arbitrage_cycles that the entity does not
-- declare. A row exists for every cycle this service has ever claimed and is
-- never deleted, so lease_token only ever grows (it is the fencing token).
-- No foreign key to arbitrage_cycles: one would make TypeORM's own DDL on
-- that table (re-creating its primary key) fail in kimP's apps.
CREATE TABLE IF NOT EXISTS cycle_claimer.cycle_leases (
  cycle_id uuid PRIMARY KEY,
  lease_token bigint NOT NULL DEFAULT 0 CHECK (lease_token >= 0),
  locked_by text,
  lease_expires_at timestamp without time zone,
  CHECK ((locked_by IS NULL) = (lease_expires_at IS NULL))
);

-- Finds expired leases without scanning finished cycles.
CREATE INDEX IF NOT EXISTS cycle_leases_expiry_idx
  ON cycle_claimer.cycle_leases (lease_expires_at)
  WHERE lease_expires_at IS NOT NULL;

-- Timestamps leave the database as microseconds since the epoch, so that no
-- session setting (DateStyle, TimeZone) can change how they read. The
-- columns are "timestamp without time zone" holding UTC.
CREATE OR REPLACE FUNCTION cycle_claimer.epoch_us(ts timestamp without time zone)
  RETURNS bigint
  LANGUAGE sql IMMUTABLE PARALLEL SAFE
  RETURN (extract(epoch FROM ts) * 1000000)::bigint;
