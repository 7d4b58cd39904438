"""Pieces every scene is built from: the KPI strip, the caption, and the digest helpers."""

from __future__ import annotations

import hashlib
import json

from dash import html, no_update

from dashboard.i18n import bilingual, both


def kpi(label_key: str, value: dict, className: str = "") -> html.Div:
    """One big number with its unit and a label; ``value`` is ``{"en": ..., "zh": ...}``."""
    return html.Div([both(value["en"], value["zh"], "kpi-value"), bilingual(label_key, "kpi-label")],
                    className=("kpi " + className).strip())


def digest(value) -> str:
    return hashlib.blake2b(json.dumps(value, sort_keys=True, default=str).encode(), digest_size=8).hexdigest()


def changed(sent: dict, fresh: dict, key: str, data, build):
    """``build(data)`` if ``data`` differs from what the page shows under ``key``, else ``no_update``.

    The digest of ``data`` is recorded in ``fresh`` (the page's new digest) either way.
    """
    d = digest(data)
    fresh[key] = d
    return build(data) if sent.get(key) != d else no_update


def rounded(values, places: int = 0):
    return [None if v is None else round(v, places) for v in values]
