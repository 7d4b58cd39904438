"""Subcommands of ``energy-expo``, one module each (see ``energy_expo.cli``)."""
