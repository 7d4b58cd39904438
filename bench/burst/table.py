"""The rows of the burst benchmark and the table it prints: every rate beside its same-run baselines."""

from __future__ import annotations

from dataclasses import dataclass, field

LABELS = {"bare": "bare subscriber (counts)", "floor": "floor ingester", "naive": "naive (1 POST/msg)",
          "ingest": "energy-expo ingest", "ingest-unguarded": "energy-expo ingest, guard off",
          "node-red": "Node-RED flow"}


@dataclass
class Row:
    name: str
    sent: int
    stored: int
    seconds: float
    cpu_s: float | None = None
    influxd_cpu_s: float | None = None
    peak_rss_mb: float | None = None
    notes: list[str] = field(default_factory=list)
    publish_s: float = 0.0  # the publisher's time for the whole burst: the ceiling of every consumer
    broker_cpu_s: float | None = None  # Mosquitto's, for the whole run: held-back acks cost the broker too

    @property
    def rate(self) -> float:
        return self.stored / self.seconds if self.seconds > 0 else 0.0


def ratio(row: Row, base: Row | None) -> str:
    return f"{row.rate / base.rate:.2f}x" if base is not None and base.rate > 0 else "-"


def print_table(rows: list[Row]) -> None:
    by_name = {r.name: r for r in rows}
    bare, floor, red = by_name.get("bare"), by_name.get("floor"), by_name.get("node-red")
    print(f"  {'consumer':30} {'readings/s':>10} {'stored/sent':>15} {'/bare':>6} {'/floor':>6} {'/Node-RED':>9} "
          f"{'peak RSS':>8} {'CPU s':>6} {'influxd CPU s':>13} {'broker CPU s':>12} {'publish s':>9}")
    for r in rows:
        stored = f"{r.stored:,}/{r.sent:,}"
        rss = f"{r.peak_rss_mb:.0f} MB" if r.peak_rss_mb else "-"
        print(f"  {LABELS[r.name]:30} {r.rate:10,.0f} {stored:>15} {ratio(r, bare):>6} {ratio(r, floor):>6} "
              f"{ratio(r, red):>9} {rss:>8} {r.cpu_s or 0:6.1f} "
              f"{'-' if r.influxd_cpu_s is None else f'{r.influxd_cpu_s:.1f}':>13} "
              f"{'-' if r.broker_cpu_s is None else f'{r.broker_cpu_s:.1f}':>12} {r.publish_s:9.1f}")
    for r in rows:
        for note in r.notes:
            print(f"    {note}")
