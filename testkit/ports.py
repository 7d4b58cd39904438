"""Loopback ports: a free one to start a server on, and waiting until the server listens there."""

from __future__ import annotations

from energy_expo.embedded_broker import free_port, listening, wait_listening

__all__ = ["free_port", "listening", "wait_for_port"]


def wait_for_port(port: int, timeout_s: float = 10.0) -> None:
    """Until something accepts connections on 127.0.0.1:``port``: the moment a server we started is ready."""
    if not wait_listening(port, timeout_s):
        raise TimeoutError(f"nothing listening on 127.0.0.1:{port} after {timeout_s}s")
