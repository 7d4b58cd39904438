"""Store backends, one module each; each registers itself with ``expo.store.register``."""
