#!/usr/bin/env python3
"""Test-data producer for herald's integration tests.

Writes records the way ksqlDB writes the `possible_anomalies` table (see
design.md, "What ksqlDB writes"), using confluent-kafka's own
SchemaRegistryClient and AvroSerializer, so herald's decoder is checked
against an independent encoder. Every subcommand prints one JSON document
describing exactly what it produced (partition, offset, key/value bytes in
hex, schema id, the logical values) so tests can compare; --out FILE writes
the same document to FILE.

Run with the stack's venv:  "$STACK_PY" tests/stack/producer.py SUBCOMMAND ...

  create-topic --topic T [--partitions P] [--config k=v ...]
  anomalies    --topic T [--count N] [--partitions P] [--refinements K] [--seed S]
  golden       --topic T       the tutorial's row (358579699410099, 232.41)
  alltypes     --topic T [--count N] [--seed S]   every Avro type and logical type
  avro         --topic T --schema JSON|@FILE --value JSON|@FILE [--key STR] [--subject S]
  poison       --topic T       bad magic byte, unknown schema id, truncated Avro, ...
  consume      --topic T [--count N] [--timeout S] [--group G]   read back, decode

Defaults come from the environment written by scripts/stack/up.sh:
KAFKA_BOOTSTRAP and SR_URL.
"""

import argparse
import base64
import datetime as dt
import decimal
import json
import os
import random
import struct
import sys
import time
import uuid

from confluent_kafka import (OFFSET_BEGINNING, Consumer, KafkaError, KafkaException, Producer,
                             TopicPartition)
from confluent_kafka.admin import AdminClient, NewTopic
from confluent_kafka.schema_registry import SchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroDeserializer, AvroSerializer
from confluent_kafka.serialization import MessageField, SerializationContext

# ---------------------------------------------------------------- schemas

# The value schema ksqlDB 0.29 registers for possible_anomalies (design.md).
POSSIBLE_ANOMALY_SCHEMA = {
    "type": "record", "name": "PossibleAnomaly", "namespace": "io.ksqldb.tutorial",
    "fields": [
        {"name": "card_number", "type": ["null", "string"], "default": None},
        {"name": "email_address", "type": ["null", "string"], "default": None},
        {"name": "n_attempts", "type": ["null", "long"], "default": None},
        {"name": "total_amount", "type": ["null", {
            "type": "bytes", "scale": 2, "precision": 12,
            "connect.version": 1,
            "connect.parameters": {"scale": "2", "connect.decimal.precision": "12"},
            "connect.name": "org.apache.kafka.connect.data.Decimal",
            "logicalType": "decimal"}], "default": None},
        {"name": "tx_ids", "type": ["null", {"type": "array", "items": ["null", "string"]}],
         "default": None},
        {"name": "start_boundary", "type": ["null", "long"], "default": None},
        {"name": "end_boundary", "type": ["null", "long"], "default": None},
    ],
    "connect.name": "io.ksqldb.tutorial.PossibleAnomaly",
}
ANOMALY_SUBJECT = "possible_anomalies-value"
WINDOW_MS = 30_000

