"""The application on top: the ``energy-expo`` command, its subcommands, process supervision and the
embedded brokers of ``energy-expo up``.

It is the only package that may import the simulators, ingest and the dashboard
(each of which stands on the contract in ``expo`` alone). Subcommands import
them inside ``run``, so ``energy-expo --help`` and ``energy-expo check`` start
without numpy, the physics or Dash.
"""
