"""Ingest's memory on disk: where it lives, and which store it describes.

::

    <state_dir>/<client id>/state.json           counter memory + subscribed filters, bound to one store
    <state_dir>/<client id>/spool-<store>.db     batches waiting for that store configuration

``state_dir`` is made absolute once, at start, and logged, so ingest finds its
memory and its spool whatever folder it is started from; by default it is
``$XDG_STATE_HOME/energy-expo/ingest`` (``~/.local/state/...``). Under it, a
folder per MQTT client id: the broker keeps one session per client id, and
two ingest processes on one machine must not share a memory either.

The counter memory holds offsets that are right only for the store that
received the earlier values: continued into a new database, it would refuse
the new readings as ``counter_backwards`` or carry offsets from nowhere.
So ``state.json`` records the store's identity (``Store.identity()``, an id
the store keeps inside itself). At start, if the store answers with another
identity, the memory starts clean and the old file is set aside, renamed,
never deleted. If the store does not answer at start, the memory is kept and
checked at the next start that reaches it. The spool is not bound to an
identity but to a store configuration (its file name): what it holds are
readings nobody else has, and they go to that store whatever it now is.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping

from expo.errors import UserError

log = logging.getLogger("expo.ingest.state")

DEFAULT_STATE_DIR = "$XDG_STATE_HOME/energy-expo/ingest"
# The default before it, relative to wherever ingest was started: looked in for files to adopt.
OLD_DEFAULT_STATE_DIR = "energy-expo-data/ingest"
STATE_VERSION = 2
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def resolve_state_dir(value: str, environ: Mapping[str, str] = os.environ) -> Path:
    """The absolute state directory: ``$XDG_STATE_HOME`` (an absolute one, else ``~/.local/state``, as the XDG
    spec says) and ``~`` expanded, a relative path taken from the working directory at start."""
    xdg = environ.get("XDG_STATE_HOME", "")
    if not os.path.isabs(xdg):
        xdg = os.path.join(os.path.expanduser("~"), ".local", "state")
    text = value.replace("${XDG_STATE_HOME}", xdg).replace("$XDG_STATE_HOME", xdg)
    return Path(os.path.expanduser(text)).absolute()


def _slug(text: str, limit: int = 60) -> str:
    """A file name for ``text``; a short hash keeps two texts that read alike apart."""
    safe = _UNSAFE.sub("_", text).strip("._")[:limit] or "_"
    return safe if safe == text else f"{safe}-{hashlib.sha1(text.encode()).hexdigest()[:8]}"


def store_key(address) -> str:
    """The store configuration a spool belongs to: no credentials, a SQLite file as an absolute path."""
    if address.path is not None:
        return f"{address.scheme}:{Path(address.path).absolute()}"
    return f"{address.scheme}://{address.host}:{address.port}/{address.database}"


@dataclass
class Saved:
    """What ``state.json`` holds: the counters (``CounterState.export``) for one store, and the session's filters."""

    counters: dict = field(default_factory=dict)
    filters: list[str] = field(default_factory=list)
    store: str | None = None  # the store configuration it was last saved for
    identity: str | None = None  # that store's identity; None: never checked


class StateFolder:
    """One ingest client's folder: its state file, its spools, and the rule binding the memory to the store."""

    def __init__(self, state_dir: Path, client_id: str, clock=time.time):
        self.base = state_dir
        self.path = state_dir / _slug(client_id)
        self.state_file = self.path / "state.json"
        self._clock = clock

    def open(self) -> None:
        try:
            self.path.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise UserError(f"cannot create state directory {self.path}: {exc.strerror}") from None
        log.info("ingest state in %s", self.path)

    def spool_path(self, key: str) -> Path:
        return self.path / f"spool-{_slug(key)}.db"

    def adopt_legacy(self, key: str, *elsewhere: Path) -> None:
        """Files of the layout before the per-client folder (``<state_dir>/state.json``, ``spool.db``) move in,
        from ``state_dir`` itself or from ``elsewhere`` (the old default folder): a spool left behind there holds
        acknowledged readings that nothing else would ever deliver."""
        for base in (self.base, *elsewhere):
            self._adopt_from(base, key)

    def _adopt_from(self, base: Path, key: str) -> None:
        for old, new in ((base / "state.json", self.state_file), (base / "spool.db", self.spool_path(key))):
            if not old.exists() or old.resolve() == new.resolve():
                continue
            if new.exists():
                log.warning("%s is from an earlier layout and %s exists too; left where it is", old, new)
                continue
            for suffix in ("", "-wal", "-shm"):
                if Path(f"{old}{suffix}").exists():
                    shutil.move(f"{old}{suffix}", f"{new}{suffix}")  # may cross file systems (./ to ~/.local)
            log.info("moved %s to %s (one folder per ingest client id now)", old, new)

    def load(self) -> Saved:
        if not self.state_file.exists():
            return Saved()
        try:
            data = json.loads(self.state_file.read_text())
            binding = data.get("store") or {}
            return Saved(data.get("counters", {}), list(data.get("filters", [])), binding.get("address"),
                         binding.get("identity"))
        except (OSError, ValueError, AttributeError) as exc:
            aside = self.set_aside("unreadable")
            log.warning("ingest state %s is unreadable (%s), kept as %s: counters continue from the next readings",
                        self.state_file, exc, aside.name)
            return Saved()

    def save(self, saved: Saved) -> None:
        body = {"version": STATE_VERSION, "store": {"address": saved.store, "identity": saved.identity},
                "counters": saved.counters, "filters": saved.filters}
        tmp = self.state_file.with_suffix(".tmp")
        tmp.write_text(json.dumps(body))
        os.replace(tmp, self.state_file)

    def set_aside(self, why: str) -> Path:
        stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(self._clock()))
        aside = self.state_file.with_name(f"state.{why}-{stamp}.json")
        os.replace(self.state_file, aside)
        return aside

    def bind(self, saved: Saved, key: str, identity: str | None, store_has_readings: bool) -> Saved:
        """The memory to continue from for this store: the saved one if it describes it, else a clean one.

        ``identity`` None means the store did not answer: the memory is kept, and checked next start. A memory
        saved before stores had identities is kept only if the store already holds readings it could describe.
        """
        if identity is None:
            if saved.counters:
                log.warning("store %s not reachable at start: keeping the counter memory, checked against the "
                            "store at the next start that reaches it", key)
            return saved
        if saved.identity == identity or not saved.counters.get("counters") and not saved.counters.get("derived"):
            return Saved(saved.counters, saved.filters, key, identity)
        if saved.identity is None and store_has_readings:
            log.info("counter memory bound to store %s (identity %s)", key, identity)
            return Saved(saved.counters, saved.filters, key, identity)
        aside = self.set_aside(f"store-{(saved.identity or 'unknown')[:12]}")
        log.warning("counter memory in %s describes %s (identity %s), but %s has identity %s (a new or re-created "
                    "database): counters start clean; the old memory is kept as %s", self.state_file,
                    saved.store or "a store without one", saved.identity or "none", key, identity, aside.name)
        return Saved({}, saved.filters, key, identity)
