-- Settings of the connection that builds the claim index. CREATE INDEX
-- CONCURRENTLY waits for transactions older than its snapshot; if one of them
-- is kimP's TypeORM synchronize waiting to DROP that very index, the two
-- deadlock and PostgreSQL fails whichever detects it first (after
-- deadlock_timeout, 1 s by default). Giving up our waits sooner makes our
-- build the side that fails in nearly every such race (it is retried at the
-- next check) rather than kimP's synchronize.
SET lock_timeout = '200ms'
