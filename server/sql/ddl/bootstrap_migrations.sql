-- The service's own schema and its record of applied migrations. Run under
-- lock_migrations, so concurrent replicas cannot race on CREATE SCHEMA.
CREATE SCHEMA IF NOT EXISTS cycle_claimer;
CREATE TABLE IF NOT EXISTS cycle_claimer.schema_migrations (
  version integer PRIMARY KEY,
  name text NOT NULL,
  applied_at timestamptz NOT NULL DEFAULT now()
);
