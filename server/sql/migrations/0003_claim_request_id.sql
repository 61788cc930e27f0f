-- Idempotent claims: the request id a lease was claimed with. At most one
-- held lease per (worker, request id), so a retried claim can never take a
-- second cycle, whichever replica it reaches.
ALTER TABLE cycle_claimer.cycle_leases ADD COLUMN IF NOT EXISTS claim_request_id text;

CREATE UNIQUE INDEX IF NOT EXISTS cycle_leases_request_idx
  ON cycle_claimer.cycle_leases (locked_by, claim_request_id)
  WHERE claim_request_id IS NOT NULL;
