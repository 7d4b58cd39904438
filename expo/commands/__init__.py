"""Subcommands of ``energy-expo``, one module each (see ``expo.cli``)."""
