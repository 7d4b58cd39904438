"""Formatting and statistics shared by the parts of the dashboard refresh bench: what its lines say and how."""

from __future__ import annotations

import numpy as np


def log(text: str = "") -> None:
    print(text, flush=True)


def step_name(step_s: float) -> str:
    if step_s < 60:
        return f"{step_s:g} s"
    if step_s < 3600:
        return f"{step_s / 60:g} min"
    return f"{step_s / 3600:g} h"


def span_name(seconds: float) -> str:
    days, rest = divmod(round(seconds), 86400)
    hours, rest = divmod(rest, 3600)
    minutes = rest // 60
    parts = ([f"{days} d"] if days else []) + ([f"{hours} h"] if hours or days else []) + [f"{minutes} min"]
    return " ".join(parts)


def pct(values: list[float], q: float) -> float:
    return float(np.percentile(values, q)) if values else float("nan")


def ms(seconds: float) -> str:
    return f"{seconds * 1000:7.1f}"


def breakdown(times: dict, polls_s: list[float]) -> str:
    """Where the polls' time went: each query's share and mean, and the model's own Python."""
    total = sum(polls_s)
    queried = sum(sum(v) for v in times.values())
    parts = [f"{label} {sum(v) / total:.0%} ({len(v)}x, mean {np.mean(v) * 1000:.0f} ms)"
             for label, v in sorted(times.items(), key=lambda kv: -sum(kv[1]))]
    return ", ".join(parts + [f"model's Python {(total - queried) / total:.0%}"])
