"""Parts of bench/city_lag.py: the lag from a reading's publication to its arrival in the store, in a real `up`.

At demo speed the simulated clock runs faster than the wall clock, so a reading's own timestamp says
nothing about when it was sent. Both ends are therefore wall times: a sidecar MQTT subscriber on up's
broker notes when it sees each reading of a fixed sample of meters (``sidecar``), and a poller notes
when the store first shows that meter at or past that reading (``arrivals``). ``exhibit`` starts and
watches the real ``energy-expo up``; ``report`` prints the figures.
"""
