"""Received MQTT 5 properties decode exactly as paho's own do, through a real broker too."""

from __future__ import annotations

import queue
import struct

import paho.mqtt.client as mqtt
from hypothesis import given, strategies as st
from paho.mqtt import _packet
from paho.mqtt.enums import MQTTProtocolVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from ingest import lean_receive
from ingest.lean_receive import LeanProperties, LeanReceiveClient

text = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=20)
publish_properties = st.fixed_dictionaries({}, optional={
    "PayloadFormatIndicator": st.integers(0, 1),
    "MessageExpiryInterval": st.integers(0, 2**32 - 1),
    "ContentType": text,
    "ResponseTopic": text.filter(bool),
    "CorrelationData": st.binary(max_size=20),
    "SubscriptionIdentifier": st.lists(st.integers(1, 268_435_455), min_size=1, max_size=3),
    "TopicAlias": st.integers(1, 65_535),
    "UserProperty": st.lists(st.tuples(text, text), min_size=1, max_size=3),
})


def packed(values: dict) -> bytes:
    props = Properties(PacketTypes.PUBLISH)
    for name, value in values.items():
        setattr(props, name, value)
    return props.pack()


@given(values=publish_properties, tail=st.binary(max_size=8))
def test_any_publish_properties_unpack_as_paho_unpacks_them(values, tail):
    buffer = packed(values) + tail
    theirs, their_length = Properties(PacketTypes.PUBLISH).unpack(buffer)
    ours, our_length = LeanProperties(PacketTypes.PUBLISH).unpack(buffer)
    assert our_length == their_length
    assert ours.json() == theirs.json()
    assert ours.isEmpty() == (not values)


def test_once_installed_a_publish_is_decoded_with_the_lean_class_to_the_same_message():
    assert lean_receive.install()
    topic, payload = b"expo/binhai/home-001/reading", b'{"ts": 1, "power_w": 2}'
    for values in ({}, {"ContentType": "application/json", "UserProperty": [("unit", "W")]}):
        packet = struct.pack("!H", len(topic)) + topic + struct.pack("!H", 7) + packed(values) + payload
        result = _packet.decode_publish(0x32, packet, MQTTProtocolVersion.MQTTv5)
        assert isinstance(result.properties, LeanProperties)
        assert (result.topic, result.mid, result.payload, result.properties.json()) == \
            (topic, 7, payload, packed_json(values))


def packed_json(values: dict) -> dict:
    props, _ = Properties(PacketTypes.PUBLISH).unpack(packed(values))
    return props.json()


def test_properties_published_through_mosquitto_arrive_whole(mosquitto):
    assert lean_receive.install()
    got: queue.SimpleQueue = queue.SimpleQueue()
    subscribed = queue.SimpleQueue()
    sub = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="lean-sub", protocol=mqtt.MQTTv5)
    sub.on_message = lambda c, u, m: got.put((m.topic, m.payload, m.properties.json()))
    sub.on_subscribe = lambda *a: subscribed.put(True)
    sub.connect("127.0.0.1", mosquitto.port)
    sub.subscribe("lean/#", qos=1)
    sub.loop_start()
    pub = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="lean-pub", protocol=mqtt.MQTTv5)
    try:
        subscribed.get(timeout=10)
        pub.connect("127.0.0.1", mosquitto.port)
        pub.loop_start()
        props = Properties(PacketTypes.PUBLISH)
        props.ContentType = "application/json"
        props.UserProperty = [("meter", "飞 3")]
        pub.publish("lean/a", b"with", qos=1, properties=props).wait_for_publish(10)
        pub.publish("lean/b", b"without", qos=1).wait_for_publish(10)
        first, second = got.get(timeout=10), got.get(timeout=10)
        assert first == ("lean/a", b"with", {"ContentType": "application/json", "UserProperty": [("meter", "飞 3")]})
        assert second[:2] == ("lean/b", b"without")
        assert "UserProperty" not in second[2] and "ContentType" not in second[2]
    finally:
        for client in (pub, sub):
            client.disconnect()
            client.loop_stop()


