"""Every word a visitor or engineer reads, in Simplified Chinese and English: the one translation table.

The page carries both languages at once (``bilingual`` renders a span for
each, and a class on the page root shows one), so switching language is
instant, needs no server round trip, and a kiosk alternating languages never
redraws a chart to do it. Text with figures in it is formatted on the server
in both languages for the same reason.

Keys are grouped by where they appear; ``{name}`` fields are filled by
``text(key, lang, name=...)``. ``tests/dashboard/test_i18n.py`` checks that
every key has both languages and the same fields in each, that every key is
used somewhere in ``dashboard/`` (Python, the browser's JS, the templates),
and that every key used there is here.
"""

from __future__ import annotations

from dash import html

LANGS = ("zh", "en")

TEXT: dict[str, tuple[str, str]] = {  # key: (English, 简体中文)
    # the frame around every scene
    "app.title": ("Urban Energy Big-Data Centre", "城市能源大数据中心"),
    "badge.live": ("LIVE", "实时"),
    "badge.delayed": ("Data delayed since {time}", "数据延迟 · 自 {time}"),
    "badge.none": ("Waiting for data", "等待数据"),
    "badge.replay": ("REPLAY ×{speed} · {time}", "回放 ×{speed} · {time}"),
    "banner.server": ("Connection to the exhibit server lost — showing the last data, reconnecting…",
                      "与展示服务器的连接中断 — 显示最后的数据，正在重连…"),
    "banner.store": ("The database is not answering — showing the last data, retrying…",
                     "数据库暂时无响应 — 显示最后的数据，正在重试…"),
    "panel.behind": ("data up to {time}", "数据截至 {time}"),  # a panel whose own data fell behind the badge's
    "provenance.simulated": ("simulated", "模拟数据"),  # beside the badge: never pass simulated data off as real
    "provenance.mixed": ("simulated and metered", "模拟与实测数据"),
    "lang.toggle": ("中文", "English"),
    "nav.paused": ("Paused", "已暂停"),
    # scene titles
    "scene.city": ("Smart energy town", "智慧能源小镇"),
    "scene.flow": ("Where the energy comes from and goes", "能量从哪里来，到哪里去"),
    "scene.zeb": ("Zero-energy smart building", "零能耗智慧建筑"),
    "scene.load": ("The town's day", "小镇的一天"),
    "scene.rank": ("Biggest users and producers now", "此刻的用电大户与发电能手"),
    "scene.bigdata": ("The whole city, live", "全城能源实时总览"),
    # where on the exhibit's scale a scene stands (beside every scene's title)
    "scale.building": ("Building", "建筑"),
    "scale.town": ("Town", "小镇"),
    "scale.city": ("City", "城市"),
    "place.town": ("The town", "小镇"),  # the subtitle of a town scene before the town's name is known
    # captions: one sentence a 12-year-old understands
    # (each begins with where on the scale the visitor is: the building, the town, the whole city)
    "caption.city": ("The town: right now the sun and wind supply {share} of {town}'s electricity.",
                     "小镇：此刻，太阳和风为{town}提供了 {share} 的电力。"),
    "caption.city.none": ("The town: every dot is a meter in {town}, coloured by what it uses or makes right now.",
                          "小镇：每个点都是{town}的一块电表，颜色表示它此刻用电或发电的多少。"),
    "caption.flow": ("The town: today the sun and wind have made {renewable} — {share} of all the electricity used.",
                     "小镇：今天，太阳和风已经发电 {renewable}，占全部用电的 {share}。"),
    "caption.zeb": ("The building: it has produced {pct} of the energy it used this year.",
                    "建筑：今年以来，这座建筑的发电量达到其用电量的 {pct}。"),
    "caption.zeb.none": ("The building: it makes its own energy from the sun and stores it in batteries.",
                         "建筑：这座建筑用太阳能发电，并把电储存在电池里。"),
    "caption.load": ("The town: it used most power today at {time}: {peak}.", "小镇：今天在 {time} 用电最多：{peak}。"),
    "caption.load.none": ("The town: how its electricity use changes through the day.", "小镇：一天中的用电变化。"),
    "caption.rank": ("The town: {name} uses the most electricity right now: {power}.",
                     "小镇：此刻用电最多的是{name}：{power}。"),
    "caption.rank.none": ("The town: which meters use and make the most electricity right now.",
                          "小镇：此刻哪些电表用电、发电最多。"),
    "caption.bigdata": ("The whole city: today the sun and wind supplied {share} of all the electricity its districts "
                        "used.", "整座城市：今天，太阳和风提供了各片区全部用电量的 {share}。"),
    "caption.bigdata.none": ("The whole city: every district appears here as soon as its meters report.",
                             "整座城市：各片区的电表一上报数据，就会出现在这里。"),
    # KPI labels
    "kpi.load": ("Town load now", "小镇当前负荷"),
    "kpi.renewable_now": ("Clean energy now", "当前清洁能源占比"),
    "kpi.renewable_today": ("Clean energy today", "今日清洁能源占比"),
    "kpi.co2": ("CO₂ avoided today", "今日减排二氧化碳"),
    "kpi.online": ("Meters online", "在线电表"),
    "kpi.readings": ("Readings today", "今日数据量"),
    "kpi.generation_now": ("Generation now", "当前发电"),
    "kpi.consumption_now": ("Consumption now", "当前用电"),
    "kpi.soc": ("Battery charge", "电池电量"),
    "kpi.net_zero": ("Made ÷ used this year", "今年发电 ÷ 用电"),
    "kpi.produced_today": ("Made today", "今日发电"),
    "kpi.used_today": ("Used today", "今日用电"),
    "kpi.peak": ("Peak today", "今日峰值"),
    "kpi.energy_today": ("Used today", "今日用电量"),
    "kpi.vs_yesterday": ("Same time yesterday", "昨日同时刻"),
    "kpi.city_load": ("City load now", "全市当前负荷"),
    # chart words
    "chart.yesterday": ("Yesterday", "昨天"),
    "chart.peak": ("Peak", "峰值"),
    "chart.forecast": ("Forecast", "预测"),
    "chart.forecast_sun": ("Sun, forecast", "发电预测"),
    "chart.forecast_use": ("Use, forecast", "用电预测"),
    "chart.generation": ("Generation", "发电"),
    "chart.consumption": ("Consumption", "用电"),
    "chart.power_kw": ("Power (kW)", "功率（千瓦）"),
    "chart.consumers": ("Largest users", "用电最多"),
    "chart.producers": ("Largest producers", "发电最多"),
    "flow.now": ("Now", "此刻"),
    "flow.today": ("Today", "今天"),
    "legend.uses": ("uses power", "用电"),
    "legend.makes": ("makes power", "发电"),
    "legend.offline": ("offline", "离线"),
    "legend.lit": ("street lights on", "路灯亮起"),
    "whatif.banner": ("what-if: {what}", "假设：{what}"),
    "landmark.grid": ("Grid connection", "电网关口"),
    "landmark.building": ("Zero-energy building", "零能耗建筑"),
    "landmark.wind": ("Wind farm", "风电场"),
    "plan.hover": ("%{customdata[1]:,} meters<extra></extra>", "%{customdata[1]} 个电表<extra></extra>"),
    "plan.area": ("Meters in this area", "这片区的电表"),
    "plan.building": ("Building {id}", "建筑 {id}"),
    "plan.count": ("{n} meters: {kinds}", "{n} 个电表：{kinds}"),
    # a district's town plan, opened by a tap on the big-data centre's map
    "city.loading": ("Loading {town}…", "正在载入{town}…"),
    "city.back": ("← Back to {town}", "← 返回{town}"),
    # the big-data centre's board
    # the zero-energy building in cross-section: its parts, named beside them
    "zeb.part.pv_roof": ("Roof solar", "屋顶光伏"),
    "zeb.part.pv_facade": ("Facade solar", "幕墙光伏"),
    "zeb.part.grid": ("Power grid", "电网"),
    "zeb.part.battery": ("Battery", "储能电池"),
    "zeb.part.heat_pump": ("Heat pump", "热泵"),
    "zeb.part.lighting": ("Lighting", "照明"),
    "zeb.part.plugs": ("Sockets", "插座用电"),
    "zeb.part.ev": ("Car chargers", "充电桩"),
    "zeb.way.charging": ("charging", "充电中"),
    "zeb.way.discharging": ("supplying", "放电中"),
    "zeb.way.buying": ("buying", "购电中"),
    "zeb.way.selling": ("selling", "送电中"),
    "zeb.offline": ("offline", "离线"),
    "zeb.some_offline": ("{live} of {meters} reporting", "{meters} 个中 {live} 个在线"),
    "zeb.waiting": ("Waiting for the building's meters", "等待建筑电表数据"),
    "zeb.today": ("Today: made and used", "今日发电与用电"),
    "zeb.year": ("This year: made {made}, used {used}", "今年发电 {made}，用电 {used}"),
    "bigdata.board": ("Districts by energy used today", "各片区今日用电排行"),
    "bigdata.col.energy": ("Used today", "今日用电"),
    "bigdata.col.share": ("Clean", "清洁占比"),
    "bigdata.col.co2": ("CO₂ avoided", "减排 CO₂"),
    "bigdata.board.none": ("No district has reported yet", "尚无片区上报数据"),
    "bigdata.share": ("Clean energy today", "今日清洁能源占比"),
    "bigdata.readings": ("Readings taken in today", "今日采集数据量"),
    "bigdata.count": ("{count} readings", "共 {count} 条"),  # Chinese counts in 万 and 亿 beside the wheels
    "bigdata.rate": ("{rate} readings a second, live", "每秒实时 {rate} 条"),
    "bigdata.load": ("City load: today and yesterday", "全市负荷：今天与昨天"),
    "bigdata.today": ("Today", "今天"),
    "bigdata.legend.share": ("clean share today", "今日清洁占比"),
    "bigdata.legend.grid": ("Grid", "电网"),
    "bigdata.legend.battery": ("Storage", "储能"),  # a district sending power with neither sun nor wind
    "bigdata.label": ("{share} clean", "清洁 {share}"),
    "bigdata.grid": ("Power grid", "主电网"),
    "bigdata.waiting": ("Waiting for data from the city's districts", "等待各片区的数据"),
    # energy categories (sources and uses in the Sankey, sectors in the load curve)
    "cat.pv": ("Solar", "光伏"),
    "cat.wind": ("Wind", "风电"),
    "cat.grid_import": ("From the grid", "电网购电"),
    "cat.battery_discharge": ("Battery discharge", "电池放电"),
    "cat.households": ("Homes", "居民"),
    "cat.commercial": ("Shops and offices", "商业办公"),
    "cat.ev": ("Electric cars", "电动汽车"),
    "cat.heat_pumps": ("Heat pumps", "热泵"),
    "cat.street_lights": ("Street lights", "路灯"),
    "cat.buildings": ("Building services", "楼宇用电"),
    "cat.other": ("Other meters", "其他电表"),
    "cat.battery_charge": ("Battery charge", "电池充电"),
    "cat.grid_export": ("To the grid", "上网送电"),
    # engineer view (/status; device states also in the town plan's detail panel)
    "status.title": ("Engineer view", "工程师视图"),
    "status.devices": ("Devices", "设备"),
    "status.health": ("Ingest health", "采集服务状态"),
    "status.rejected": ("Quarantined messages", "隔离的消息"),
    "status.live": ("live", "在线"),
    "status.stale": ("stale", "延迟"),
    "status.offline": ("offline", "离线"),
    "status.simulated": ("simulated", "模拟"),
    "status.meter": ("meter", "实测"),
    "status.replayed": ("replayed", "回放"),
    "status.sites": ("Sites", "站点"),
    "status.col.site": ("site", "站点"),
    "status.col.online": ("meters online", "在线电表"),
    "status.home": ("home site", "本站"),
    "status.shown": ("devices listed below", "设备列于下方"),
    "status.show": ("list its devices", "列出其设备"),
    "status.summary": ("Devices: {total} — live {live}, stale {stale}, offline {offline}.",
                       "设备：{total} 台 — 在线 {live}，延迟 {stale}，离线 {offline}。"),
    "status.newest": ("Newest reading: {age}.", "最新读数：{age}。"),
    "status.newest.none": ("none yet", "尚无"),
    "status.replaying": ("history is being replayed at {speed}x real time", "历史数据正以 {speed} 倍速回放"),
    "status.refresh": ("Refreshes every 5 s;", "每 5 秒刷新；"),
    "status.kiosk": ("kiosk", "展示页面"),
    "status.store_error": ("Store not answering: {error}", "数据库无响应：{error}"),
    "status.no_health": ("no counters from ingest yet", "尚未收到采集服务的计数"),
    "status.none": ("none", "无"),
    "status.never": ("never", "从未"),
    "status.age.s": ("{n} s ago", "{n} 秒前"),
    "status.age.min": ("{n} min ago", "{n} 分钟前"),
    "status.age.h": ("{n} h ago", "{n} 小时前"),
    "status.balance": ("Energy balance of the zero-energy building, now", "零能耗建筑当前能量平衡"),
    "status.balance.line": ("made {pv} + grid {grid} - stored {storage} - used {loads} = residual {residual} "
                            "(tolerance {tolerance})",
                            "发电 {pv} + 电网 {grid} - 储能 {storage} - 用电 {loads} = 残差 {residual}（容差 {tolerance}）"),
    "status.balance.ok": ("it adds up", "平衡"),
    "status.balance.off": ("it does not add up: a meter of the building is missing, silent or has the wrong sign; "
                           "the kiosk draws each meter as it reads", "不平衡：建筑的某个电表缺失、离线或符号有误；展示屏按电表读数绘制"),
    "status.balance.unchecked": ("not checked: the building's grid meter is not reporting",
                                 "无法核对：建筑的电网电表未上报"),
    "status.ingest": ("Ingest processes", "采集进程"),
    "status.offline_since": ("offline since {since} (its own word: a last will)", "自 {since} 起离线（设备自报）"),
    "status.ingest.writing": ("writing", "正常写入"),
    "status.ingest.silent": ("ingest silent since {since}", "采集进程自 {since} 起无响应"),
    "status.ingest.registry_broken": ("the meter registry has an error (see ingest's log); the last good one is in "
                                      "force", "电表登记文件有误（见采集日志），仍按上一份正确的执行"),
    "status.discovered": ("Discovered, not yet placed", "已发现，尚未登记位置"),
    "status.discovered.placed": ("{n} more announced themselves and are placed.", "另有 {n} 台已自报并已登记位置。"),
    "status.discovered.hint": ("Describe a meter in the meter registry with the device id shown (docs/meters.md).",
                               "请按所示设备编号在电表登记文件中登记（见 docs/meters.md）。"),
    "status.discovered.readings_as": ("readings as", "读数设备编号"),
    "status.col.family": ("family", "类别"),
    "status.col.model": ("model", "型号"),
    "status.col.address": ("address", "地址"),
    "status.col.measures": ("measures", "测量"),
    "status.topics": ("Topics no route takes", "无解析路由的主题"),
    "status.topics.window": ("Messages in the newest survey of the broker ({window} s, {ago}).",
                             "最近一次巡查中的消息数（{window} 秒，{ago}）。"),
    "status.topics.never": ("none seen (ingest surveys the broker every few minutes)", "未发现（采集服务每隔几分钟巡查一次）"),
    "status.col.messages": ("messages", "消息数"),
    "status.alarms": ("Alarms", "告警"),
    "status.forecast": ("Today's forecast", "今日预测"),
    "status.forecast.none": ("none yet: no home site with meters", "暂无：没有带电表的主站点"),
    "status.forecast.how": ("made {made}: sun by {solar}, use by {load}, cloud cover held at {cover}",
                            "{made} 预测：发电按{solar}，用电按{load}，云量按 {cover} 保持"),
    "status.forecast.basis.physics": ("physics (sun position, clear sky, cloud cover)", "物理模型（太阳位置、晴空、云量）"),
    "status.forecast.basis.history": ("history (yesterday, same weekday last week)", "历史（昨天、上周同日）"),
    "status.forecast.basis.persistence": ("the last half hour held (no history yet)", "最近半小时保持（尚无历史）"),
    "status.forecast.basis.none": ("nothing (no data)", "无（无数据）"),
    "status.forecast.no_score": ("the day's forecast is kept from 08:00 and scored against what happens after",
                                 "当天 08:00 起的预测将被保留，并与实际对比"),
    "status.forecast.score": ("the forecast of {made} against the {slots} five-minute slots since: mean absolute "
                              "error, sun {solar} of the arrays' rating, use {load} of the day's peak",
                              "{made} 的预测与之后 {slots} 个五分钟时段的实际对比：平均绝对误差，发电 {solar}"
                              "（占光伏额定功率），用电 {load}（占当日峰值）"),
    "status.alarms.none": ("none: nothing needs a person", "无：一切正常"),
    "status.alarm.store_down": ("store down", "数据库无响应"),
    "status.alarm.ingest_silent": ("ingest silent", "采集进程无响应"),
    "status.alarm.quarantine_rate": ("quarantine filling", "隔离消息激增"),
    "status.alarm.feeder_over_rating": ("feeder above its rating", "配变超额定负荷"),
    "status.alarm.meter_offline": ("meter offline", "电表离线"),
    "status.col.alarm": ("alarm", "告警"),
    "status.col.subject": ("what", "对象"),
    "status.col.since": ("since", "起始时间"),
    "status.col.process": ("process", "进程"),
    "status.col.received": ("received", "接收时间"),
    "status.col.reason": ("reason", "原因"),
    "status.col.topic": ("topic", "主题"),
    "status.col.detail": ("detail", "详情"),
    "status.col.payload": ("payload (start)", "报文（开头）"),
    "status.col.device": ("device", "设备"),
    "status.col.name": ("name", "名称"),
    "status.col.kind": ("kind", "类型"),
    "status.col.source": ("source", "来源"),
    "status.col.state": ("state", "状态"),
    "status.col.last_seen": ("last seen", "最后上报"),
    "status.col.values": ("last values", "最新数值"),
}


def text(key: str, lang: str, **fields) -> str:
    en, zh = TEXT[key]
    template = zh if lang == "zh" else en
    return template.format(**fields) if fields else template


def bilingual(key: str, className: str = "", **fields_by_lang) -> html.Span:
    """Both languages of ``key``; ``fields_by_lang`` maps each field to ``{"en": ..., "zh": ...}`` or one string."""
    parts = []
    for lang in LANGS:
        fields = {k: (v[lang] if isinstance(v, dict) else v) for k, v in fields_by_lang.items()}
        parts.append(html.Span(text(key, lang, **fields), className=f"t-{lang}"))
    return html.Span(parts, className=("t " + className).strip())


def both(en: str, zh: str, className: str = "") -> html.Span:
    """Two already-formatted strings, one per language (numbers formatted per language, names from metadata)."""
    return html.Span([html.Span(zh, className="t-zh"), html.Span(en, className="t-en")],
                     className=("t " + className).strip())
