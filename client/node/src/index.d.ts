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

/** TLS for CycleClient: PEM text as strings or Buffers. */
export interface TlsOptions {
  /** The CA certificate(s) that signed the server's; absent: the system's roots. */
  ca?: string | Uint8Array;
  /** This client's certificate chain, for mutual TLS; needs `key`. */
  cert?: string | Uint8Array;
  /** The private key of `cert`. */
  key?: string | Uint8Array;
}

export interface CycleClientOptions {
  /** Sent as `authorization: Bearer <token>` with every call; absent or empty: none. */
  token?: string;
  /** TLS (mutual with `cert` and `key`); absent: plaintext. */
  tls?: TlsOptions;
  /** Channel credentials of your own, instead of `tls`. */
  credentials?: ChannelCredentials;
  /** Deadline of each call in ms (a long poll adds its wait); default 30000. */
  deadlineMs?: number;
}

export class CycleClient {
  /** `address` is "host:port", default "localhost:50051". Throws a TypeError
   *  when `tls` and `credentials` are both given, or `tls.cert` without `tls.key`. */
  constructor(address?: string, options?: CycleClientOptions);
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
