"""What Linux's /proc says about a process: its memory, its CPU time, its children, whether it is alive.

The soak checks and the benchmarks judge processes we started by these
figures; reading them in one place keeps "resident memory" meaning the same
thing in every report.
"""

from __future__ import annotations

import os
from pathlib import Path


def _status_kb(pid: int, field: str) -> int | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(f"{field}:"):
                return int(line.split()[1])
    except (OSError, ValueError):
        return None
    return None


def rss_mb(pid: int) -> float | None:
    """Resident memory now (VmRSS), or None if the process is gone."""
    kb = _status_kb(pid, "VmRSS")
    return None if kb is None else kb / 1024


def peak_rss_mb(pid: int) -> float | None:
    """The most resident memory it has had (VmHWM), or None if the process is gone."""
    kb = _status_kb(pid, "VmHWM")
    return None if kb is None else kb / 1024


def _stat_fields(pid: int) -> list[str] | None:
    """/proc/PID/stat after the command name (which may hold spaces and parentheses): field 3 onward."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None


def cpu_s(pid: int) -> float | None:
    """User plus system CPU seconds it has used since it started."""
    fields = _stat_fields(pid)
    if fields is None:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def alive(pid: int) -> bool:
    """Running, not a zombie waiting for its parent: what "no orphans left" is checked with."""
    fields = _stat_fields(pid)
    return fields is not None and fields[0] != "Z"


def children_of(pid: int) -> set[int]:
    """The direct children of ``pid`` (of all its threads)."""
    found = set()
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            found |= {int(p) for p in (task / "children").read_text().split()}
        except OSError:
            pass
    return found


def command_of(pid: int) -> list[str]:
    """Its command line, word by word (empty if it is gone)."""
    try:
        words = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return []
    return [w.decode(errors="replace") for w in words if w]
