'use strict';
// An example kimP finalizer on the Worker: "rebalances" each cycle by waiting
// WORK_MS, then completes it. SIGTERM/SIGINT stop it cleanly.
//   SERVER=localhost:50051 WORKER=fin-1 node examples/finalizer.js
// A server with tokens needs $CYCLE_CLAIMER_TOKEN; a TLS server needs
// $CYCLE_CLAIMER_TLS_CA (PEM file), and with mutual TLS also
// $CYCLE_CLAIMER_TLS_CERT and $CYCLE_CLAIMER_TLS_KEY.
const fs = require('node:fs');
const { CycleClient, Worker } = require('../src');

const { CYCLE_CLAIMER_TLS_CA: ca, CYCLE_CLAIMER_TLS_CERT: cert, CYCLE_CLAIMER_TLS_KEY: key } = process.env;
const read = (file) => (file ? fs.readFileSync(file) : undefined);
const client = new CycleClient(process.env.SERVER || 'localhost:50051', {
  token: process.env.CYCLE_CLAIMER_TOKEN,
  tls: ca ? { ca: read(ca), cert: read(cert), key: read(key) } : undefined,
});
const log = process.env.LOG;
const worker = new Worker(client, {
  workerId: process.env.WORKER || `node-finalizer-${process.pid}`,
  leaseMs: Number(process.env.LEASE_MS || 30000),
  waitMs: 5000,
}, async (cycle) => {
  await new Promise((resolve) => setTimeout(resolve, Number(process.env.WORK_MS || 10)));
  if (log) fs.appendFileSync(log, `rebalanced ${cycle.id} ${cycle.leaseToken}\n`);
  return { totalNetProfitKrw: '1.0' };
});
for (const signal of ['SIGTERM', 'SIGINT']) process.on(signal, () => worker.stop());
worker.run().then((completed) => {
  console.log(`${worker.options.workerId}: completed ${completed} cycles`);
  client.close();
});