# One record holding every Avro type and logical type.
ALL_TYPES_SCHEMA = {
    "type": "record", "name": "AllTypes", "namespace": "herald.test",
    "fields": [
        {"name": "f_null", "type": "null"},
        {"name": "f_boolean", "type": "boolean"},
        {"name": "f_int", "type": "int"},
        {"name": "f_long", "type": "long"},
        {"name": "f_float", "type": "float"},
        {"name": "f_double", "type": "double"},
        {"name": "f_bytes", "type": "bytes"},
        {"name": "f_string", "type": "string"},
        {"name": "f_record", "type": {
            "type": "record", "name": "Inner",
            "fields": [{"name": "a", "type": "int"}, {"name": "b", "type": ["null", "string"]}]}},
        {"name": "f_enum", "type": {"type": "enum", "name": "Colour",
                                    "symbols": ["RED", "GREEN", "BLUE"]}},
        {"name": "f_array", "type": {"type": "array", "items": "long"}},
        {"name": "f_map", "type": {"type": "map", "values": "string"}},
        {"name": "f_union", "type": ["null", "long", "string", "Inner"]},
        {"name": "f_fixed", "type": {"type": "fixed", "name": "Four", "size": 4}},
        {"name": "f_decimal_bytes", "type": {"type": "bytes", "logicalType": "decimal",
                                             "precision": 12, "scale": 2}},
        {"name": "f_decimal_fixed", "type": {"type": "fixed", "name": "Dec8", "size": 8,
                                             "logicalType": "decimal", "precision": 18,
                                             "scale": 4}},
        {"name": "f_uuid", "type": {"type": "string", "logicalType": "uuid"}},
        {"name": "f_date", "type": {"type": "int", "logicalType": "date"}},
        {"name": "f_time_millis", "type": {"type": "int", "logicalType": "time-millis"}},
        {"name": "f_time_micros", "type": {"type": "long", "logicalType": "time-micros"}},
        {"name": "f_timestamp_millis", "type": {"type": "long",
                                                "logicalType": "timestamp-millis"}},
        {"name": "f_timestamp_micros", "type": {"type": "long",
                                                "logicalType": "timestamp-micros"}},
        {"name": "f_local_timestamp_millis", "type": {"type": "long",
                                                      "logicalType": "local-timestamp-millis"}},
        {"name": "f_opt_decimal", "type": ["null", {"type": "bytes", "logicalType": "decimal",
                                                     "precision": 9, "scale": 3}],
         "default": None},
    ],
}

GOLDEN = {
    "card_number": "358579699410099",
    "email_address": "michael@example.com",
    "n_attempts": 3,
    "total_amount": "232.41",
    "tx_ids": ["f88c5ebb-699c-4a7b-b544-45b30681cc39",
               "c5719d20-8d4a-47d4-8cd3-52ed784c89dc",
               "044530c0-b15d-4648-8f05-940acc321eb7"],
    "start_boundary": 1587525570000,
    "end_boundary": 1587525600000,
}

EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)

# ---------------------------------------------------------------- helpers


def window_key(card_number, window_start, window_end=None):
    """ksqlDB's windowed KAFKA key: UTF-8 key, then 8-byte big-endian window
    start (tumbling/hopping); session windows: end, then start."""
    k = card_number.encode("utf-8")
    if window_end is None:
        return k + struct.pack(">q", window_start)
    return k + struct.pack(">qq", window_end, window_start)


