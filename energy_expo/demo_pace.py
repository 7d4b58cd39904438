"""How fast ``up``'s simulated town runs: the demo speed asked for, within what one machine carries.

Why: at up's 60x the bundled `large` scenario (10,197 meters, each reading every
10 s) makes 61,000 readings a second. One simulator process published a tenth
of them here and dropped the rest; ingest and the store could not have kept up
with all of it anyway (docs/performance.md, "The city end to end"). A visitor
sees a meter change at most once a second, so ``up`` first lengthens the
simulated step, up to a minute (the rollups' resolution, and half of the time
after which the dashboard calls a meter stale), and only then slows the demo,
saying so. A speed given explicitly is kept: the step still lengthens, and a
rate beyond the budget is warned about rather than refused.
"""

from __future__ import annotations

from dataclasses import dataclass

STEP_S = 10  # the simulator's own step
STEPS_S = (10, 15, 20, 30, 60)  # whole divisions of a minute: every step lands on the rollups' buckets
# Rounded down to one of these, so the town's clock is easy to read: 60x, 30x, ...
SPEEDS = (1, 2, 3, 4, 5, 6, 8, 10, 12, 15, 20, 25, 30, 40, 50, 60, 120, 300, 600)


@dataclass(frozen=True)
class Pace:
    speed: float
    step_s: int
    readings_per_s: float
    note: str | None = None  # what up tells its user about the choice, if anything changed


def rate(meters: int, speed: float, step_s: int) -> float:
    return meters * speed / step_s


def choose(meters: int, speed: float, speed_given: bool, max_readings_per_s: float) -> Pace:
    """The step and speed for ``meters`` at the ``speed`` asked for (``speed_given``: by the user, not the
    default), keeping ``rate`` within ``max_readings_per_s`` where it can."""
    step_s = next((s for s in STEPS_S if rate(meters, speed, s) <= max_readings_per_s), STEPS_S[-1])
    lengthened = f"a meter reads every {step_s} s of simulated time" if step_s != STEP_S else ""
    if rate(meters, speed, step_s) <= max_readings_per_s:
        note = (f"{meters:,} meters at {speed:g}x: {lengthened}, {rate(meters, speed, step_s):,.0f} readings/s "
                f"(max_readings_per_s {max_readings_per_s:,.0f})") if lengthened else None
        return Pace(speed, step_s, rate(meters, speed, step_s), note)
    if speed_given:
        return Pace(speed, step_s, rate(meters, speed, step_s),
                    f"{meters:,} meters at {speed:g}x make {rate(meters, speed, step_s):,.0f} readings/s even "
                    f"with a {step_s} s step, more than max_readings_per_s ({max_readings_per_s:,.0f}) that one "
                    "machine carries: expect readings to lag; a lower --demo-speed keeps up")
    fastest = max_readings_per_s * step_s / meters
    slower = max((s for s in SPEEDS if s <= fastest), default=None)
    if slower is None or slower >= speed:  # never slower than real time: the town's clock would fall behind
        slower = min(speed, 1.0)
        return Pace(slower, step_s, rate(meters, slower, step_s),
                    f"{meters:,} meters make {rate(meters, slower, step_s):,.0f} readings/s even at {slower:g}x "
                    f"with a {step_s} s step, more than max_readings_per_s ({max_readings_per_s:,.0f}) that one "
                    "machine carries: expect readings to lag, or run the town on several machines")
    return Pace(slower, step_s, rate(meters, slower, step_s),
                f"{meters:,} meters: running at {slower:g}x, not {speed:g}x, with a meter reading every {step_s} s "
                f"of simulated time: {rate(meters, slower, step_s):,.0f} readings/s, within max_readings_per_s "
                f"({max_readings_per_s:,.0f}); --demo-speed {speed:g} asks for {speed:g}x anyway")
