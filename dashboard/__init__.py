"""The kiosk dashboard: a Dash app that shows the store to visitors, and an engineer view.

- ``model/``: the one poller that reads the store and publishes immutable
  snapshots (a module per job; see its docstring);
- ``scenes/``: one module per scene, found by discovery, each with its layout,
  its update and, if it needs them, callbacks of its own;
- ``app.py``: the frame around the scenes and the one refresh callback;
- ``status.py`` and ``templates/status.html``: the engineer view (/status);
- ``i18n.py`` (every word, both languages), ``numbers.py`` (numbers with
  units), ``categories.py`` (where each meter's power belongs), ``theme.py``
  (sizes and colours); ``assets/``: CSS, the browser-side JS, the font.

Of the project it imports only ``expo`` (the contract), never the simulators
or ingest: it sees the exhibit through the store, as a real hall would.
"""
