-- Serializes migrations between replicas starting at once; held until the
-- migration transaction ends.
SELECT pg_advisory_xact_lock(hashtext('cycle_claimer.migrations'))