def jsonable(v):
    """Renders a logical value for the JSON report: decimals exactly as
    strings, bytes as hex, datetimes as ISO strings."""
    if isinstance(v, decimal.Decimal):
        return format(v, "f")
    if isinstance(v, (bytes, bytearray)):
        return bytes(v).hex()
    if isinstance(v, uuid.UUID):
        return str(v)
    if isinstance(v, (dt.datetime, dt.date, dt.time)):
        return v.isoformat()
    if isinstance(v, dict):
        return {k: jsonable(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [jsonable(x) for x in v]
    return v


class Stack:
    def __init__(self, args):
        self.bootstrap = args.bootstrap
        self.registry_url = args.registry
        self._sr = None
        self._producer = None

    @property
    def sr(self):
        if self._sr is None:
            if not self.registry_url:
                sys.exit("no schema registry: pass --registry or set SR_URL")
            self._sr = SchemaRegistryClient({"url": self.registry_url})
        return self._sr

    @property
    def producer(self):
        if self._producer is None:
            self._producer = Producer({
                "bootstrap.servers": self.bootstrap,
                "acks": "all",
                "enable.idempotence": True,
                # Java client's partitioner (murmur2), as ksqlDB uses.
                "partitioner": "murmur2_random",
                "linger.ms": 5,
            })
        return self._producer

    def serializer(self, schema, subject):
        return AvroSerializer(self.sr, json.dumps(schema), conf={
            "auto.register.schemas": True,
            "subject.name.strategy": lambda ctx, record_name: subject,
        })

    def send(self, topic, key, value, partition=None, timestamp=None, headers=None):
        """Produces one record; returns a report filled in on delivery."""
        rep = {"key_hex": None if key is None else key.hex(),
               "value_hex": None if value is None else value.hex()}
        if timestamp is not None:
            rep["timestamp"] = timestamp

        def on_delivery(err, msg):
            if err is not None:
                rep["error"] = str(err)
            else:
                rep["partition"] = msg.partition()
                rep["offset"] = msg.offset()

        kw = {"key": key, "value": value, "on_delivery": on_delivery}
        if partition is not None:
            kw["partition"] = partition
        if timestamp is not None:
            kw["timestamp"] = timestamp
        if headers:
            kw["headers"] = headers
        while True:
            try:
                self.producer.produce(topic, **kw)
                break
            except BufferError:
                self.producer.poll(0.1)
        self.producer.poll(0)
        return rep

    def flush(self, reports):
        left = self.producer.flush(30) if self._producer else 0
        if left:
            sys.exit(f"{left} records not delivered within 30 s")
        bad = [r for r in reports if "error" in r]
        if bad:
            sys.exit(f"delivery failed: {bad[0]['error']}")


def create_topic(stack, topic, partitions, config=None, if_not_exists=True):
    admin = AdminClient({"bootstrap.servers": stack.bootstrap})
    fut = admin.create_topics([NewTopic(topic, num_partitions=partitions,
                                        replication_factor=1, config=config or {})],
                              operation_timeout=30, request_timeout=30)[topic]
    created = True
    try:
        fut.result()
    except KafkaException as e:
        if if_not_exists and e.args[0].code() == KafkaError.TOPIC_ALREADY_EXISTS:
            created = False
        else:
            raise
    # Wait until metadata shows every partition with a leader.
    deadline = time.time() + 30
    while time.time() < deadline:
        md = admin.list_topics(topic=topic, timeout=10).topics.get(topic)
        if md and not md.error and md.partitions and all(
                p.leader >= 0 for p in md.partitions.values()):
            return {"topic": topic, "partitions": len(md.partitions), "created": created}
        time.sleep(0.1)
    sys.exit(f"topic {topic} has no leaders after 30 s")


def emit(args, doc):
    text = json.dumps(doc, indent=2, sort_keys=False)
    if args.out:
        tmp = args.out + ".tmp"
        with open(tmp, "w") as f:
            f.write(text + "\n")
        os.replace(tmp, args.out)
    print(text)


def schema_id_of(framed):
    return struct.unpack(">I", framed[1:5])[0]


def anomaly_value(card, email, n, amount, tx_ids, start):
    return {
        "card_number": card, "email_address": email, "n_attempts": n,
        "total_amount": amount, "tx_ids": tx_ids,
        "start_boundary": start, "end_boundary": start + WINDOW_MS,
    }


def produce_anomalies(stack, args, rows):
    """rows: list of (card, window_start, value dict with Decimal amount, ts)."""
    ser = stack.serializer(POSSIBLE_ANOMALY_SCHEMA, args.subject)
    ctx = SerializationContext(args.topic, MessageField.VALUE)
    reports = []
    session = getattr(args, "window_type", "tumbling") == "session"
    for card, start, value, ts in rows:
        key = window_key(card, start, start + WINDOW_MS if session else None)
        framed = ser(value, ctx)
        rep = stack.send(args.topic, key, framed, timestamp=ts)
        rep.update({"card_number": card, "window_start": start, "window_type":
                    "session" if session else "tumbling",
                    "window_end": start + WINDOW_MS, "schema_id": schema_id_of(framed),
                    "value": jsonable(value)})
        reports.append(rep)
    stack.flush(reports)
    ids = sorted({r["schema_id"] for r in reports})
    return {"topic": args.topic, "subject": args.subject,
            "schema_id": ids[0] if len(ids) == 1 else ids,
            "count": len(reports), "records": reports}


# ---------------------------------------------------------------- commands


def cmd_create_topic(stack, args):
    cfg = dict(kv.split("=", 1) for kv in args.config or [])
    emit(args, create_topic(stack, args.topic, args.partitions, cfg))


def cmd_anomalies(stack, args):
    if args.partitions:
        create_topic(stack, args.topic, args.partitions)
    rng = random.Random(args.seed)
    base = 1_700_000_010_000 - (1_700_000_010_000 % WINDOW_MS)
    rows = []
    # Deterministic cards/emails/amounts from the seed. Each anomaly is one
    # (card, window); it is emitted with n_attempts 3, then 1 more for each
    # refinement (same key, growing count and total, longer tx list).
    for i in range(args.count):
        card = "".join(str(rng.randrange(10)) for _ in range(16))
        email = f"user{i}-{rng.randrange(10**6):06d}@example.com"
        start = base + rng.randrange(0, 1000) * WINDOW_MS
        amounts = [decimal.Decimal(rng.randrange(1, 100_000)) / 100 for _ in range(3)]
        txs = [str(uuid.UUID(int=rng.getrandbits(128), version=4)) for _ in range(3)]
        for r in range(args.refinements + 1):
            if r:
                amounts.append(decimal.Decimal(rng.randrange(1, 100_000)) / 100)
                txs.append(str(uuid.UUID(int=rng.getrandbits(128), version=4)))
            total = sum(amounts, decimal.Decimal("0.00")).quantize(decimal.Decimal("0.01"))
            value = anomaly_value(card, email, len(txs), total, list(txs), start)
            rows.append((card, start, value, start + min(len(txs) * 1000, WINDOW_MS - 1)))
    doc = produce_anomalies(stack, args, rows)
    doc.update({"seed": args.seed, "anomalies": args.count, "refinements": args.refinements})
    emit(args, doc)


def cmd_golden(stack, args):
    if args.partitions:
        create_topic(stack, args.topic, args.partitions)
    g = dict(GOLDEN)
    g["total_amount"] = decimal.Decimal(g["total_amount"])
    rows = [(g["card_number"], g["start_boundary"], g, g["start_boundary"] + 9000)]
    if args.refinements:
        # Same window, a 4th, 5th ... transaction of 10.00 each.
        for r in range(1, args.refinements + 1):
            v = dict(g)
            v["n_attempts"] = 3 + r
            v["total_amount"] = g["total_amount"] + decimal.Decimal("10.00") * r
            v["tx_ids"] = g["tx_ids"] + [f"00000000-0000-4000-8000-{j:012d}" for j in range(1, r + 1)]
            rows.append((g["card_number"], g["start_boundary"], v, g["start_boundary"] + 9000 + r))
    emit(args, produce_anomalies(stack, args, rows))


def alltypes_value(rng, i):
    dec2 = decimal.Decimal(rng.randrange(-10**11, 10**11)) / 100
    dec4 = decimal.Decimal(rng.randrange(-10**17, 10**17)) / 10**4
    union_choices = [None, rng.randrange(-2**62, 2**62), f"s{i}",
                     {"a": i, "b": None}]
    return {
        "f_null": None,
        "f_boolean": bool(i % 2),
        "f_int": rng.randrange(-2**31, 2**31),
        "f_long": rng.randrange(-2**63, 2**63),
        "f_float": float(struct.unpack("<f", struct.pack("<f", rng.uniform(-1e6, 1e6)))[0]),
        "f_double": rng.uniform(-1e12, 1e12),
        "f_bytes": bytes(rng.randrange(256) for _ in range(rng.randrange(0, 12))),
        "f_string": f"h\u00e9llo \u2603 {i} \U0001F600",
        "f_record": {"a": i, "b": None if i % 2 else f"inner{i}"},
        "f_enum": ["RED", "GREEN", "BLUE"][i % 3],
        "f_array": [rng.randrange(-2**40, 2**40) for _ in range(i % 4)],
        "f_map": {f"k{j}": f"v{j}" for j in range(i % 3)},
        "f_union": union_choices[i % 4],
        "f_fixed": bytes(rng.randrange(256) for _ in range(4)),
        "f_decimal_bytes": dec2,
        "f_decimal_fixed": dec4,
        "f_uuid": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
        "f_date": (EPOCH + dt.timedelta(days=rng.randrange(0, 30000))).date(),
        "f_time_millis": dt.time(rng.randrange(24), rng.randrange(60), rng.randrange(60),
                                 rng.randrange(1000) * 1000),
        "f_time_micros": dt.time(rng.randrange(24), rng.randrange(60), rng.randrange(60),
                                 rng.randrange(10**6)),
        "f_timestamp_millis": EPOCH + dt.timedelta(milliseconds=rng.randrange(0, 2**41)),
        "f_timestamp_micros": EPOCH + dt.timedelta(microseconds=rng.randrange(0, 2**50)),
        "f_local_timestamp_millis": (EPOCH + dt.timedelta(milliseconds=rng.randrange(0, 2**41))
                                     ).replace(tzinfo=None),
        "f_opt_decimal": None if i % 2 else decimal.Decimal("-1.500"),
    }


def alltypes_expected(v):
    """The values as a decoder should render them: logical types as the
    underlying Avro numbers too, so a test can check either form."""
    e = jsonable(v)
    e["f_date"] = (v["f_date"] - EPOCH.date()).days
    t = v["f_time_millis"]
    e["f_time_millis"] = ((t.hour * 60 + t.minute) * 60 + t.second) * 1000 + t.microsecond // 1000
    t = v["f_time_micros"]
    e["f_time_micros"] = ((t.hour * 60 + t.minute) * 60 + t.second) * 10**6 + t.microsecond
    d = v["f_timestamp_millis"] - EPOCH
    e["f_timestamp_millis"] = (d.days * 86400 + d.seconds) * 1000 + d.microseconds // 1000
    d = v["f_timestamp_micros"] - EPOCH
    e["f_timestamp_micros"] = (d.days * 86400 + d.seconds) * 10**6 + d.microseconds
    d = v["f_local_timestamp_millis"] - EPOCH.replace(tzinfo=None)
    e["f_local_timestamp_millis"] = (d.days * 86400 + d.seconds) * 1000 + d.microseconds // 1000
    e["f_float"] = repr(v["f_float"])
    e["f_double"] = repr(v["f_double"])
    return e


def cmd_alltypes(stack, args):
    if args.partitions:
        create_topic(stack, args.topic, args.partitions)
    subject = args.subject or f"{args.topic}-value"
    ser = stack.serializer(ALL_TYPES_SCHEMA, subject)
    ctx = SerializationContext(args.topic, MessageField.VALUE)
    rng = random.Random(args.seed)
    reports = []
    for i in range(args.count):
        v = alltypes_value(rng, i)
        framed = ser(v, ctx)
        key = f"alltypes-{i}".encode()
        rep = stack.send(args.topic, key, framed)
        rep.update({"schema_id": schema_id_of(framed), "value": alltypes_expected(v)})
        reports.append(rep)
    stack.flush(reports)
    emit(args, {"topic": args.topic, "subject": subject, "schema": ALL_TYPES_SCHEMA,
                "schema_id": reports[0]["schema_id"] if reports else None,
                "seed": args.seed, "count": len(reports),
                "notes": "f_float/f_double are Python repr strings; f_date is days, "
                         "f_time_* and f_timestamp_* are the Avro int/long values; "
                         "bytes and fixed are hex; decimals are exact strings",
                "records": reports})


def load_json_arg(s):
    if s.startswith("@"):
        with open(s[1:]) as f:
            return json.load(f)
    return json.loads(s)


def from_avro_json(schema, v, names=None):
    """Avro JSON encoding -> Python values fastavro takes. Unions are
    {"branch": value} (or a bare value when unambiguous); bytes/fixed are
    hex strings; decimals are strings; other logical types their raw ints."""
    names = {} if names is None else names
    if isinstance(schema, str):
        if schema in names:
            return from_avro_json(names[schema], v, names)
        if schema in ("bytes",):
            return bytes.fromhex(v)
        return v
    if isinstance(schema, list):
        if v is None:
            return None
        if isinstance(v, dict) and len(v) == 1:
            (branch, inner), = v.items()
            for s in schema:
                # Branch names: a named type's (full) name, else the type.
                n = s if isinstance(s, str) else s.get("name") or s["type"]
                full = f"{s['namespace']}.{n}" if isinstance(s, dict) and s.get("namespace") else n
                if branch in (n, full, n.rsplit(".", 1)[-1]):
                    return from_avro_json(s, inner, names)
        non_null = [s for s in schema if s != "null"]
        return from_avro_json(non_null[0], v, names) if len(non_null) == 1 else v
    t = schema["type"]
    if "name" in schema:
        names[schema["name"]] = schema
    lt = schema.get("logicalType")
    if lt == "decimal":
        return decimal.Decimal(v)
    if t == "record":
        return {f["name"]: from_avro_json(f["type"], v.get(f["name"]), names)
                for f in schema["fields"]}
    if t == "array":
        return [from_avro_json(schema["items"], x, names) for x in v]
    if t == "map":
        return {k: from_avro_json(schema["values"], x, names) for k, x in v.items()}
    if t in ("bytes", "fixed"):
        return bytes.fromhex(v)
    return v


def cmd_avro(stack, args):
    schema = load_json_arg(args.schema)
    values = load_json_arg(args.value)
    if not isinstance(values, list):
        values = [values]
    subject = args.subject or f"{args.topic}-value"
    ser = stack.serializer(schema, subject)
    ctx = SerializationContext(args.topic, MessageField.VALUE)
    reports = []
    for i, v in enumerate(values):
        framed = ser(from_avro_json(schema, v), ctx)
        key = None if args.key is None else args.key.encode()
        rep = stack.send(args.topic, key, framed)
        rep.update({"schema_id": schema_id_of(framed), "value": v})
        reports.append(rep)
    stack.flush(reports)
    emit(args, {"topic": args.topic, "subject": subject,
                "schema_id": reports[0]["schema_id"] if reports else None,
                "count": len(reports), "records": reports})


def cmd_poison(stack, args):
    if args.partitions:
        create_topic(stack, args.topic, args.partitions)
    # A real registration first, so "unknown id" is really unknown and the
    # good frame is really good.
    ser = stack.serializer(POSSIBLE_ANOMALY_SCHEMA, args.subject)
    ctx = SerializationContext(args.topic, MessageField.VALUE)
    g = dict(GOLDEN)
    g["total_amount"] = decimal.Decimal(g["total_amount"])
    good = ser(g, ctx)
    sid = schema_id_of(good)
    unknown = args.unknown_id
    key = window_key(g["card_number"], g["start_boundary"])
    cases = [
        ("bad_magic", key, b"\x01" + good[1:]),
        ("unknown_schema_id", key, b"\x00" + struct.pack(">I", unknown) + good[5:]),
        ("truncated_avro", key, good[:len(good) // 2]),
        ("header_only", key, good[:5]),
        ("short_frame", key, good[:3]),
        ("empty_value", key, b""),
        ("tombstone", key, None),
        ("garbage_avro", key, good[:5] + b"\xff" * 16),
        ("unwindowed_key", g["card_number"].encode(), good),
        ("null_key", None, good),
        ("valid", key, good),
    ]
    reports = []
    for kind, k, v in cases:
        rep = stack.send(args.topic, k, v, partition=0)
        rep["kind"] = kind
        reports.append(rep)
    stack.flush(reports)
    emit(args, {"topic": args.topic, "subject": args.subject, "schema_id": sid,
                "unknown_schema_id": unknown, "count": len(reports), "records": reports})


def cmd_consume(stack, args):
    # No consumer group: assign every partition from the beginning, so
    # reading back never waits on a group coordinator.
    c = Consumer({
        "bootstrap.servers": stack.bootstrap,
        "group.id": args.group or "herald-stack-consume",
        "enable.auto.commit": False,
        "enable.partition.eof": True,
    })
    md = c.list_topics(topic=args.topic, timeout=10).topics.get(args.topic)
    if md is None or md.error or not md.partitions:
        sys.exit(f"topic {args.topic} not found")
    parts = sorted(md.partitions)
    c.assign([TopicPartition(args.topic, p, OFFSET_BEGINNING) for p in parts])
    at_eof = set()
    deser = AvroDeserializer(stack.sr) if stack.registry_url else None
    out = []
    deadline = time.time() + args.timeout
    # --count 0: everything up to the current end of every partition.
    try:
        while time.time() < deadline:
            if args.count and len(out) >= args.count:
                break
            if not args.count and len(at_eof) == len(parts):
                break
            m = c.poll(0.2)
            if m is None:
                continue
            if m.error():
                if m.error().code() == KafkaError._PARTITION_EOF:
                    at_eof.add(m.partition())
                    continue
                raise KafkaException(m.error())
            at_eof.discard(m.partition())
            v = m.value()
            rec = {"partition": m.partition(), "offset": m.offset(),
                   "timestamp": m.timestamp()[1],
                   "key_hex": None if m.key() is None else m.key().hex(),
                   "value_hex": None if v is None else v.hex()}
            k = m.key()
            if k is not None and len(k) > 8:
                try:
                    rec["key_prefix"] = k[:-8].decode("utf-8")
                    rec["window_start"] = struct.unpack(">q", k[-8:])[0]
                except UnicodeDecodeError:
                    pass
            if v is not None and len(v) > 5 and v[0] == 0 and deser is not None:
                rec["schema_id"] = schema_id_of(v)
                try:
                    rec["value"] = jsonable(deser(v, SerializationContext(
                        args.topic, MessageField.VALUE)))
                except Exception as e:  # poison records: report, go on
                    rec["decode_error"] = f"{type(e).__name__}: {e}"
            out.append(rec)
    finally:
        c.close()
    out.sort(key=lambda r: (r["partition"], r["offset"]))
    emit(args, {"topic": args.topic, "count": len(out), "records": out})
    if len(out) < args.count or (not args.count and len(at_eof) < len(parts)):
        sys.exit(f"only {len(out)} of {args.count} records within {args.timeout} s")


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--bootstrap", default=os.environ.get("KAFKA_BOOTSTRAP", "127.0.0.1:39092"))
    p.add_argument("--registry", default=os.environ.get("SR_URL"))
    p.add_argument("--out", help="also write the JSON report to this file")
    sub = p.add_subparsers(dest="cmd", required=True)

    def add(name, fn, help_, partitions=None):
        s = sub.add_parser(name, help=help_)
        s.add_argument("--topic", required=True)
        s.add_argument("--partitions", type=int, default=partitions,
                       help="create the topic with P partitions if it does not exist")
        s.add_argument("--out", default=argparse.SUPPRESS)
        s.set_defaults(fn=fn)
        return s

    s = add("create-topic", cmd_create_topic, "create a topic (no-op if it exists)", 1)
    s.add_argument("--config", action="append", help="topic config k=v (repeatable)")
    s = add("anomalies", cmd_anomalies, "possible_anomalies rows with refinements")
    s.add_argument("--count", type=int, default=1)
    s.add_argument("--refinements", type=int, default=0)
    s.add_argument("--seed", type=int, default=1)
    s.add_argument("--subject", default=ANOMALY_SUBJECT)
    s.add_argument("--window-type", choices=["tumbling", "session"], default="tumbling",
                   help="key suffix: start (tumbling/hopping) or end+start (session)")
    s = add("golden", cmd_golden, "the tutorial's row, byte for byte")
    s.add_argument("--refinements", type=int, default=0)
    s.add_argument("--subject", default=ANOMALY_SUBJECT)
    s = add("alltypes", cmd_alltypes, "records of a schema using every Avro type")
    s.add_argument("--count", type=int, default=4)
    s.add_argument("--seed", type=int, default=1)
    s.add_argument("--subject")
    s = add("avro", cmd_avro, "arbitrary schema and values (Avro JSON encoding)")
    s.add_argument("--schema", required=True, help="JSON text or @file")
    s.add_argument("--value", required=True, help="JSON value, list of values, or @file")
    s.add_argument("--key")
    s.add_argument("--subject")
    s = add("poison", cmd_poison, "deliberately broken records, all on partition 0")
    s.add_argument("--subject", default=ANOMALY_SUBJECT)
    s.add_argument("--unknown-id", type=int, default=987654)
    s = add("consume", cmd_consume, "read records back (and decode Avro)")
    s.add_argument("--count", type=int, default=0, help="stop after N records (0: at the end)")
    s.add_argument("--timeout", type=float, default=30)
    s.add_argument("--group")

    args = p.parse_args(argv)
    if not hasattr(args, "out"):
        args.out = None
    args.fn(Stack(args), args)


if __name__ == "__main__":
    main()
