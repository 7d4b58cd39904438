"""Site and building descriptions read back from a store, by both backends.

Both keep a description as its contract JSON (``SiteMeta.to_json``) and parse
it again when asked: one field or column costs less than a dozen (InfluxDB
indexes and caches every field), and the contract's own parser is the only
code that knows the payload.
"""

from __future__ import annotations

import logging
from typing import Callable, TypeVar

from expo.reading import ContractError

T = TypeVar("T")
log = logging.getLogger("expo.store")


def read_back(parse: Callable[..., T], *key_and_text: str) -> T | None:
    """``parse(*key, text)``, or None (logged) when this version cannot read what was stored: a site a newer
    publisher described must not hide every other one."""
    try:
        return parse(*key_and_text)
    except ContractError as exc:
        log.warning("stored description of %s not read: %s", "/".join(key_and_text[:-1]), exc.detail)
        return None
