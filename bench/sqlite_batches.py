"""The SQLite store's cost per batch as its tables grow: does it level off, and when?

The city on SQLite showed a lag that crept up for as long as it was measured (25 minutes;
docs/performance.md). A batch of the city holds one reading of every meter, and the raw table and
the minute rollups are keyed (series, instant), so each batch writes one leaf page per series and
table as soon as a series' rows no longer share a page with their neighbours'. If that is the cause,
the cost of a batch grows while the rows per series grow towards a page, then stays: a warm-up, not
a leak. This measures it: one reading of each of ``--meters`` meters (two metrics each) per data
minute, written through ``SQLiteStore.write`` as ingest writes, for ``--hours`` data hours, printing
each window's mean batch time and the bytes the process handed to write() per batch (the WAL's frames
and the checkpoints' copies, in 4 KB pages), each beside the first window's (the baseline, same run).

    .venv/bin/python bench/sqlite_batches.py --meters 4000 --hours 6
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from expo.reading import Reading  # noqa: E402
from expo.store import Batch, open_store  # noqa: E402

PAGE = 4096


def written_bytes() -> int:
    """What this process has passed to write() so far (Linux /proc/self/io ``wchar``)."""
    for line in Path("/proc/self/io").read_text().splitlines():
        if line.startswith("wchar:"):
            return int(line.split()[1])
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--meters", type=int, default=4000)
    parser.add_argument("--hours", type=float, default=6.0, help="data hours to write (default 6)")
    parser.add_argument("--step-s", type=int, default=60, help="data seconds between a meter's readings")
    parser.add_argument("--window-min", type=int, default=30, help="data minutes a printed row sums up")
    args = parser.parse_args()

    folder = Path(tempfile.mkdtemp(prefix="sqlite-batches-"))
    path = folder / "expo.db"
    store = open_store(f"sqlite:///{path}")
    rng = random.Random(1)
    start = (int(time.time()) // 3600 - 48) * 3600
    steps = int(args.hours * 3600 // args.step_s)
    per_window = max(1, args.window_min * 60 // args.step_s)
    print(f"sqlite batches: {args.meters:,} meters x 2 metrics, one reading each every {args.step_s} s, "
          f"{args.hours:g} data hours; {os.cpu_count()} cores, Python {sys.version.split()[0]}; "
          f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}")
    print(f"{'data min':>9} {'batch ms':>9} {'ratio':>6} {'pages out':>10} {'ratio':>6} {'db MB':>7}")
    base = None
    times, pages = [], []
    try:
        for step in range(steps):
            ts = start + step * args.step_s
            batch = Batch(readings=[Reading("city", f"m{i:05d}", ts, {"power_w": rng.uniform(0, 5e3),
                                                                     "energy_wh": 1e3 * step + i})
                                    for i in range(args.meters)])
            before = written_bytes()
            began = time.perf_counter()
            store.write(batch)
            times.append(time.perf_counter() - began)
            pages.append((written_bytes() - before) / PAGE)
            if (step + 1) % per_window == 0:
                ms, wp = 1000 * sum(times) / len(times), sum(pages) / len(pages)
                base = base or (ms, wp)
                size = path.stat().st_size / 1e6
                print(f"{(step + 1) * args.step_s // 60:>9} {ms:>9.1f} {ms / base[0]:>6.2f} {wp:>10.0f} "
                      f"{wp / base[1]:>6.2f} {size:>7.0f}", flush=True)
                times, pages = [], []
    finally:
        store.close()
        for f in folder.iterdir():
            f.unlink()
        folder.rmdir()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
