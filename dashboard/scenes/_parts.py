"""Pieces every scene is built from: the KPI strip, the caption, the digest helpers, and where the visitor is."""

from __future__ import annotations

import hashlib
import json

from dash import html, no_update

from dashboard.i18n import bilingual, both, text
from dashboard.model.slots import SLOT_S


def kpi(label_key: str, value: dict, className: str = "") -> html.Div:
    """One big number with its unit and a label; ``value`` is ``{"en": ..., "zh": ...}`` (one span when both read
    the same, as most numbers do: the strip is sent whole whenever one of its figures moves)."""
    figure = html.Span(value["en"], className="t kpi-value") if value["en"] == value["zh"] else \
        both(value["en"], value["zh"], "kpi-value")
    return html.Div([figure, bilingual(label_key, "kpi-label")],
                    className=("kpi " + className).strip())


def asset_url(name: str) -> str:
    """The address of a file in ``dashboard/assets`` as the running app serves it; ``/assets/<name>`` where no app
    is running (a figure built by a test or a benchmark)."""
    import dash

    try:
        return dash.get_asset_url(name)
    except Exception:  # noqa: BLE001 - dash raises whatever its missing app config raises
        return f"/assets/{name}"


def digest(value) -> str:
    return hashlib.blake2b(json.dumps(value, sort_keys=True, default=str).encode(), digest_size=8).hexdigest()


def changed(sent: dict, fresh: dict, key: str, data, build):
    """``build(data)`` if ``data`` differs from what the page shows under ``key``, else ``no_update``.

    The digest of ``data`` is recorded in ``fresh`` (the page's new digest) either way.
    """
    d = digest(data)
    fresh[key] = d
    return build(data) if sent.get(key) != d else no_update


# A chart is patched at most this often; numbers change every tick. Each patch redraws the chart in the browser
# (a Sankey, 288 slots of stacked areas): every second, the flow scene's two Sankeys took 15 % of a core more in
# software rendering (measured); a meter speaks every 10 s, so a visitor sees no difference.
CHART_EVERY_S = 5.0


def chart_held(sent: dict, fresh: dict, keys, snapshot, name: str = "chart_at") -> bool:
    """Whether a chart's changes wait: its last patch (``name`` in the page's digests) was under
    ``CHART_EVERY_S`` ago. While they wait, ``fresh`` keeps what the page holds for ``keys``, so the next patch
    carries every change held back. A chart patched now: call ``chart_sent``."""
    last = sent.get(name)
    fresh[name] = last  # until a patch is sent (``chart_sent``), the last one's time carries on
    if last is None or not 0 <= snapshot.taken_s - last < CHART_EVERY_S:
        return False
    for key in keys:
        fresh[key] = sent.get(key)
    return True


def chart_sent(fresh: dict, snapshot, name: str = "chart_at") -> None:
    fresh[name] = snapshot.taken_s


def axis_patched(figure, sent: dict, top: float | None) -> bool:
    """The power axis's new top (``theme.nice_top``) into a chart's patch, once the curves outgrew the page's;
    whether it went in. The page's is ``sent["axis"]``: a scene keeps its chart's top there."""
    if not top or sent.get("axis") == top:
        return False
    figure["layout"]["yaxis"]["range"] = [0, top]
    figure["layout"]["yaxis"]["autorange"] = False
    return True


# a chart whose newest slot ends this long before the exhibit's now says so itself: two slots and the few
# minutes a store takes to write a minute's rollup. The badge speaks for the newest reading of any meter; a
# panel fed by the rollups (a chart of today) can fall behind while the badge stays green.
PANEL_BEHIND_S = 2 * SLOT_S + 240


def data_until(values, snapshot) -> float | None:
    """The end of the newest slot of ``values`` (a day's slots, None where there is no data) when it lies more
    than ``PANEL_BEHIND_S`` before now; None when the chart is current or has nothing yet (its scene says that)."""
    newest = next((i for i in range(len(values) - 1, -1, -1) if values[i] is not None), None)
    if newest is None:
        return None
    end_s = snapshot.day_start_s + (newest + 1) * SLOT_S
    return end_s if snapshot.clock_s - end_s > PANEL_BEHIND_S else None


def behind_note(snapshot, until_s: float | None):
    """"data up to 14:02 · 数据截至 14:02" on a panel whose own data fell behind; None (the note hidden) when not."""
    if until_s is None:
        return None
    return bilingual("panel.behind", "panel-note", time=snapshot.local(until_s).strftime("%H:%M"))


def metres(v: float):
    """A position on a plan to 0.1 m, without a trailing ".0" (a plan needs no more, and 4,000 of them are sent)."""
    v = round(float(v), 1)
    return int(v) if v.is_integer() else v


def rounded(values, places: int = 0):
    return [None if v is None else round(v, places) for v in values]


# where the visitor is: the home site, a district's figures, the place a scene's scale names ------------------


def home_site(snapshot) -> str | None:
    """The zero-energy building's site: what the town scenes show unless a visitor tapped another district."""
    home = getattr(snapshot, "home_site", None)
    if home:
        return home
    if snapshot.building is not None and snapshot.building.site:
        return snapshot.building.site
    return snapshot.devices[0].site if snapshot.devices else None


def site_now(snapshot, site: str | None):
    """That district's ``SiteNow`` in the city view, or None (not described, or no city yet)."""
    city = snapshot.city
    return next((s for s in city.sites if s.site == site), None) if city is not None and site else None


def site_name(snapshot, site: str | None) -> dict:
    """A district's name in both languages: its description's, else its id, else "the town"."""
    now = site_now(snapshot, site)
    if now is not None:
        return {"en": now.name_en, "zh": now.name_zh}
    if site:
        return {"en": site, "zh": site}
    return {"en": text("place.town", "en"), "zh": text("place.town", "zh")}


def place(snapshot, scale: str, site: str | None = None) -> dict:
    """What the frame's subtitle names for a scene at ``scale``: the building, the town (``site``, else the home
    town) or the city; empty where it is not known yet (never another place's name)."""
    if scale == "building":
        b = snapshot.building
        return {"en": b.name_en, "zh": b.name_zh} if b is not None else {"en": "", "zh": ""}
    if scale == "city":
        city = snapshot.city
        return {"en": city.name_en, "zh": city.name_zh} if city is not None else {"en": "", "zh": ""}
    return site_name(snapshot, site or home_site(snapshot))
