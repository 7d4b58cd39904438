"""Ingest: MQTT in, the store out, nothing lost, nothing let in unchecked.

subscriber -> decoder (chosen by topic) -> checks -> bounded queue -> writer -> store,
with the broker's acknowledgement sent only once a reading is written or spooled.
"""
