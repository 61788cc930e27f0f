"""Python client of the cycle-claimer service.

Stubs are generated from proto/ with protoc and Debian's grpc_python_plugin
by the CMake build (into build/client/python/gen); put that folder and this
one on PYTHONPATH. Runs on Debian's python3-grpcio and python3-protobuf.
"""

import threading
import time

import grpc
from google.protobuf import duration_pb2

from kimp.cycles.v1 import cycles_pb2, cycles_pb2_grpc

__all__ = ["CycleClient", "Worker", "RebalanceResult", "cycles_pb2"]

_TRANSIENT = {
    grpc.StatusCode.UNAVAILABLE,
    grpc.StatusCode.DEADLINE_EXCEEDED,
    grpc.StatusCode.ABORTED,
    grpc.StatusCode.RESOURCE_EXHAUSTED,
}


def _duration(seconds):
    d = duration_pb2.Duration()
    d.FromNanoseconds(int(seconds * 1e9))
    return d


class RebalanceResult:
    """What a rebalance reports; empty fields keep the cycle's column."""

    def __init__(self, rebalance_trade_id="", total_net_profit_krw="",
                 total_net_profit_percent=""):
        self.rebalance_trade_id = rebalance_trade_id
        self.total_net_profit_krw = total_net_profit_krw
        self.total_net_profit_percent = total_net_profit_percent


def _pem(value):
    """PEM text as bytes, as grpc.ssl_channel_credentials takes it."""
    if value is None or isinstance(value, bytes):
        return value
    return value.encode()


class CycleClient:
    """Every RPC of CycleService and CycleAdminService; errors raise
    grpc.RpcError with the server's code (FAILED_PRECONDITION: lease lost;
    UNAUTHENTICATED: no valid token; PERMISSION_DENIED: a worker token on
    CycleAdminService). Thread-safe, as grpc channels are."""

    def __init__(self, target="localhost:50051", deadline=30.0, channel=None, *,
                 token=None, tls=False, server_ca_pem=None, client_cert_pem=None,
                 client_key_pem=None):
        """A client of the server at target ("host:port").

        deadline: seconds each call may take (a long poll adds its wait).
        token: a bearer token, sent as "authorization: Bearer <token>" with
            every call (servers started with tokens refuse calls without
            one); None or "": no token.
        tls, server_ca_pem, client_cert_pem, client_key_pem: TLS when tls is
            true or any PEM is given (bytes or str), trusting server_ca_pem
            (None: the system's roots) and, for mutual TLS, presenting
            client_cert_pem with client_key_pem. Otherwise plaintext.
        channel: a grpc.Channel of your own instead of target and TLS.

        Raises ValueError for a certificate without its key (or the other
        way round), or for a channel given together with TLS options.
        """
        pems = (server_ca_pem, client_cert_pem, client_key_pem)
        use_tls = tls or any(pem is not None for pem in pems)
        if (client_cert_pem is None) != (client_key_pem is None):
            raise ValueError("client_cert_pem and client_key_pem go together")
        if channel is not None and use_tls:
            raise ValueError("give channel or TLS options, not both")
        if channel is None:
            if use_tls:
                credentials = grpc.ssl_channel_credentials(
                    root_certificates=_pem(server_ca_pem),
                    private_key=_pem(client_key_pem),
                    certificate_chain=_pem(client_cert_pem))
                channel = grpc.secure_channel(target, credentials)
            else:
                channel = grpc.insecure_channel(target)
        self.channel = channel
        self.cycles = cycles_pb2_grpc.CycleServiceStub(self.channel)
        self.admin = cycles_pb2_grpc.CycleAdminServiceStub(self.channel)
        self.deadline = deadline
        # Metadata on each call rather than call credentials, which grpc
        # refuses on plaintext channels: one way for both, as the C++ client.
        self._metadata = (("authorization", f"Bearer {token}"),) if token else ()

    def close(self):
        self.channel.close()

    def _call(self, method, request, wait=0.0):
        return method(request, timeout=self.deadline + wait, metadata=self._metadata)

    def claim(self, worker_id, lease=None, wait=0.0, request_id=""):
        """The oldest claimable cycle leased to worker_id, or None."""
        request = cycles_pb2.ClaimNextCycleRequest(worker_id=worker_id,
                                                   request_id=request_id)
        if lease:
            request.lease_duration.CopyFrom(_duration(lease))
        if wait:
            request.wait_timeout.CopyFrom(_duration(wait))
        response = self._call(self.cycles.ClaimNextCycle, request, wait)
        return response.cycle if response.HasField("cycle") else None

    def renew(self, cycle_id, lease_token, lease=None):
        request = cycles_pb2.RenewLeaseRequest(cycle_id=cycle_id, lease_token=lease_token)
        if lease:
            request.lease_duration.CopyFrom(_duration(lease))
        return self._call(self.cycles.RenewLease, request).cycle

    def complete(self, cycle_id, lease_token, result=None):
        result = result or RebalanceResult()
        request = cycles_pb2.CompleteCycleRequest(
            cycle_id=cycle_id, lease_token=lease_token,
            rebalance_trade_id=result.rebalance_trade_id,
            total_net_profit_krw=result.total_net_profit_krw,
            total_net_profit_percent=result.total_net_profit_percent)
        return self._call(self.cycles.CompleteCycle, request).cycle

    def fail(self, cycle_id, lease_token, reason, permanent=False):
        request = cycles_pb2.FailCycleRequest(cycle_id=cycle_id, lease_token=lease_token,
                                              reason=reason, permanent=permanent)
        return self._call(self.cycles.FailCycle, request).cycle

    def release(self, cycle_id, lease_token):
        request = cycles_pb2.ReleaseCycleRequest(cycle_id=cycle_id, lease_token=lease_token)
        return self._call(self.cycles.ReleaseCycle, request).cycle

    def get(self, cycle_id):
        request = cycles_pb2.GetCycleRequest(id=cycle_id)
        return self._call(self.admin.GetCycle, request).cycle

    def create(self, initial_investment_krw="", initial_trade_id=""):
        request = cycles_pb2.CreateCycleRequest(initial_investment_krw=initial_investment_krw,
                                                initial_trade_id=initial_trade_id)
        return self._call(self.admin.CreateCycle, request).cycle


