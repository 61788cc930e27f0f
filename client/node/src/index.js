'use strict';
// Node.js client of the cycle-claimer service, on @grpc/grpc-js with the
// service definition loaded from proto/ (no hand-written wire code).

const path = require('node:path');
const grpc = require('@grpc/grpc-js');
const protoLoader = require('@grpc/proto-loader');

const PROTO_ROOT = path.join(__dirname, '..', '..', '..', 'proto');
const definition = protoLoader.loadSync('kimp/cycles/v1/cycles.proto', {
  includeDirs: [PROTO_ROOT],
  keepCase: false,
  longs: String,
  enums: String,
  defaults: false,
  oneofs: true,
});
const v1 = grpc.loadPackageDefinition(definition).kimp.cycles.v1;

const STATUS_PREFIX = 'CYCLE_STATUS_';

function toDate(timestamp) {
  if (!timestamp) return null;
  return new Date(Number(timestamp.seconds) * 1000 + Math.floor((timestamp.nanos || 0) / 1e6));
}

function toDuration(ms) {
  return { seconds: String(Math.floor(ms / 1000)), nanos: (ms % 1000) * 1e6 };
}

// A cycle with kimP's TypeORM entity field names (ArbitrageCycle), plus the
// lease. Numeric columns stay decimal strings, as the pg driver returns them.
function toArbitrageCycle(cycle) {
  if (!cycle) return null;
  return {
    id: cycle.id,
    startTime: toDate(cycle.startTime),
    endTime: toDate(cycle.endTime),
    status: (cycle.status || '').replace(STATUS_PREFIX, ''),
    initialTradeId: cycle.initialTradeId || null,
    rebalanceTradeId: cycle.rebalanceTradeId || null,
    totalNetProfitKrw: cycle.totalNetProfitKrw || null,
    totalNetProfitPercent: cycle.totalNetProfitPercent || null,
    initialInvestmentKrw: cycle.initialInvestmentKrw || null,
    errorDetails: cycle.errorDetails || null,
    lockedAt: toDate(cycle.lockedAt),
    retryCount: cycle.retryCount || 0,
    lastRetryAt: toDate(cycle.lastRetryAt),
    nextRetryAt: toDate(cycle.nextRetryAt),
    failureReason: cycle.failureReason || null,
    lockedBy: cycle.lockedBy || null,
    leaseExpiresAt: toDate(cycle.leaseExpiresAt),
    leaseToken: cycle.leaseToken || '0',
  };
}

// The channel credentials for CycleClient's options: plaintext without
// options.tls, else TLS trusting tls.ca and, for mutual TLS, presenting
// tls.cert with tls.key.
function channelCredentials({ tls, credentials }) {
  if (credentials && tls) throw new TypeError('CycleClient: give options.tls or options.credentials, not both');
  if (credentials) return credentials;
  if (!tls) return grpc.credentials.createInsecure();
  if (!tls.cert !== !tls.key) throw new TypeError('CycleClient: options.tls.cert and options.tls.key go together');
  const pem = (value) => (value ? Buffer.from(value) : null);
  return grpc.credentials.createSsl(pem(tls.ca), pem(tls.key), pem(tls.cert));
}

class CycleClient {
  // Private, so that logging the client does not print the token.
  #metadata = new grpc.Metadata();

  // address: "host:port". options (all optional):
  //   token: a bearer token, sent as "authorization: Bearer <token>" with
  //     every call (servers started with tokens refuse calls without one);
  //   tls: {ca, cert, key}, PEM strings or Buffers: TLS trusting ca (absent:
  //     the system's roots), presenting cert with key for mutual TLS; without
  //     tls the channel is plaintext;
  //   credentials: grpc ChannelCredentials of your own, instead of tls;
  //   deadlineMs: bounds each call (a long poll adds its wait), 30000.
  constructor(address = 'localhost:50051', options = {}) {
    const credentials = channelCredentials(options);
    this.deadlineMs = options.deadlineMs || 30000;
    // Metadata on each call rather than call credentials, which grpc-js
    // refuses to compose with plaintext channels: one way for both, as the
    // C++ client does.
    if (options.token) this.#metadata.set('authorization', `Bearer ${options.token}`);
    this.cycles = new v1.CycleService(address, credentials);
    this.admin = new v1.CycleAdminService(address, credentials, { channelOverride: this.cycles.getChannel() });
  }

