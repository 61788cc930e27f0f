-- Records migration $1 ($2) as applied.
INSERT INTO cycle_claimer.schema_migrations (version, name) VALUES ($1, $2)