def test_the_lean_client_hands_qos_0_and_1_to_one_function_and_acknowledges_only_when_told(mosquitto):
    """Straight from the packet: topic, payload, packet id and QoS; a QoS 1 message not acknowledged comes again
    to the resumed session, one acknowledged does not."""
    got: queue.SimpleQueue = queue.SimpleQueue()

    def session():
        client = LeanReceiveClient(mqtt.CallbackAPIVersion.VERSION2, client_id="lean-recv", protocol=mqtt.MQTTv5)
        client.manual_ack_set(True)
        client.on_publish_received = lambda topic, payload, mid, qos: got.put((topic, payload, mid, qos))
        client.on_message = lambda *a: got.put(("on_message", a))
        subscribed = queue.SimpleQueue()
        client.on_subscribe = lambda *a: subscribed.put(True)
        props = Properties(PacketTypes.CONNECT)
        props.SessionExpiryInterval = 300
        client.connect("127.0.0.1", mosquitto.port, clean_start=False, properties=props)
        client.subscribe([("lean/q0", 0), ("lean/q1", 1)])
        client.loop_start()
        subscribed.get(timeout=10)
        return client

    def publish(*messages):
        pub = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="lean-pub2", protocol=mqtt.MQTTv5)
        pub.connect("127.0.0.1", mosquitto.port)
        pub.loop_start()
        for topic, payload, qos in messages:
            pub.publish(topic, payload, qos=qos).wait_for_publish(10)
        pub.disconnect()
        pub.loop_stop()

    def stop(client):
        client.disconnect()
        client.loop_stop()

    client = session()
    publish(("lean/q0", b"zero", 0), ("lean/q1", "一".encode(), 1))
    first, second = got.get(timeout=10), got.get(timeout=10)
    assert first == ("lean/q0", b"zero", 0, 0)
    assert second[:2] == ("lean/q1", "一".encode()) and second[2] > 0 and second[3] == 1
    stop(client)  # never acknowledged
    client = session()
    again = got.get(timeout=10)
    assert again[:2] == ("lean/q1", "一".encode()) and again[3] == 1
    client.ack(again[2], 1)  # queued before the DISCONNECT, so sent before it
    stop(client)
    client = session()
    publish(("lean/q1", b"next", 1))
    assert got.get(timeout=10)[:2] == ("lean/q1", b"next")  # the acknowledged one did not come again
    assert got.empty()
    stop(client)


def lean_client(protocol=mqtt.MQTTv5) -> tuple[LeanReceiveClient, list]:
    got: list = []
    client = LeanReceiveClient(mqtt.CallbackAPIVersion.VERSION2, client_id="lean-parse", protocol=protocol)
    client.manual_ack_set(True)
    client.on_publish_received = lambda topic, payload, mid, qos: got.append((topic, payload, mid, qos))
    client.on_message = lambda c, u, m: got.append(("paho", m.topic, m.payload, m.mid, m.qos))
    return client, got


def publish_packet(topic: bytes, payload: bytes, qos: int, mid: int, props: bytes | None) -> tuple[int, bytes]:
    """(fixed header's first byte, the rest after the remaining length), as a broker sends a PUBLISH."""
    body = struct.pack("!H", len(topic)) + topic + (struct.pack("!H", mid) if qos else b"")
    return 0x30 | (qos << 1), body + (props if props is not None else b"") + payload


@given(topic=text.filter(bool), payload=st.binary(max_size=64), qos=st.integers(0, 1), mid=st.integers(1, 65_535),
       values=publish_properties, v5=st.booleans())
def test_a_publish_read_by_index_is_what_pahos_decoder_reads(topic, payload, qos, mid, values, v5):
    """The lean parse against paho's own, on any QoS 0/1 PUBLISH; one with properties takes paho's path whole."""
    protocol = mqtt.MQTTv5 if v5 else mqtt.MQTTv311
    header, body = publish_packet(topic.encode(), payload, qos, mid, packed(values) if v5 else None)
    theirs = _packet.decode_publish(header, body, protocol)
    client, got = lean_client(protocol)
    client._in_packet = {**client._in_packet, "command": header, "packet": body}
    client._handle_publish()
    if v5 and values:
        assert got[0][0] == "paho" and got[0][1:3] == (topic, payload)  # paho's path, properties and all
    else:
        assert got == [(theirs.topic.decode(), theirs.payload, theirs.mid if qos else 0, theirs.qos)]


@given(cut=st.integers(0, 17), qos=st.integers(0, 1), v5=st.booleans())
def test_a_short_publish_is_refused_as_paho_refuses_it(cut, qos, v5):
    """Cut inside its topic: never handed on with a part of its topic."""
    header, body = publish_packet(b"expo/t/d/reading", b"{}", qos, 9, b"\x00" if v5 else None)
    client, got = lean_client(mqtt.MQTTv5 if v5 else mqtt.MQTTv311)
    client._in_packet = {**client._in_packet, "command": header, "packet": body[:cut]}
    try:
        client._handle_publish()
    except _packet.MalformedPacket:
        pass
    assert all(g[0] == "paho" for g in got)  # never a half-read message handed on by the lean parse


def test_packets_already_read_from_the_socket_are_all_handled_before_waiting_again():
    """One socket read holds many packets; each is handed on in the same wake-up, and a packet cut across two
    reads is whole when its rest arrives."""
    import socket

    client, got = lean_client()
    ours, broker = socket.socketpair()
    try:
        ours.setblocking(False)
        client._sock = ours
        packets = []
        for i in range(300):
            header, body = publish_packet(f"expo/t/m{i}/reading".encode(), b'{"power_w": %d}' % i, 1, i + 1, b"\x00")
            packets.append(bytes([header, len(body)]) + body)
        stream = b"".join(packets)
        cut = len(stream) - 7  # the last packet's end comes later
        broker.sendall(stream[:cut])
        assert client.loop_read() == mqtt.MQTT_ERR_SUCCESS
        assert [g[2] for g in got] == list(range(1, 300))  # all but the cut one, in one call
        broker.sendall(stream[cut:])
        assert client.loop_read() == mqtt.MQTT_ERR_SUCCESS
        assert got[-1] == ("expo/t/m299/reading", b'{"power_w": 299}', 300, 1) and len(got) == 300
        client._sock_close()
        assert client._at >= len(client._held)  # nothing of a closed connection is kept for the next
    finally:
        broker.close()
        ours.close()
