"""Why the dashboard server's memory grew, fast: each suspect switched on or off in its own process, same run.

Prints figures; it is not a test. Run from the repository root:

    .venv/bin/python bench/dashboard_memory.py --minutes 6                  # in-process, the default comparison
    .venv/bin/python bench/dashboard_memory.py --configs whole,base,nopoll,norefresh --minutes 6
    .venv/bin/python bench/dashboard_memory.py --store influxdb --configs whole,base --minutes 8
    .venv/bin/python bench/dashboard_memory.py --server --configs whole,base --step 10s --minutes 120

The parent fills one store with the town's history (``--scenario``, by default
``bench/town-2000.toml``, 2,026 meters; ``--history`` at ``--step``) and then
writes a step of every meter stamped now every ``--write-every-s``, as the
browser part of ``bench/dashboard_refresh.py`` does. Beside it runs one child
process per configuration (``--configs``); all share the store and the writes,
so their figures compare within the run.

In-process (the default), a child runs what the dashboard server runs, faster:
the model's poller thread (``--poll-s``) and the kiosk's refresh callback,
called as Dash calls it (a POST to ``/_dash-update-component`` through Flask's
test client), rotating through the scenes (a full draw every
``--rotate-every`` calls, patches between) at ``--refresh-hz``, on worker
threads as werkzeug runs requests (``--threads 0``: a new thread per call; N:
N long-lived threads, like keep-alive connections). Every ``--sample-s`` it
prints its RSS split into anonymous and file-backed (``/proc/self/status``;
SQLite's page cache is anonymous, its WAL index ``-shm`` and any mmap
file-backed), glibc's own account (``mallinfo2``: bytes in use and bytes free
inside its arenas; the number of arenas from ``malloc_info``) and pymalloc's
(``sys._debugmallocstats``: its 1 MiB arenas, and the bytes in allocated
blocks, i.e. live Python objects). Memory held while the bytes in use stay
flat is fragmentation, not a leak; which allocator holds it says where.

With ``--server``, each child is the real ``energy-expo dashboard --kiosk``
(the configuration's switches applied first), driven over HTTP as the kiosk
page drives it: a refresh a second and a scene change every ``--rotate-s`` on
one keep-alive connection; RSS read from ``/proc``. That is the run for the
issue's 30th-to-120th-minute comparison.

The configurations (join several with ``+``, e.g. ``whole+arena2``):

- ``base``: the dashboard as the product runs it now;
- ``whole``: each rollup read in one query, as before ``dashboard.model.minutes.ROWS_PER_QUERY``
  (the newest hour, re-read once a minute, is 2,026 x 60 = 121,560 rows held at once);
- ``rows50k``: ``ROWS_PER_QUERY`` = 50,000 instead of its default;
- ``nohour``: no re-read of the newest hour once a minute (the newest 5 minutes only);
- ``nopymalloc``: ``PYTHONMALLOC=malloc``: Python's small objects from glibc too;
- ``arena2``: ``MALLOC_ARENA_MAX=2`` in the child's environment;
- ``trim``: ``malloc_trim(0)`` every ``--trim-s`` seconds;
- ``cache256``: ``PRAGMA cache_size=-256`` (256 KiB) on the reader connection;
- ``mmap0``: ``PRAGMA mmap_size=0`` on the reader connection;
- ``onethread``: every refresh on the child's main thread (no worker threads);
- ``nopoll``: the poller stops after the catch-up (refreshes read a snapshot that no longer changes);
- ``norefresh``: polls only.

What it found (docs/reliability.md, "The dashboard server's memory"): pymalloc's
arenas grew while live Python objects and glibc's heap stayed flat; the
allocator and SQLite switches changed nothing; the hour re-read's 121,560 rows
at once did it, and reading at most ``ROWS_PER_QUERY`` rows a query levels it.
"""

from __future__ import annotations

import argparse
import ctypes
import json
import os
import queue
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from itertools import pairwise
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

FLAGS = {"base", "whole", "rows50k", "nohour", "nopymalloc", "arena2", "trim", "cache256", "mmap0", "onethread", "nopoll", "norefresh"}


# -- the child: one configuration ---------------------------------------------------------------------


class MallInfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in
                ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks", "fordblks",
                 "keepcost")]


def _libc():
    libc = ctypes.CDLL("libc.so.6")
    libc.mallinfo2.restype = MallInfo2
    libc.fopen.restype = ctypes.c_void_p
    libc.fopen.argtypes = [ctypes.c_char_p, ctypes.c_char_p]
    libc.fclose.argtypes = [ctypes.c_void_p]
    libc.malloc_info.argtypes = [ctypes.c_int, ctypes.c_void_p]
    return libc


def status_kb() -> dict[str, int]:
    out = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "RssAnon", "RssFile", "RssShmem", "Threads"):
            out[key] = int(value.split()[0])
    return out


def sample(libc, info_path: str) -> dict:
    s = status_kb()
    mi = libc.mallinfo2()
    fp = libc.fopen(info_path.encode(), b"w")
    libc.malloc_info(0, fp)
    libc.fclose(fp)
    arenas = len(re.findall(r'<heap nr="\d+">', Path(info_path).read_text()))
    saved = os.dup(2)  # sys._debugmallocstats writes to the C stderr
    with open(info_path + ".py", "w") as f:
        os.dup2(f.fileno(), 2)
        try:
            sys._debugmallocstats()
        finally:
            os.dup2(saved, 2)
            os.close(saved)
    found = re.search(r"# arenas allocated current\s*=\s*([\d,]+)", Path(info_path + ".py").read_text())
    py_arenas = int(found.group(1).replace(",", "")) if found else 0
    used = re.search(r"# bytes in allocated blocks\s*=\s*([\d,]+)", Path(info_path + ".py").read_text())
    py_used = int(used.group(1).replace(",", "")) if used else 0
    return {"rss_mb": s["VmRSS"] / 1024, "anon_mb": s["RssAnon"] / 1024, "file_mb": s["RssFile"] / 1024,
            "shmem_mb": s.get("RssShmem", 0) / 1024, "threads": s["Threads"], "arenas": arenas,
            "py_arenas_mb": py_arenas * 1.0,  # 1 MiB each in 3.11
            "py_used_mb": py_used / 2**20,
            "in_use_mb": (mi.uordblks + mi.hblkhd) / 2**20, "free_in_arenas_mb": mi.fordblks / 2**20}


