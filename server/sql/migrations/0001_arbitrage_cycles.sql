-- kimP's table, created exactly as TypeORM 0.3 creates it for the entity
-- ArbitrageCycle, and only where it is absent: on an existing kimP database
-- this migration changes nothing, so TypeORM's synchronize finds no diff.
CREATE EXTENSION IF NOT EXISTS "uuid-ossp";

DO $$
BEGIN
  IF NOT EXISTS (
    SELECT 1
    FROM pg_type t
    JOIN pg_namespace n ON n.oid = t.typnamespace
    WHERE n.nspname = 'public' AND t.typname = 'arbitrage_cycles_status_enum'
  ) THEN
    CREATE TYPE "public"."arbitrage_cycles_status_enum" AS ENUM('STARTED', 'INITIAL_TRADE_COMPLETED', 'AWAITING_REBALANCE', 'REBALANCING_IN_PROGRESS', 'REBALANCE_TRADE_COMPLETED', 'COMPLETED', 'FAILED', 'AWAITING_RETRY', 'DEAD_LETTER');
  END IF;
END
$$;

-- An older kimP enum may lack the later labels; adding a label is additive.
ALTER TYPE "public"."arbitrage_cycles_status_enum" ADD VALUE IF NOT EXISTS 'AWAITING_RETRY';
ALTER TYPE "public"."arbitrage_cycles_status_enum" ADD VALUE IF NOT EXISTS 'DEAD_LETTER';

CREATE TABLE IF NOT EXISTS "public"."arbitrage_cycles" ("id" uuid NOT NULL DEFAULT uuid_generate_v4(), "start_time" TIMESTAMP NOT NULL DEFAULT now(), "end_time" TIMESTAMP DEFAULT now(), "status" "public"."arbitrage_cycles_status_enum" NOT NULL DEFAULT 'STARTED', "initial_trade_id" uuid, "rebalance_trade_id" uuid, "total_net_profit_krw" numeric(20,4), "total_net_profit_percent" numeric(10,4), "initial_investment_krw" numeric(20,4), "error_details" text, "locked_at" TIMESTAMP, "retry_count" integer NOT NULL DEFAULT '0', "last_retry_at" TIMESTAMP, "next_retry_at" TIMESTAMP, "failure_reason" text, CONSTRAINT "PK_749457d75f249cffb21f83c3d7e" PRIMARY KEY ("id"));
