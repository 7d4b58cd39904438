"""Ingest: MQTT in, the store out, nothing lost, nothing let in unchecked.

One message's way, and the module that does each step::

    subscriber   MQTT session, bounded queue (flow control), acknowledgements
    -> process   route (routes) -> decoder (decoders/, one module per meter family)
                 -> checks -> counters; a refusal goes to the quarantine instead
                 -> site_totals: each site's totals, readings of its own in the same batch
    -> writer    batch into the store, or into the spool (spool) while the store is away
    -> subscriber.ack, only once the batch is in the store or the spool

``service`` puts the parts together and runs the thread that batches, delivers
and acknowledges; ``state`` keeps the counter memory and the spool on disk,
bound to the store they describe; ``health`` gathers the figures and serves them.
"""
