"""Durations and instants as people type them on a command line: ``10s``, ``15m``, ``6h``, ``30d``, ``2026-07-01T12:00``."""

from __future__ import annotations

import re
import time
from datetime import datetime, timedelta, timezone

from expo.errors import UserError

_UNITS_S = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw]?)\s*$")


def parse_duration_s(text: str, what: str = "duration") -> float:
    """Seconds from ``90``, ``90s``, ``15m``, ``6h``, ``30d`` or ``2w``; must be positive."""
    match = _DURATION.match(str(text))
    if not match:
        raise UserError(f"{what} {text!r} is not a duration like 10s, 15m, 6h or 30d")
    value = float(match.group(1)) * _UNITS_S[match.group(2) or "s"]
    if value <= 0:
        raise UserError(f"{what} must be longer than zero, got {text!r}")
    return value


def parse_instant_s(text: str, utc_offset_h: float, what: str = "--start") -> float:
    """Epoch seconds from ``now``, ``today``, a date or an ISO date-time; no offset means the site's local time."""
    text = str(text).strip()
    local = timezone(timedelta(hours=utc_offset_h))
    if text == "now":
        return time.time()
    if text == "today":
        midnight = datetime.now(local).replace(hour=0, minute=0, second=0, microsecond=0)
        return midnight.timestamp()
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise UserError(f"{what} {text!r} is not a date or time like 2026-07-01 or 2026-07-01T12:00") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=local)
    return moment.timestamp()


def age_parts(age_s: float) -> tuple[str, str]:
    """An age as (figure, unit) with the unit ``s``, ``min`` or ``h``: the one rule for how ages are rounded,
    so the CLI's English and the engineer view's translations say the same figure."""
    if age_s < 120:
        return f"{age_s:.0f}", "s"
    if age_s < 7200:
        return f"{age_s / 60:.0f}", "min"
    return f"{age_s / 3600:.1f}", "h"


def format_age(age_s: float) -> str:
    """How long ago, as an engineer reads it at a glance: ``45 s ago``, ``12 min ago``, ``3.5 h ago``."""
    figure, unit = age_parts(age_s)
    return f"{figure} {unit} ago"
