// Types of the cycle-claimer Node.js client.
import type { ChannelCredentials, status } from '@grpc/grpc-js';

export type CycleStatus =
  | 'STARTED' | 'INITIAL_TRADE_COMPLETED' | 'AWAITING_REBALANCE'
  | 'REBALANCING_IN_PROGRESS' | 'REBALANCE_TRADE_COMPLETED' | 'COMPLETED'
  | 'FAILED' | 'AWAITING_RETRY' | 'DEAD_LETTER';

/** kimP's ArbitrageCycle entity fields, plus the lease. */
export interface ArbitrageCycle {
  id: string;
  startTime: Date;
  endTime: Date | null;
  status: CycleStatus;
  initialTradeId: string | null;
  rebalanceTradeId: string | null;
  totalNetProfitKrw: string | null;
  totalNetProfitPercent: string | null;
  initialInvestmentKrw: string | null;
  errorDetails: string | null;
  lockedAt: Date | null;
  retryCount: number;
  lastRetryAt: Date | null;
  nextRetryAt: Date | null;
  failureReason: string | null;
  lockedBy: string | null;
  leaseExpiresAt: Date | null;
  /** The fencing token (int64 as a decimal string). */
  leaseToken: string;
}

export interface RebalanceResult {
  rebalanceTradeId?: string;
  totalNetProfitKrw?: string;
  totalNetProfitPercent?: string;
}

export class CycleClient {
  constructor(address?: string, options?: { credentials?: ChannelCredentials; deadlineMs?: number });
  close(): void;
  claim(request: { workerId: string; leaseMs?: number; waitMs?: number; requestId?: string }): Promise<ArbitrageCycle | null>;
  claimBatch(request: { workerId: string; maxCycles: number; leaseMs?: number; waitMs?: number }): Promise<ArbitrageCycle[]>;
  renew(cycleId: string, leaseToken: string | number, leaseMs?: number): Promise<ArbitrageCycle>;
  complete(cycleId: string, leaseToken: string | number, result?: RebalanceResult): Promise<ArbitrageCycle>;
  completeBatch(items: Array<{ cycleId: string; leaseToken: string | number } & RebalanceResult>):
    Promise<Array<{ cycle: ArbitrageCycle } | { error: { code: number; message: string } }>>;
  fail(cycleId: string, leaseToken: string | number, reason: string, permanent?: boolean): Promise<ArbitrageCycle>;
  release(cycleId: string, leaseToken: string | number): Promise<ArbitrageCycle>;
  get(id: string): Promise<ArbitrageCycle>;
  create(request?: { initialTradeId?: string; initialInvestmentKrw?: string; status?: CycleStatus }): Promise<ArbitrageCycle>;
  list(request?: { statuses?: CycleStatus[]; pageSize?: number; pageToken?: string }): Promise<{ cycles: ArbitrageCycle[]; nextPageToken: string }>;
  requeue(id: string): Promise<ArbitrageCycle>;
  stats(): Promise<unknown>;
  /** Drop-in for ArbitrageRecordService.findAndLockNextCycle(). */
  findAndLockNextCycle(workerId?: string, leaseMs?: number): Promise<ArbitrageCycle | null>;
}

export class Worker {
  constructor(client: CycleClient, options: { workerId: string; leaseMs?: number; waitMs?: number },
              rebalance: (cycle: ArbitrageCycle) => Promise<RebalanceResult | void>);
  run(): Promise<number>;
  stop(): void;
}

export function toArbitrageCycle(cycle: unknown): ArbitrageCycle | null;
export const grpcStatus: typeof status;
