"""The InfluxDB backend's parts, one job each; ``expo/stores/influxdb.py`` puts them together.

``transport``: HTTP, authentication, and what each answer means; ``line_protocol``:
points as text; ``refusals``: isolating what the server refuses for good;
``rollups``: the deferred 1-minute and 1-hour aggregates; ``reads``: the InfluxQL
the dashboard and ``check`` ask. Private (the underscore): ``expo.plugins.discover``
does not take this package for a backend.
"""
