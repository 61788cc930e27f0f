-- One replica at a time re-creates the claim index; the session lock ends
-- with the maintenance connection. Returns whether this session got it.
SELECT pg_try_advisory_lock(hashtext('cycle_claimer.claim_index')) AS locked
