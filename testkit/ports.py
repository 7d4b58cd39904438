"""Loopback ports: a free one to start a server on, and waiting until the server listens there.

Why not the kernel's choice (bind to port 0): a test that kills a server and starts it again on its port
leaves that port free meanwhile, and another test worker asking the kernel could be given it: the restarted
server then found its port taken ("address already in use"). So each worker takes ports from a slice of its
own below the kernel's ephemeral range (where nothing the code under test asks the kernel for can land), and
never hands the same port out twice.
"""

from __future__ import annotations

import os
import random
import socket
import time

from energy_expo.embedded_broker import listening, wait_listening

FIRST_PORT = 12_000  # below Linux's ephemeral range (32768-60999): the kernel never picks these for bind(0)
SLICE_PORTS = 2_500  # ports per test worker
_handed_out: set[int] = set()


def _worker_index() -> int:
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0")  # gw0, gw1, ...; one process: gw0
    digits = worker.removeprefix("gw")
    return int(digits) % 8 if digits.isdigit() else 0


def free_port() -> int:
    """A loopback port nobody listens on now, in this worker's slice, not handed out before in this process."""
    first = FIRST_PORT + _worker_index() * SLICE_PORTS
    candidates = [p for p in range(first, first + SLICE_PORTS) if p not in _handed_out]
    random.shuffle(candidates)
    for port in candidates:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
        _handed_out.add(port)
        return port
    raise RuntimeError(f"no free loopback port left in {first}-{first + SLICE_PORTS - 1}")

__all__ = ["free_port", "listening", "wait_for_port"]


def wait_for_port(port: int, timeout_s: float = 10.0, host: str = "127.0.0.1") -> None:
    """Until something accepts connections on ``host``:``port`` (loopback, or a test host's address in a network
    namespace, testkit.netns): the moment a server we started is ready."""
    if host == "127.0.0.1":
        ready = wait_listening(port, timeout_s)
    else:
        deadline = time.monotonic() + timeout_s
        while not (ready := listening(port, host)) and time.monotonic() < deadline:
            time.sleep(0.05)
    if not ready:
        raise TimeoutError(f"nothing listening on {host}:{port} after {timeout_s}s")