  close() {
    this.cycles.close();
  }

  call(stub, method, request, extraMs = 0) {
    return new Promise((resolve, reject) => {
      const deadline = new Date(Date.now() + this.deadlineMs + extraMs);
      stub[method](request, this.#metadata.clone(), { deadline }, (error, response) => (error ? reject(error) : resolve(response)));
    });
  }

  // The oldest claimable cycle, now leased to workerId; null when none came
  // within waitMs.
  async claim({ workerId, leaseMs, waitMs = 0, requestId = '' }) {
    const request = { workerId, requestId };
    if (leaseMs) request.leaseDuration = toDuration(leaseMs);
    if (waitMs) request.waitTimeout = toDuration(waitMs);
    const response = await this.call(this.cycles, 'claimNextCycle', request, waitMs);
    return toArbitrageCycle(response.cycle);
  }

  async claimBatch({ workerId, maxCycles, leaseMs, waitMs = 0 }) {
    const request = { workerId, maxCycles };
    if (leaseMs) request.leaseDuration = toDuration(leaseMs);
    if (waitMs) request.waitTimeout = toDuration(waitMs);
    const response = await this.call(this.cycles, 'claimCycles', request, waitMs);
    return (response.cycles || []).map(toArbitrageCycle);
  }

  async renew(cycleId, leaseToken, leaseMs) {
    const request = { cycleId, leaseToken: String(leaseToken) };
    if (leaseMs) request.leaseDuration = toDuration(leaseMs);
    return toArbitrageCycle((await this.call(this.cycles, 'renewLease', request)).cycle);
  }

  async complete(cycleId, leaseToken, result = {}) {
    const request = { cycleId, leaseToken: String(leaseToken), ...result };
    return toArbitrageCycle((await this.call(this.cycles, 'completeCycle', request)).cycle);
  }

  // items: [{cycleId, leaseToken, ...result}]; one {cycle} or {error: {code,
  // message}} per item, in order.
  async completeBatch(items) {
    const completions = items.map((item) => ({ ...item, leaseToken: String(item.leaseToken) }));
    const response = await this.call(this.cycles, 'completeCycles', { completions });
    return (response.results || []).map((result) =>
      result.cycle ? { cycle: toArbitrageCycle(result.cycle) } : { error: result.error });
  }

  async fail(cycleId, leaseToken, reason, permanent = false) {
    const request = { cycleId, leaseToken: String(leaseToken), reason, permanent };
    return toArbitrageCycle((await this.call(this.cycles, 'failCycle', request)).cycle);
  }

  async release(cycleId, leaseToken) {
    const request = { cycleId, leaseToken: String(leaseToken) };
    return toArbitrageCycle((await this.call(this.cycles, 'releaseCycle', request)).cycle);
  }

  async get(id) {
    return toArbitrageCycle((await this.call(this.admin, 'getCycle', { id })).cycle);
  }

  async create({ initialTradeId = '', initialInvestmentKrw = '', status = '' } = {}) {
    const request = { initialTradeId, initialInvestmentKrw };
    if (status) request.status = STATUS_PREFIX + status;
    return toArbitrageCycle((await this.call(this.admin, 'createCycle', request)).cycle);
  }

  async list({ statuses = [], pageSize = 0, pageToken = '' } = {}) {
    const request = { statuses: statuses.map((s) => STATUS_PREFIX + s), pageSize, pageToken };
    const response = await this.call(this.admin, 'listCycles', request);
    return { cycles: (response.cycles || []).map(toArbitrageCycle), nextPageToken: response.nextPageToken || '' };
  }

  async requeue(id) {
    return toArbitrageCycle((await this.call(this.admin, 'requeueCycle', { id })).cycle);
  }

  async stats() {
    return this.call(this.admin, 'getQueueStats', {});
  }

  // Drop-in for kimP's ArbitrageRecordService.findAndLockNextCycle(): the
  // next cycle to rebalance, leased to this process, or null.
  async findAndLockNextCycle(workerId = `node-${process.pid}`, leaseMs = 0) {
    return this.claim({ workerId, leaseMs });
  }
}

function isLeaseLost(error) {
  return error && error.code === grpc.status.FAILED_PRECONDITION;
}

function isTransient(error) {
  return error && [grpc.status.UNAVAILABLE, grpc.status.DEADLINE_EXCEEDED,
    grpc.status.ABORTED, grpc.status.RESOURCE_EXHAUSTED].includes(error.code);
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// The finalizer loop: claims by long poll, runs rebalance(cycle) while
// renewing the lease every third of its length, completes with its result
// or fails with the error's message, abandons a cycle whose lease is lost,
// retries transient errors with backoff (a claim keeps its request id), and
// on stop() releases a cycle it claimed but has not started.
class Worker {
  constructor(client, { workerId, leaseMs = 300000, waitMs = 30000 }, rebalance) {
    this.client = client;
    this.options = { workerId, leaseMs, waitMs };
    this.rebalance = rebalance;
    this.stopping = false;
    this.nextRequest = 0;
  }

  stop() {
    this.stopping = true;
  }

  async run() {
    let completed = 0;
    while (!this.stopping) {
      const cycle = await this.claim();
      if (!cycle) continue;
      if (this.stopping) {
        await this.client.release(cycle.id, cycle.leaseToken).catch(() => {});
        break;
      }
      if (await this.work(cycle)) completed += 1;
    }
    return completed;
  }

  async claim() {
    const requestId = `${this.options.workerId}#${this.nextRequest++}`;
    let delay = 100;
    while (!this.stopping) {
      try {
        return await this.client.claim({ ...this.options, requestId });
      } catch (error) {
        if (!isTransient(error)) console.error(`${this.options.workerId}: claim: ${error.message}`);
        await sleep(delay);
        delay = Math.min(delay * 2, 10000);
      }
    }
    return null;
  }

  async work(cycle) {
    let lost = false;
    const renewer = setInterval(() => {
      this.client.renew(cycle.id, cycle.leaseToken, this.options.leaseMs).catch((error) => {
        if (isLeaseLost(error)) lost = true;
      });
    }, Math.max(1, Math.floor(this.options.leaseMs / 3)));
    let result;
    let failure;
    try {
      result = (await this.rebalance(cycle)) || {};
    } catch (error) {
      failure = (error && error.message) || String(error);
    } finally {
      clearInterval(renewer);
    }
    if (lost) return false;
    let delay = 100;
    for (let retry = false; ; retry = true) {
      try {
        if (failure === undefined) {
          await this.client.complete(cycle.id, cycle.leaseToken, result);
          return true;
        }
        await this.client.fail(cycle.id, cycle.leaseToken, failure || 'failed');
        return false;
      } catch (error) {
        if (retry && isLeaseLost(error) && failure === undefined) {
          // The first attempt may have gone through with its answer lost.
          const now = await this.client.get(cycle.id).catch(() => null);
          return !!now && now.status === 'COMPLETED' && now.leaseToken === cycle.leaseToken;
        }
        if (!isTransient(error)) return false;
        await sleep(delay);
        delay = Math.min(delay * 2, 10000);
      }
    }
  }
}

module.exports = { CycleClient, Worker, toArbitrageCycle, grpcStatus: grpc.status };
