-- Whether index $1 exists in schema public and is usable (a failed
-- CREATE INDEX CONCURRENTLY leaves an invalid one behind). No row: absent.
SELECT i.indisvalid AS valid
FROM pg_class ic
JOIN pg_namespace n ON n.oid = ic.relnamespace
JOIN pg_index i ON i.indexrelid = ic.oid
WHERE n.nspname = 'public' AND ic.relname = $1
