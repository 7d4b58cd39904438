"""Which points of a write the server refused for good, found by writing halves again.

InfluxDB 1.x keeps the valid points of a partial write but often does not say
which it dropped ("points beyond retention policy dropped=2"), and some
refusals (a field-type conflict inside one batch) drop the whole request.
Writes are idempotent (a point is keyed by series and instant), so writing a
refused request's halves again, down to single points, stores everything
storable and isolates exactly what is not, whatever the server's wording.
When the server says it dropped every point of a request, there is nothing to
split: a batch replayed from beyond the retention costs one request.
"""

from __future__ import annotations

import re
from typing import Callable

_DROPPED = re.compile(r"dropped=(\d+)")


def write_isolating(write: Callable[[list[str]], str | None], lines: list[str]) -> list[tuple[int, str]]:
    """Write ``lines``; ``(index, server's message)`` of each line refused for good, in order.

    ``write(lines)`` returns None when all were stored, else the server's refusal; it raises when the
    server cannot take anything now, and then nothing here is decided (the caller retries the lot).
    """
    refused: list[tuple[int, str]] = []
    pending = [(0, len(lines))] if lines else []
    while pending:
        start, end = pending.pop()
        message = write(lines[start:end])
        if message is None:
            continue
        dropped = _DROPPED.search(message)
        if end - start == 1 or (dropped and int(dropped.group(1)) == end - start):
            refused.extend((i, message) for i in range(start, end))
            continue
        middle = (start + end) // 2
        pending += [(middle, end), (start, middle)]  # the first half next: refusals come out in order
    return sorted(refused)
