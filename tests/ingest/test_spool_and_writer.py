"""The spool keeps order and its bound; the writer spools while the store is down and replays in order."""

import pytest

from expo.reading import Reading
from expo.store import Batch, DeviceState, Rejected, StoreBusy, StoreUnavailable
from expo.metadata import DeviceMeta
from expo.places import BuildingMeta, SiteMeta
from ingest.spool import Spool, SpoolFull, decode_batch, encode_batch
from ingest.writer import RETRY_MIN_S, Writer


def batch(i: int) -> Batch:
    return Batch(readings=[Reading("binhai", "home-001", float(i), {"power_w": float(i)}, i)])


def test_batches_survive_encoding_exactly():
    original = Batch(
        readings=[Reading("binhai", "home-001", 1.5, {"power_w": 2.0, "energy_wh": 3.25}, 7)],
        metas=[DeviceMeta("binhai", "home-001", "household", "Home 1", "住户 1", 1.0, 2.0, 3.0, "feeder-01")],
        rejected=[Rejected(9.0, "expo/binhai/x/reading", "malformed", "not JSON", b"\xff\x00{")],
        health={"received": 3.0},
        sites=[SiteMeta("eco", "eco_city", "Eco-City", "生态城", 1.0, 2.0, ((0.0, 0.0), (1.0, 0.0), (1.0, 1.5)),
                        "Asia/Shanghai", "Binhai", "滨海")],
        buildings=[BuildingMeta("eco", "zeb", "office", "ZEB", "零能耗建筑", "zero_energy", 3.0, 4.0)],
        health_from="ingest-a", states=[DeviceState("binhai", "plug-7", "offline", 1795579200.5)],
    )
    assert decode_batch(encode_batch(original)) == original


def test_a_batch_spooled_before_descriptions_existed_still_replays():
    """A spool written by the previous version has no "sites" or "buildings" in its batches."""
    old = b'{"readings":[["binhai","home-001",1.5,{"power_w":2.0},7]],"metas":[],"rejected":[],"health":{}}'
    assert decode_batch(old) == Batch(readings=[Reading("binhai", "home-001", 1.5, {"power_w": 2.0}, 7)])


def test_spool_is_fifo_durable_and_bounded(tmp_path):
    spool = Spool(tmp_path / "spool.db", max_bytes=2000)
    pushed = 0
    with pytest.raises(SpoolFull):
        for i in range(100):
            spool.push(batch(i))
            pushed += 1
    assert 0 < pushed < 100 and spool.size_bytes <= 2000
    spool.close()
    reopened = Spool(tmp_path / "spool.db", max_bytes=2000)  # survives a restart
    assert reopened.batches == pushed
    seen = []
    while (head := reopened.peek()) is not None:
        seen.append(head[1].readings[0].seq)
        reopened.remove(head[0])
    assert seen == list(range(pushed))
    assert reopened.size_bytes == 0 and reopened.readings == 0


class FlakyStore:
    """Stands in for a store that goes down and comes back; the real stores are tested elsewhere."""

    def __init__(self):
        self.up = True
        self.written: list[int] = []

    def write(self, b: Batch) -> None:
        if not self.up:
            raise StoreUnavailable("down for the test")
        self.written.extend(r.seq for r in b.readings)


def test_writer_spools_while_the_store_is_down_and_replays_in_order(tmp_path):
    store = FlakyStore()
    clock = [0.0]
    writer = Writer(store, Spool(tmp_path / "spool.db"), clock=lambda: clock[0], sleep=lambda s: None)
    writer.deliver(batch(0))
    store.up = False
    for i in range(1, 6):
        writer.deliver(batch(i))
    assert store.written == [0] and writer.spool.batches == 5 and writer.store_down
    store.up = True
    writer.deliver(batch(6))  # not yet time to retry: joins the end of the spool, keeping order
    clock[0] += 60
    writer.deliver(batch(7))
    assert store.written == list(range(8))
    assert writer.spool.batches == 0 and not writer.store_down
    assert writer.stats.batches_replayed == 6


