"""Energy counters that behave: continued across meter resets, and derived where a meter has none.

A real counter drops to zero when a meter is replaced or loses power. Stored
as is, the series would show a huge negative step, and every "energy today"
built on it would be wrong. Here a reading whose counter is below the last
one by more than ``RESET_FRACTION`` of it is a reset: an offset carries the
series on from where it was. A smaller drop is not a reset but a meter
misbehaving, and is refused so an engineer sees it.

Meters that report only power (a plug with no energy register, a value-per-
topic ``power``) get an ``energy_wh`` integrated here, left-rectangle, so the
dashboard can treat every consuming device alike. Gaps longer than
``MAX_INTEGRATION_GAP_S`` are not bridged: nobody knows what flowed while the
meter was silent.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from expo.kinds import ENERGY_COUNTERS, KINDS, Flow
from expo.reading import Reading

RESET_FRACTION = 0.5  # a drop to below half of the last value is a reset, not a glitch
NOISE_WH = 0.01  # counters printed with a few decimals may wobble by a rounding step
MAX_INTEGRATION_GAP_S = 900.0


class CounterBackwards(ValueError):
    def __init__(self, metric: str, last: float, value: float):
        super().__init__(f"{metric} went backwards from {last:g} to {value:g} Wh without a reset")
        self.metric = metric


@dataclass
class _Counter:
    last_raw: float
    last_ts_s: float
    offset: float = 0.0


@dataclass
class _Derived:
    last_ts_s: float
    last_power_w: float
    energy_wh: float


@dataclass
class CounterState:
    """Per-series memory of counters; ``export``/``restore`` keep it across restarts."""

    counters: dict[tuple[str, str, str], _Counter] = field(default_factory=dict)
    derived: dict[tuple[str, str], _Derived] = field(default_factory=dict)
    metered: set[tuple[str, str]] = field(default_factory=set)  # devices that send counters of their own
    resets: int = 0

    def apply(self, reading: Reading, kind: str | None = None) -> Reading:
        """The reading as it should be stored: continued counters, and a derived ``energy_wh`` if needed.

        Energy is derived only for a device that has never sent a counter of its own (a meter that sends
        power and energy on separate topics has one) and whose kind flows one way.
        """
        metrics = dict(reading.metrics)
        for metric in ENERGY_COUNTERS:
            if metric in metrics:
                metrics[metric] = self._continue(reading, metric, metrics[metric])
                self.metered.add((reading.site, reading.device))
        one_way = kind not in KINDS or KINDS[kind].flow in (Flow.CONSUMES, Flow.PRODUCES)
        if "power_w" in metrics and one_way and (reading.site, reading.device) not in self.metered:
            derived = self._derive(reading, metrics["power_w"])
            if derived is not None:
                metrics["energy_wh"] = derived
        return Reading(reading.site, reading.device, reading.ts_s, metrics, reading.seq)

    def _continue(self, reading: Reading, metric: str, raw: float) -> float:
        key = (reading.site, reading.device, metric)
        state = self.counters.get(key)
        if state is None:
            self.counters[key] = _Counter(raw, reading.ts_s)
            return raw
        if reading.ts_s < state.last_ts_s:
            return raw + state.offset  # a late reading: its value, on the offset of today
        if raw < state.last_raw:
            if raw < state.last_raw * RESET_FRACTION and state.last_raw - raw > NOISE_WH:
                state.offset += state.last_raw  # the meter restarted from zero and has counted `raw` since
                self.resets += 1
            elif state.last_raw - raw <= NOISE_WH:
                state.last_ts_s = reading.ts_s  # rounding wobble: the counter has not moved
                return state.last_raw + state.offset
            else:
                raise CounterBackwards(metric, state.last_raw + state.offset, raw + state.offset)
        state.last_raw, state.last_ts_s = raw, reading.ts_s
        return raw + state.offset

    def _derive(self, reading: Reading, power_w: float) -> float | None:
        key = (reading.site, reading.device)
        state = self.derived.get(key)
        if state is None:
            self.derived[key] = _Derived(reading.ts_s, power_w, 0.0)
            return 0.0
        gap_s = reading.ts_s - state.last_ts_s
        if gap_s <= 0:
            return None  # a repeat or a late reading: no energy to add, and no counter to send
        if gap_s <= MAX_INTEGRATION_GAP_S:
            state.energy_wh += max(state.last_power_w, 0.0) * gap_s / 3600.0
        state.last_ts_s, state.last_power_w = reading.ts_s, power_w
        return state.energy_wh

    def export(self) -> dict:
        return {
            "counters": [[*k, v.last_raw, v.last_ts_s, v.offset] for k, v in self.counters.items()],
            "derived": [[*k, v.last_ts_s, v.last_power_w, v.energy_wh] for k, v in self.derived.items()],
        }

    @classmethod
    def restore(cls, data: dict) -> "CounterState":
        state = cls()
        for site, device, metric, raw, ts_s, offset in data.get("counters", []):
            state.counters[(site, device, metric)] = _Counter(raw, ts_s, offset)
            state.metered.add((site, device))
        for site, device, ts_s, power_w, energy_wh in data.get("derived", []):
            state.derived[(site, device)] = _Derived(ts_s, power_w, energy_wh)
        return state