def child(args) -> None:
    flags = set(args.config.split("+"))
    from refresh.measure import Refresh

    from dashboard import scenes as scene_plugins
    from dashboard.app import KioskSettings, create_app
    from dashboard.model import ExhibitModel, ModelSettings
    from expo.store import open_store

    apply_model_flags(flags)
    libc = _libc()
    pragmas = []
    if "cache256" in flags:
        pragmas.append("PRAGMA cache_size=-256")
    if "mmap0" in flags:
        pragmas.append("PRAGMA mmap_size=0")

    def factory():
        store = open_store(args.url)
        for p in pragmas:
            store._db.execute(p)
        return store

    model = ExhibitModel(factory, ModelSettings(poll_s=args.poll_s))
    while not model.history_complete:
        if not model.poll().store_ok:
            print(json.dumps({"error": model.snapshot.store_error}), flush=True)
            return
    if "nopoll" not in flags:
        model.start()
    app = create_app(model, KioskSettings())
    refresh = Refresh(app)
    scenes = [s.SCENE.id for s in scene_plugins.discover()]
    n_workers = 0 if "onethread" in flags else args.threads
    jobs: queue.Queue = queue.Queue()
    done: queue.Queue = queue.Queue()

    def worker():
        while True:
            job = jobs.get()
            if job is None:
                return
            done.put(job())

    workers = [threading.Thread(target=worker, daemon=True) for _ in range(n_workers)]
    for w in workers:
        w.start()

    def run(job):
        if "onethread" in flags:
            return job()
        if n_workers == 0:  # a thread per request
            box = []
            t = threading.Thread(target=lambda: box.append(job()))
            t.start()
            t.join()
            return box[0]
        jobs.put(job)
        return done.get()

    info_path = os.path.join(args.workdir, f"malloc-{os.getpid()}.xml")
    started = time.monotonic()
    end = started + args.minutes * 60
    next_sample = started
    next_trim = started + args.trim_s
    sent: dict = {}
    calls = 0
    tick = 0
    while True:
        now = time.monotonic()
        if now >= next_sample:
            row = sample(libc, info_path)
            row.update(t_min=(now - started) / 60, calls=calls, polls=model.snapshot.version)
            print(json.dumps(row), flush=True)
            next_sample += args.sample_s
        if now >= end:
            break
        if "trim" in flags and now >= next_trim:
            libc.malloc_trim(0)
            next_trim += args.trim_s
        if "norefresh" not in flags:
            scene = scenes[(calls // args.rotate_every) % len(scenes)]
            first = calls % args.rotate_every == 0
            tick += 1
            _, _, sent = run(lambda s=scene, f=first, t=tick, prev=sent: refresh(
                s, "zh", {} if f else prev, t, "scene.data" if f else "tick.n_intervals"))
            calls += 1
        time.sleep(max(0.0, 1.0 / args.refresh_hz - (time.monotonic() - now)))
    model.stop()
    for _ in workers:
        jobs.put(None)


# -- the real server: `energy-expo dashboard` in a child, with a configuration applied first -------------------


def apply_model_flags(flags: set[str]) -> None:
    from dashboard.model import minutes

    if "whole" in flags:
        minutes.ROWS_PER_QUERY = 10**12
    if "rows50k" in flags:
        minutes.ROWS_PER_QUERY = 50_000
    if "nohour" in flags:
        minutes.HOUR_EVERY_S = float("inf")


def serve(args, rest: list[str]) -> None:
    """The dashboard command itself, as a kiosk runs it, after the configuration's switches."""
    apply_model_flags(set(args.config.split("+")))
    from energy_expo.cli import main as cli

    sys.exit(cli(["dashboard", *rest]))


class Kiosk:
    """What the kiosk page asks of the server: the refresh callback each second, a scene change every
    ``rotate_s``, over one keep-alive connection as the browser holds it (werkzeug: a thread per connection)."""

    def __init__(self, port: int):
        import http.client

        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        deps = self._ask("GET", "/_dash-dependencies")
        self.key = next(d["output"] for d in deps if d["output"].startswith("..beat.data"))
        self.outputs = [{"id": part.rsplit(".", 1)[0], "property": part.rsplit(".", 1)[1]}
                        for part in self.key.strip(".").split("...")]
        self.scenes = None
        self.sent: dict = {}
        self.tick = 0

    def _ask(self, method: str, path: str, body: dict | None = None):
        data = None if body is None else json.dumps(body).encode()
        self.conn.request(method, path, body=data, headers={"Content-Type": "application/json"} if data else {})
        response = self.conn.getresponse()
        payload = response.read()
        if response.status != 200:
            raise RuntimeError(f"{path} answered {response.status}: {payload[:300]!r}")
        return json.loads(payload)

    def refresh(self, scene: str, changed: str) -> None:
        self.tick += 1
        body = {"output": self.key, "outputs": self.outputs, "inputs": [
            {"id": "tick", "property": "n_intervals", "value": self.tick},
            {"id": "scene", "property": "data", "value": scene},
            {"id": "lang", "property": "data", "value": "zh"},
            {"id": "bigdata-focus", "property": "data", "value": None}],
            "state": [{"id": "sent", "property": "data", "value": self.sent}], "changedPropIds": [changed]}
        self.sent = self._ask("POST", "/_dash-update-component", body)["response"]["sent"]["data"]


def drive_servers(servers, minutes: float, rotate_s: float, sample_s: float, bench, write_every_s: float, log):
    """The writes, each server's kiosk, and each server's RSS (anonymous and file-backed) from /proc."""
    from dashboard import scenes as scene_plugins
    from testkit.ports import wait_for_port

    scenes = [m.SCENE.id for m in scene_plugins.discover()]
    rows: dict[str, list[dict]] = {name: [] for name, _, _ in servers}
    stop = threading.Event()
    errors: list[str] = []

    def writer():
        while not stop.is_set():
            started = time.monotonic()
            try:
                bench.write_now()
            except Exception as exc:  # noqa: BLE001 - a bench keeps going, and says so
                errors.append(f"writer: {exc}")
            stop.wait(max(0.0, write_every_s - (time.monotonic() - started)))

    def kiosk(name, port):
        k = Kiosk(port)
        n, changed_at, scene = 0, time.monotonic(), scenes[0]
        k.refresh(scene, "scene.data")
        while not stop.is_set():
            started = time.monotonic()
            try:
                if started - changed_at >= rotate_s:
                    n, changed_at = n + 1, started
                    scene = scenes[n % len(scenes)]
                    k.refresh(scene, "scene.data")
                else:
                    k.refresh(scene, "tick.n_intervals")
            except Exception as exc:  # noqa: BLE001
                errors.append(f"{name}: {exc}")
                stop.wait(1.0)
            stop.wait(max(0.0, 1.0 - (time.monotonic() - started)))

    threading.Thread(target=writer, daemon=True).start()
    for name, port, _ in servers:
        wait_for_port(port, 60)
        threading.Thread(target=kiosk, args=(name, port), daemon=True).start()
    started = time.monotonic()
    try:
        while True:
            t_min = (time.monotonic() - started) / 60
            for name, _, process in servers:
                s = {}
                for line in Path(f"/proc/{process.pid}/status").read_text().splitlines():
                    key, _, value = line.partition(":")
                    if key in ("VmRSS", "RssAnon", "RssFile", "Threads"):
                        s[key] = int(value.split()[0])
                row = {"t_min": t_min, "rss_mb": s["VmRSS"] / 1024, "anon_mb": s["RssAnon"] / 1024,
                       "file_mb": s["RssFile"] / 1024, "threads": s["Threads"]}
                rows[name].append(row)
                log(f"  {t_min:6.1f} min  {name:22s} RSS {row['rss_mb']:6.1f} MB (anon {row['anon_mb']:6.1f}, "
                    f"file {row['file_mb']:5.1f})  threads {row['threads']}")
            for e in errors[:3]:
                log(f"    {e[:200]}")
            errors.clear()
            if t_min >= minutes:
                break
            time.sleep(sample_s)
    finally:
        stop.set()
    return rows


def summarise_server(name: str, rows: list[dict], marks: list[float]) -> str:
    def at(m):
        return min(rows, key=lambda r: abs(r["t_min"] - m))

    parts = []
    for a, b in pairwise(marks):
        ra, rb = at(a), at(b)
        parts.append(f"{ra['rss_mb']:.1f}->{rb['rss_mb']:.1f} MB {(rb['rss_mb'] - ra['rss_mb']) / ra['rss_mb']:+.1%} "
                     f"(min {ra['t_min']:.0f}->{rb['t_min']:.0f})")
    return f"  {name:22s} " + "; ".join(parts)


# -- the parent: the store, the writes, the children, the figures ----------------------------------------


def summarise(name: str, rows: list[dict], warmup_min: float) -> str:
    import numpy as np

    after = [r for r in rows if r["t_min"] >= warmup_min] or rows
    a, b = after[0], after[-1]
    t = [r["t_min"] for r in after]
    slope = float(np.polyfit(t, [r["rss_mb"] for r in after], 1)[0]) * 60 if len(after) > 2 else float("nan")
    growth = (b["rss_mb"] - a["rss_mb"]) / a["rss_mb"]
    return (f"  {name:22s} {a['rss_mb']:7.1f} {b['rss_mb']:7.1f} {growth:+7.1%} {slope:+8.1f}   "
            f"{b['anon_mb'] - a['anon_mb']:+6.1f} {b['file_mb'] - a['file_mb']:+6.1f}   "
            f"{a['in_use_mb']:6.1f}->{b['in_use_mb']:6.1f} {a['free_in_arenas_mb']:6.1f}->{b['free_in_arenas_mb']:6.1f}"
            f" {a['py_arenas_mb']:4.0f}->{b['py_arenas_mb']:4.0f} ({a['py_used_mb']:4.1f}->{b['py_used_mb']:4.1f})  {b['arenas']:3d} {b['threads']:3d}  {b['calls']:7d} {b['polls']:6d}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--configs", default="whole,base,whole+arena2,whole+trim",
                        help="comma-separated configurations, each one child process (see above)")
    parser.add_argument("--store", default="sqlite", choices=["sqlite", "influxdb"])
    parser.add_argument("--scenario", default=str(ROOT / "bench" / "town-2000.toml"))
    parser.add_argument("--history", default="1h", help="history filled before the run (default 1h)")
    parser.add_argument("--step", default="60s", help="its step, and the live writes' (default 60s)")
    parser.add_argument("--minutes", type=float, default=10.0, help="how long the children run (default 10)")
    parser.add_argument("--warmup-minutes", type=float, default=2.0, help="growth is counted after this (default 2)")
    parser.add_argument("--write-every-s", type=float, default=1.0, help="a step of every meter this often (default 1)")
    parser.add_argument("--poll-s", type=float, default=0.5, help="the children's poll interval (default 0.5)")
    parser.add_argument("--refresh-hz", type=float, default=5.0, help="refresh calls a second per child (default 5)")
    parser.add_argument("--rotate-every", type=int, default=4, help="a scene change (full draw) every N calls")
    parser.add_argument("--threads", type=int, default=0,
                        help="worker threads for the refresh calls (default 0: a new thread per call)")
    parser.add_argument("--trim-s", type=float, default=60.0, help="the trim configuration's interval (default 60)")
    parser.add_argument("--sample-s", type=float, default=15.0, help="how often each child samples (default 15)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--server", action="store_true",
                        help="run the real server (`energy-expo dashboard`) per configuration, driven over HTTP as a "
                             "kiosk drives it (a refresh a second, a scene change every --rotate-s), RSS from /proc")
    parser.add_argument("--rotate-s", type=float, default=2.0, help="--server: the kiosk's rotation (default 2)")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--config", help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--workdir", help=argparse.SUPPRESS)
    args, rest = parser.parse_known_args()
    if args.serve:
        serve(args, [r for r in rest if r != "--"])
        return
    if rest:
        parser.error(f"unrecognised arguments: {' '.join(rest)}")
    if args.child:
        child(args)
        return

    from refresh.figures import log
    from refresh.fill import BenchStore

    from expo.timeutil import parse_duration_s
    from simulators import scenario as scenarios
    from simulators.site import build_site
    from testkit.servers import InfluxDB

    configs = [c.strip() for c in args.configs.split(",") if c.strip()]
    for c in configs:
        if set(c.split("+")) - FLAGS:
            parser.error(f"unknown configuration {c!r}; known: {', '.join(sorted(FLAGS))}")
    step_s = parse_duration_s(args.step, "--step")
    history_s = parse_duration_s(args.history, "--history")
    scenario = scenarios.load(args.scenario)
    meters = build_site(scenario, args.seed).count
    log(f"dashboard memory bench: {meters:,} meters ({Path(args.scenario).name}), {args.store}, history "
        f"{args.history} at {args.step}, a step of every meter every {args.write_every_s:g} s; children: "
        f"{', '.join(configs)}; "
        + (f"real servers (poll every 1 s), a kiosk each: a refresh a second, a scene change every {args.rotate_s:g} s; "
           if args.server else f"in-process: poll every {args.poll_s:g} s, {args.refresh_hz:g} refreshes/s, threads "
           f"{args.threads or 'one per call'}; ")
        + f"{args.minutes:g} min; {os.cpu_count()} cores, load "
        f"{os.getloadavg()[0]:.2f}; {datetime.now(UTC).strftime('%Y-%m-%d %H:%M UTC')}")
    workdir = Path(tempfile.mkdtemp(prefix="dashboard-memory-"))
    influx = None
    children = []
    try:
        if args.store == "sqlite":
            url = f"sqlite:///{workdir / 'expo.db'}"
        else:
            (workdir / "influx").mkdir()
            influx = InfluxDB(workdir / "influx").start()
            url = influx.url("expo")
        bench = BenchStore(args.store, url, scenario, args.seed, step_s, workdir, influx)
        anchor = int(time.time() // step_s * step_s)
        seg = bench.fill_segment(args.history, anchor - history_s, anchor, step_s)
        log(f"  filled {seg.readings:,} readings in {seg.seconds:.0f} s")
        bench.catch_up()
        bench.start_live()
        if args.server:
            run_servers(args, configs, url, bench, workdir, children, log)
            return
        rows: dict[str, list[dict]] = {c: [] for c in configs}
        env_base = {k: v for k, v in os.environ.items() if k != "MALLOC_ARENA_MAX"}
        for c in configs:
            env = dict(env_base)
            if "arena2" in c.split("+"):
                env["MALLOC_ARENA_MAX"] = "2"
            if "nopymalloc" in c.split("+"):
                env["PYTHONMALLOC"] = "malloc"
            cmd = [sys.executable, __file__, "--child", "--config", c, "--url", url, "--workdir", str(workdir)]
            for name in ("minutes", "poll_s", "refresh_hz", "rotate_every", "threads", "trim_s", "sample_s"):
                cmd += [f"--{name.replace('_', '-')}", str(getattr(args, name))]
            p = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True)
            children.append((c, p))

            def reader(c=c, p=p):
                for line in p.stdout:
                    row = json.loads(line)
                    if "error" in row:
                        log(f"  {c}: {row['error']}")
                        continue
                    rows[c].append(row)
                    log(f"  {row['t_min']:5.1f} min  {c:22s} RSS {row['rss_mb']:6.1f} MB (anon {row['anon_mb']:6.1f}, "
                        f"file {row['file_mb']:5.1f})  pymalloc {row['py_arenas_mb']:5.1f} (used {row['py_used_mb']:5.1f})  malloc in use {row['in_use_mb']:5.1f}  free in arenas "
                        f"{row['free_in_arenas_mb']:5.1f}  arenas {row['arenas']:2d}  threads {row['threads']}")

            threading.Thread(target=reader, daemon=True).start()
        writes = 0
        while any(p.poll() is None for _, p in children):
            started = time.monotonic()
            bench.write_now()
            writes += 1
            time.sleep(max(0.0, args.write_every_s - (time.monotonic() - started)))
        time.sleep(0.5)
        log(f"\n{writes:,} writes of every meter; growth from minute {args.warmup_minutes:g} to the end:")
        log(f"  {'configuration':22s} {'RSS MB':>7s} {'end':>7s} {'growth':>7s} {'MB/h':>8s}   "
            f"{'anon':>6s} {'file':>6s}   {'in use MB':>14s} {'free in arenas':>14s}  {'pymalloc MB (used)':>24s} ar. thr.    calls  polls")
        for c in configs:
            if rows[c]:
                log(summarise(c, rows[c], args.warmup_minutes))
        bench.close()
    finally:
        for _, p in children:
            if p.poll() is None:
                p.terminate()
                p.wait(10)
        if influx is not None:
            influx.stop()
        shutil.rmtree(workdir, ignore_errors=True)


def run_servers(args, configs, url, bench, workdir, children, log) -> None:
    from testkit.ports import free_port

    servers = []
    for c in configs:
        env = {k: v for k, v in os.environ.items() if k != "MALLOC_ARENA_MAX"}
        if "arena2" in c.split("+"):
            env["MALLOC_ARENA_MAX"] = "2"
        if "nopymalloc" in c.split("+"):
            env["PYTHONMALLOC"] = "malloc"
        port = free_port()
        cmd = [sys.executable, __file__, "--serve", "--config", c, "--", "--store", url, "--port", str(port),
               "--kiosk", "--rotate-s", str(args.rotate_s)]
        with open(workdir / f"server-{c}.log", "ab") as err:
            p = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=err)
        children.append((c, p))
        servers.append((c, port, p))
    rows = drive_servers(servers, args.minutes, args.rotate_s, args.sample_s, bench, args.write_every_s, log)
    marks = [m for m in (args.warmup_minutes, 30, 60, 90, 120) if m <= args.minutes] + [args.minutes]
    log(f"\nRSS between minutes {', '.join(f'{m:g}' for m in marks)}:")
    for c in configs:
        log(summarise_server(c, rows[c], sorted(set(marks))))
    for c, _, _ in servers:
        text = (workdir / f"server-{c}.log").read_text()
        tracebacks = text.count("Traceback")
        if tracebacks:
            log(f"  {c}: {tracebacks} tracebacks in its log; the last lines:\n{text[-1500:]}")


if __name__ == "__main__":
    main()
