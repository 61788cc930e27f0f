-- The columns of a cycle with its lease, as every statement returns them
-- and CycleRepository decodes them, read from a row source named r. Pasted
-- into statements at the placeholder naming this file (cmake/embed_sql.cmake).
r.id::text AS id,
       r.status::text AS status,
       cycle_claimer.epoch_us(r.start_time) AS start_time_us,
       cycle_claimer.epoch_us(r.end_time) AS end_time_us,
       r.initial_trade_id::text AS initial_trade_id,
       r.rebalance_trade_id::text AS rebalance_trade_id,
       r.total_net_profit_krw::text AS total_net_profit_krw,
       r.total_net_profit_percent::text AS total_net_profit_percent,
       r.initial_investment_krw::text AS initial_investment_krw,
       r.error_details,
       cycle_claimer.epoch_us(r.locked_at) AS locked_at_us,
       r.retry_count,
       cycle_claimer.epoch_us(r.last_retry_at) AS last_retry_at_us,
       cycle_claimer.epoch_us(r.next_retry_at) AS next_retry_at_us,
       r.failure_reason,
       r.locked_by,
       cycle_claimer.epoch_us(r.lease_expires_at) AS lease_expires_at_us,
       r.lease_token
