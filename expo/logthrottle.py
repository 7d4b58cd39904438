"""One rule for saying a repeated thing: the 1st, 10th and 100th time, then every 1000th, with its count.

A flood of bad input, a full spool or a meter that misbehaves all day must show in the log without
becoming the log; the counters on the health endpoint have the exact numbers.
"""

from __future__ import annotations

from collections import Counter


class LogThrottle:
    def __init__(self, marks: tuple[int, ...] = (1, 10, 100), every: int = 1000):
        self.marks = marks
        self.every = every
        self.counts: Counter[str] = Counter()

    def count(self, key: str = "") -> int:
        """Count one occurrence of ``key``; its running number when this one should be logged, else 0."""
        self.counts[key] += 1
        n = self.counts[key]
        return n if self.due(n) else 0

    def due(self, n: int) -> bool:
        """Whether the ``n``-th occurrence is one to log, for a caller that keeps its own count."""
        return n in self.marks or n % self.every == 0