class Worker:
    """The finalizer loop: claims by long poll, runs rebalance(cycle) while a
    thread renews the lease every third of its length, completes with the
    returned RebalanceResult or fails with the exception's text, abandons a
    cycle whose lease is lost, retries transient errors with backoff (a claim
    keeps its request id), and on stop() releases a cycle it claimed but has
    not started."""

    def __init__(self, client, worker_id, rebalance, lease=300.0, wait=30.0):
        self.client = client
        self.worker_id = worker_id
        self.rebalance = rebalance
        self.lease = lease
        self.wait = wait
        self._stopping = threading.Event()
        self._next_request = 0

    def stop(self):
        self._stopping.set()

    def run(self):
        completed = 0
        while not self._stopping.is_set():
            cycle = self._claim()
            if cycle is None:
                continue
            if self._stopping.is_set():
                try:
                    self.client.release(cycle.id, cycle.lease_token)
                except grpc.RpcError:
                    pass
                break
            if self._work(cycle):
                completed += 1
        return completed

    def _claim(self):
        request_id = f"{self.worker_id}#{self._next_request}"
        self._next_request += 1
        delay = 0.1
        while not self._stopping.is_set():
            try:
                return self.client.claim(self.worker_id, lease=self.lease,
                                         wait=self.wait, request_id=request_id)
            except grpc.RpcError as error:
                if error.code() not in _TRANSIENT:
                    print(f"{self.worker_id}: claim: {error.details()}", flush=True)
                time.sleep(delay)
                delay = min(delay * 2, 10.0)
        return None

    def _work(self, cycle):
        done = threading.Event()
        lost = threading.Event()

        def renew():
            while not done.wait(self.lease / 3):
                try:
                    self.client.renew(cycle.id, cycle.lease_token, self.lease)
                except grpc.RpcError as error:
                    if error.code() == grpc.StatusCode.FAILED_PRECONDITION:
                        lost.set()
                        return

        renewer = threading.Thread(target=renew, daemon=True)
        renewer.start()
        failure = None
        result = None
        try:
            result = self.rebalance(cycle) or RebalanceResult()
        except Exception as error:  # the attempt failed: record why
            failure = str(error) or type(error).__name__
        finally:
            done.set()
            renewer.join()
        if lost.is_set():
            return False
        delay = 0.1
        retry = False
        while True:
            try:
                if failure is None:
                    self.client.complete(cycle.id, cycle.lease_token, result)
                    return True
                self.client.fail(cycle.id, cycle.lease_token, failure)
                return False
            except grpc.RpcError as error:
                if (retry and failure is None
                        and error.code() == grpc.StatusCode.FAILED_PRECONDITION):
                    # The first attempt may have gone through, its answer lost.
                    # A worker token may not ask (PERMISSION_DENIED): then
                    # count it as lost, as the C++ and Node Workers do.
                    try:
                        now = self.client.get(cycle.id)
                    except grpc.RpcError:
                        return False
                    return (now.status == cycles_pb2.CYCLE_STATUS_COMPLETED
                            and now.lease_token == cycle.lease_token)
                if error.code() not in _TRANSIENT:
                    return False
                time.sleep(delay)
                delay = min(delay * 2, 10.0)
                retry = True
