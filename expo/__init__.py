"""energy-expo's shared contract: device kinds, topics, readings, metadata, addresses and configuration.

The simulators, ingest and the dashboard all import from here and from nowhere
else in each other, so the contract lives in exactly one place.
"""

__version__ = "0.1.0"
