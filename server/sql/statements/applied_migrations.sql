-- Versions of the migrations already applied.
SELECT version FROM cycle_claimer.schema_migrations ORDER BY version