def test_once_the_store_is_back_nothing_waits_out_the_old_backoff(tmp_path):
    """A full spool's forced replay finds the store back: the next batches go to it at once, not to the
    spool until a retry planned during the outage (up to 30 s away) comes due."""
    store = FlakyStore()
    store.up = False
    clock = [0.0]
    writer = Writer(store, Spool(tmp_path / "spool.db", max_bytes=2000), clock=lambda: clock[0],
                    sleep=lambda s: setattr(store, "up", True))  # the store comes back while ingest waits
    writer.deliver(batch(0))
    clock[0] = writer._next_try + 0.001
    i = 1
    while not store.up:  # the outage goes on: the backoff grows, the spool fills, ingest waits for room
        writer.deliver(batch(i))
        i += 1
    assert writer.spool.batches == 1  # the batch that waited for room
    writer.deliver(batch(i))  # no time has passed since the forced replay
    assert store.written == list(range(i + 1)) and writer.spool.batches == 0


def test_retries_back_off_with_jitter(tmp_path):
    store = FlakyStore()
    store.up = False
    clock = [0.0]
    writer = Writer(store, Spool(tmp_path / "spool.db"), clock=lambda: clock[0], sleep=lambda s: None)
    delays = []
    for i in range(8):
        writer.deliver(batch(i))
        delays.append(writer._next_try - clock[0])
        clock[0] = writer._next_try + 0.001
    assert max(delays) <= 30.0 and writer._retry_s == 30.0
    assert len(set(delays)) > 1  # jittered, not a fixed beat


def test_a_servers_retry_after_is_honoured(tmp_path):
    class Busy(FlakyStore):
        def write(self, b):
            raise StoreUnavailable("HTTP 429", retry_after_s=12.0)

    clock = [100.0]
    writer = Writer(Busy(), Spool(tmp_path / "spool.db"), clock=lambda: clock[0], sleep=lambda s: None)
    writer.deliver(batch(0))
    assert writer._next_try - clock[0] >= 12.0


def test_replay_progress_is_paced_by_the_writers_clock(tmp_path, caplog):
    """A long replay reports every 5 s of the writer's clock, here a fake one that each write moves on 2 s."""
    clock = [0.0]

    class SlowStore(FlakyStore):
        def write(self, b):
            super().write(b)
            clock[0] += 2.0

    store = SlowStore()
    store.up = False
    writer = Writer(store, Spool(tmp_path / "spool.db"), clock=lambda: clock[0], sleep=lambda s: None)
    for i in range(10):
        writer.deliver(batch(i))
    store.up = True
    clock[0] += 60
    with caplog.at_level("INFO", logger="expo.ingest.writer"):
        assert writer.replay() == 10
    progress = [r.getMessage() for r in caplog.records if "replaying the spool" in r.getMessage()]
    assert progress == ["replaying the spool: 3 of 10 batches (30%)", "replaying the spool: 6 of 10 batches (60%)",
                        "replaying the spool: 9 of 10 batches (90%)"]


@pytest.mark.parametrize("retry_max_s", [2.0, 30.0])
def test_retries_back_off_but_never_wait_longer_than_the_setting(tmp_path, retry_max_s):
    store = FlakyStore()
    store.up = False
    clock = [0.0]
    writer = Writer(store, Spool(tmp_path / "spool.db"), clock=lambda: clock[0], sleep=lambda s: None,
                    retry_max_s=retry_max_s)
    waits = []
    for i in range(40):  # long enough for the doubling to reach the cap many times over
        writer.deliver(batch(i))
        waits.append(writer._next_try - clock[0])
        clock[0] = writer._next_try
    assert writer.stats.store_failures >= 20
    assert max(waits) <= retry_max_s
    assert max(waits) > retry_max_s / 4  # it did back off: full jitter over a doubling window


def test_a_busy_store_is_back_pressure_not_an_outage(tmp_path):
    """A store that answers too slowly is loaded, not down: the batch waits in the spool and goes again
    within half a second, however often it happens, instead of backing off towards 30 s."""
    class Loaded(FlakyStore):
        def write(self, b):
            if not self.up:
                raise StoreBusy("no answer within 10 s")
            return super().write(b)

    store = Loaded()
    store.up = False
    clock = [0.0]
    writer = Writer(store, Spool(tmp_path / "spool.db"), clock=lambda: clock[0], sleep=lambda s: None)
    for i in range(10):
        writer.deliver(batch(i))
        assert writer._next_try - clock[0] <= RETRY_MIN_S
        clock[0] = writer._next_try + 0.001
    assert not writer.store_down and writer.stats.store_busy >= 10 and writer.stats.store_failures == 0
    store.up = True
    writer.deliver(batch(10))
    assert store.written == list(range(11)) and writer.spool.batches == 0
