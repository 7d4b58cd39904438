"""Parts of bench/city_lag.py: the lag from a reading's timestamp, and its publication, to the store, in `up`.

At demo speed the simulated clock runs faster than the wall clock, so a reading's own timestamp says
when it was sent only on the simulator's paced clock. Both ends are therefore wall times: a sidecar
MQTT subscriber on up's broker notes when it sees each reading of a fixed sample of meters, (site,
device) pairs (``sample``, ``sidecar``), and a poller notes when the store first shows that meter at or
past that reading (``arrivals``). ``exhibit`` starts and watches the real ``energy-expo up`` and reads
the pace its simulator was given; ``report`` places timestamps on that pace and prints the figures.
"""
