"""Child processes of ``energy-expo up``: started so they cannot outlive it, stopped in order.

Each child runs in its own session, so the terminal's Ctrl-C reaches ``up``
alone and ``up`` decides the order of shutdown (the simulator first, so its
queue drains into a broker that is still there; the broker last). On Linux
each child also asks the kernel for SIGTERM if ``up`` dies without cleaning
up (``PR_SET_PDEATHSIG``), so even a ``kill -9`` of ``up`` leaves no orphans.
"""

from __future__ import annotations

import ctypes
import logging
import os
import signal
import subprocess
import sys
from pathlib import Path

log = logging.getLogger("expo.up")
PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:  # runs in the child between fork and exec
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    except (OSError, AttributeError):  # not Linux: Ctrl-C and SIGTERM still stop every child in order
        pass


class Child:
    """One named child process; ``start()``, ``alive``, ``stop(signal, timeout)``; its log goes to a file."""

    def __init__(self, name: str, args: list[str], log_dir: Path, env: dict | None = None):
        self.name = name
        self.args = args
        self.log_path = log_dir / f"{name}.log"
        self.env = env
        self.process: subprocess.Popen | None = None
        self.restarts = 0

    def start(self) -> "Child":
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log_path, "ab") as out:
            self.process = subprocess.Popen(
                self.args, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
                preexec_fn=_die_with_parent if sys.platform.startswith("linux") else None,
                env=self.env,
            )
        log.debug("started %s (pid %d): %s", self.name, self.process.pid, " ".join(self.args))
        return self

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process else None

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def tail(self, lines: int = 5) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def stop(self, sig: int = signal.SIGTERM, timeout_s: float = 20.0) -> int | None:
        """Signal it and wait; SIGKILL if it does not stop in time. Returns its exit code."""
        if self.process is None:
            return None
        code = stop_process(self.process, sig, timeout_s, self.name)
        self.process = None
        return code


def stop_process(process: subprocess.Popen, sig: int = signal.SIGTERM, timeout_s: float = 20.0,
                 name: str = "") -> int:
    """Signal one process we started and wait for it; SIGKILL if it does not stop in time.

    The one place a stop escalates, so that every caller (``up``'s children, the test servers, the
    benchmarks) waits the same way and none can leave a process behind. Returns its exit code.
    """
    if process.poll() is None:
        process.send_signal(sig)
        try:
            process.wait(timeout_s)
        except subprocess.TimeoutExpired:
            log.warning("%s did not stop within %.0f s; killing it", name or f"pid {process.pid}", timeout_s)
            process.kill()
            process.wait()
    return process.returncode


def energy_expo_args(*args: str) -> list[str]:
    """The command line of another ``energy-expo`` subcommand, with this interpreter."""
    return [sys.executable, "-m", "energy_expo.cli", *args]


def child_env() -> dict:
    env = dict(os.environ)
    env.setdefault("PYTHONUNBUFFERED", "1")
    return env
