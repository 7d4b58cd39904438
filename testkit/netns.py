"""Test hosts on one machine: network namespaces, each joined by a veth pair to a bridge, on a subnet of their own.

Why: what crosses a network (a host cut off mid-stream and brought back)
cannot be tested on loopback, where nothing can be unplugged. Each host is a
namespace with its own loopback and one interface on a private /24 (10.x.y.0,
chosen so it overlaps no address or route the machine has); the bridge in the
root namespace holds the subnet's first address, so the test itself reaches
every host and nothing else is reachable from them. A server started in a host
binds its test-subnet address (or its own loopback), never the machine's.

Everything made carries one prefix unique to this net (namespaces, veths,
the bridge) and ``close`` removes exactly those, also after a failure; a
namespace's removal takes its veth pair with it. Needs root (CAP_NET_ADMIN)
and ``ip`` from iproute2: ``unavailable()`` says in one line why not.
"""

from __future__ import annotations

import ipaddress
import json
import os
import random
import subprocess
from dataclasses import dataclass

IP = "ip"


def _ip(*args: str, namespace: str | None = None) -> str:
    command = [IP, *(["netns", "exec", namespace, IP] if namespace else []), *args]
    done = subprocess.run(command, capture_output=True, text=True, timeout=20)
    if done.returncode != 0:
        raise NetnsError(f"{' '.join(command)}: {done.stderr.strip() or done.returncode}")
    return done.stdout


class NetnsError(RuntimeError):
    """An ``ip`` command failed: the one line it printed."""


def unavailable() -> str | None:
    """Why test hosts cannot be made here (not root, no iproute2, namespaces refused), or None if they can."""
    if os.geteuid() != 0:
        return "making network namespaces needs root (ip netns add)"
    probe = f"etp{os.getpid():x}{random.randrange(16**4):04x}"
    try:
        _ip("netns", "add", probe)
    except FileNotFoundError:
        return "iproute2's ip is not installed (Debian package 'iproute2')"
    except (NetnsError, OSError) as exc:
        return f"ip netns is not permitted here: {exc}"
    try:
        _ip("netns", "del", probe)
    except NetnsError:
        pass
    return None


@dataclass(frozen=True)
class Host:
    namespace: str
    address: str  # on the test subnet
    interface: str  # its end of the veth pair, inside the namespace

    def command(self, *args: str) -> list[str]:
        """``args`` run inside this host: ``ip netns exec`` replaces itself with the program, so the PID that
        Popen returns is the program's own and stopping it by PID works as anywhere else."""
        return [IP, "netns", "exec", self.namespace, *args]

    def cut(self) -> None:
        """Unplug the host: its interface goes down, and with it the route to every other host."""
        _ip("link", "set", self.interface, "down", namespace=self.namespace)

    def plug_in(self) -> None:
        _ip("link", "set", self.interface, "up", namespace=self.namespace)


class TestNet:
    """``with TestNet(["broker", "db", "ingest-a"]) as net: net["broker"].address``"""

    __test__ = False  # not a pytest test class, whatever its name

    def __init__(self, names: list[str]):
        self.prefix = f"et{os.getpid() % 4096:03x}{random.randrange(16**3):03x}"  # 8 characters: names fit in 15
        self.subnet = _free_subnet()
        self.gateway = str(self.subnet.network_address + 1)
        self.bridge = f"{self.prefix}br"
        self.hosts = {name: Host(f"{self.prefix}-{name}", str(self.subnet.network_address + 10 + i),
                                 f"{self.prefix}h{i}") for i, name in enumerate(names)}
        self._made_namespaces: list[str] = []
        self._made_bridge = False

    def __getitem__(self, name: str) -> Host:
        return self.hosts[name]

    def __enter__(self) -> "TestNet":
        try:
            self.open()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def open(self) -> None:
        length = self.subnet.prefixlen
        _ip("link", "add", self.bridge, "type", "bridge")
        self._made_bridge = True
        _ip("addr", "add", f"{self.gateway}/{length}", "dev", self.bridge)
        _ip("link", "set", self.bridge, "up")
        for i, host in enumerate(self.hosts.values()):
            _ip("netns", "add", host.namespace)
            self._made_namespaces.append(host.namespace)
            peer = f"{self.prefix}p{i}"
            _ip("link", "add", host.interface, "type", "veth", "peer", "name", peer)
            _ip("link", "set", host.interface, "netns", host.namespace)
            _ip("link", "set", peer, "master", self.bridge)
            _ip("link", "set", peer, "up")
            _ip("link", "set", "lo", "up", namespace=host.namespace)
            _ip("addr", "add", f"{host.address}/{length}", "dev", host.interface, namespace=host.namespace)
            _ip("link", "set", host.interface, "up", namespace=host.namespace)

    def close(self) -> None:
        """Remove what this net made, and only that; a failure to remove one thing does not keep the rest."""
        errors = []
        for namespace in reversed(self._made_namespaces):  # takes the veth pair with it
            try:
                _ip("netns", "del", namespace)
            except NetnsError as exc:
                errors.append(str(exc))
        self._made_namespaces.clear()
        if self._made_bridge:
            try:
                _ip("link", "del", self.bridge)
            except NetnsError as exc:
                errors.append(str(exc))
            self._made_bridge = False
        if errors:
            raise NetnsError("; ".join(errors))


def _free_subnet() -> ipaddress.IPv4Network:
    """A 10.x.y.0/24 that no address or route of this machine overlaps (a used one is never a target)."""
    used = []
    for kind in ("addr", "route"):
        for entry in json.loads(_ip("-j", "-4", kind) or "[]"):
            for text in [entry.get("dst")] + [a.get("local") for a in entry.get("addr_info", [])]:
                if text and text != "default":
                    try:
                        used.append(ipaddress.ip_network(text, strict=False))
                    except ValueError:
                        pass
    for _ in range(200):
        candidate = ipaddress.ip_network(f"10.{random.randrange(200, 250)}.{random.randrange(1, 255)}.0/24")
        if not any(candidate.overlaps(net) for net in used):
            return candidate
    raise NetnsError("no free 10.x.y.0/24 subnet: every one tried overlaps an address or route of this machine")
