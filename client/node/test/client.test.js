'use strict';
// Typed calls against a live server: CYCLE_CLAIMER_SERVER=host:port (the
// C++ test node_client_pgtest starts one on a fresh database).
const test = require('node:test');
const assert = require('node:assert');
const { CycleClient, grpcStatus } = require('../src');

const server = process.env.CYCLE_CLAIMER_SERVER;

test('claim, renew, complete with kimP field names; lease lost is FAILED_PRECONDITION', async () => {
  assert.ok(server, 'CYCLE_CLAIMER_SERVER is required');
  const client = new CycleClient(server);
  try {
    const created = await client.create({ initialInvestmentKrw: '1000' });
    assert.strictEqual(created.status, 'AWAITING_REBALANCE');
    const cycle = await client.findAndLockNextCycle('node-test', 60000);
    assert.strictEqual(cycle.id, created.id);
    assert.strictEqual(cycle.status, 'REBALANCING_IN_PROGRESS');
    assert.strictEqual(cycle.lockedBy, 'node-test');
    assert.strictEqual(cycle.leaseToken, '1');
    assert.strictEqual(cycle.retryCount, 0);
    assert.ok(cycle.startTime instanceof Date && cycle.lockedAt instanceof Date);
    const renewed = await client.renew(cycle.id, cycle.leaseToken, 120000);
    assert.ok(renewed.leaseExpiresAt > cycle.leaseExpiresAt);
    await assert.rejects(client.complete(cycle.id, '2'), (error) => error.code === grpcStatus.FAILED_PRECONDITION);
    const done = await client.complete(cycle.id, cycle.leaseToken, { totalNetProfitKrw: '12.5' });
    assert.strictEqual(done.status, 'COMPLETED');
    assert.strictEqual(done.totalNetProfitKrw, '12.5000');
    assert.strictEqual(await client.claim({ workerId: 'node-test' }), null);
  } finally {
    client.close();
  }
});

test('batches, fail, requeue, list, stats and bad input', async () => {
  const client = new CycleClient(server);
  try {
    for (let i = 0; i < 3; i += 1) await client.create();
    const batch = await client.claimBatch({ workerId: 'node-batch', maxCycles: 10 });
    assert.strictEqual(batch.length, 3);
    const results = await client.completeBatch([
      { cycleId: batch[0].id, leaseToken: batch[0].leaseToken },
      { cycleId: batch[1].id, leaseToken: '99' },
    ]);
    assert.ok(results[0].cycle);
    assert.strictEqual(results[1].error.code, grpcStatus.FAILED_PRECONDITION);
    const failed = await client.fail(batch[2].id, batch[2].leaseToken, 'boom', true);
    assert.strictEqual(failed.status, 'DEAD_LETTER');
    const page = await client.list({ statuses: ['DEAD_LETTER'] });
    assert.deepStrictEqual(page.cycles.map((c) => c.id), [batch[2].id]);
    assert.strictEqual((await client.requeue(batch[2].id)).status, 'AWAITING_REBALANCE');
    const stats = await client.stats();
    assert.strictEqual(stats.counts.length, 9);
    await assert.rejects(client.claim({ workerId: '' }), (error) => error.code === grpcStatus.INVALID_ARGUMENT);
    await assert.rejects(client.get('nope'), (error) => error.code === grpcStatus.INVALID_ARGUMENT);
  } finally {
    client.close();
  }
});
