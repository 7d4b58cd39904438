"""Parts of the ingest benchmarks: the publisher, the baseline consumers and the InfluxDB counts they share,
the `large`-scenario burst, and the consumers that run as servers of their own (energy-expo ingest, Node-RED).

Not a package of the product: the benchmarks in bench/ put bench/ on ``sys.path`` and import ``burst``.
"""
