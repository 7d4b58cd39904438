"""Loopback ports: a free one to start a server on, and waiting until the server listens there."""

from __future__ import annotations

import time

from energy_expo.embedded_broker import free_port, listening, wait_listening

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
