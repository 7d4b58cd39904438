"""Running ``energy-expo`` the way a user does: a separate process, its exit code, its stdout and stderr."""

from __future__ import annotations

import subprocess
import sys


def energy_expo(*args: str, timeout: float = 120, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "energy_expo.cli", *args], capture_output=True, text=True, timeout=timeout, **kwargs
    )


def start_energy_expo(*args: str, **kwargs) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "energy_expo.cli", *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kwargs
    )
