"""An example kimP finalizer on the Python Worker: "rebalances" each cycle
by sleeping WORK_MS, then completes it. SIGTERM/SIGINT stop it cleanly.

  PYTHONPATH=build/client/python/gen:client/python \
  SERVER=localhost:50051 WORKER=fin-1 python3 client/python/examples/finalizer.py

A server with tokens needs $CYCLE_CLAIMER_TOKEN; a TLS server needs
$CYCLE_CLAIMER_TLS_CA (PEM file), and with mutual TLS also
$CYCLE_CLAIMER_TLS_CERT and $CYCLE_CLAIMER_TLS_KEY.
"""

import os
import signal
import time

from cycle_claimer import CycleClient, RebalanceResult, Worker


def read_pem(variable):
    """The bytes of the file named by environment variable `variable`, or None."""
    path = os.environ.get(variable)
    if not path:
        return None
    with open(path, "rb") as pem:
        return pem.read()


tls_ca = read_pem("CYCLE_CLAIMER_TLS_CA")
client = CycleClient(
    os.environ.get("SERVER", "localhost:50051"),
    token=os.environ.get("CYCLE_CLAIMER_TOKEN"),
    server_ca_pem=tls_ca,
    client_cert_pem=read_pem("CYCLE_CLAIMER_TLS_CERT") if tls_ca else None,
    client_key_pem=read_pem("CYCLE_CLAIMER_TLS_KEY") if tls_ca else None)
log = os.environ.get("LOG")


def rebalance(cycle):
    time.sleep(int(os.environ.get("WORK_MS", "10")) / 1000)
    if log:
        with open(log, "a") as out:
            out.write(f"rebalanced {cycle.id} {cycle.lease_token}\n")
    return RebalanceResult(total_net_profit_krw="1.0")


worker = Worker(client, os.environ.get("WORKER", f"py-finalizer-{os.getpid()}"),
                rebalance, lease=int(os.environ.get("LEASE_MS", "30000")) / 1000,
                wait=5.0)
for sig in (signal.SIGTERM, signal.SIGINT):
    signal.signal(sig, lambda *_: worker.stop())
completed = worker.run()
print(f"{worker.worker_id}: completed {completed} cycles", flush=True)
client.close()
