"""The SQLite backend's parts; ``expo/stores/sqlite.py`` is the backend. Private: discovery skips it."""
