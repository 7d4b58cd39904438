"""Loopback ports: a free one to start a server on, and waiting until the server listens there."""

from __future__ import annotations

import time

from energy_expo.embedded_broker import free_port, listening

__all__ = ["free_port", "listening", "wait_for_port"]


def wait_for_port(port: int, timeout_s: float = 10.0) -> None:
    """Until something accepts connections on 127.0.0.1:``port``: the moment a server we started is ready."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if listening(port):
            return
        time.sleep(0.05)
    raise TimeoutError(f"nothing listening on 127.0.0.1:{port} after {timeout_s}s")
