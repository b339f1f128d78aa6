"""Issue 4, acceptance 2: a golden test over a schema holding every Avro type
and logical type (the stack producer's `alltypes`, values made in Python and
encoded by confluent-kafka's AvroSerializer), compared field by field with
`herald tail`; then two versions of one subject's schema interleaved in one
partition, each record decoded with its own writer schema.

How herald renders what JSON has no type for (checked exactly here):
bytes and fixed as a string of code points 0-255 (Avro's JSON encoding),
decimals as exact strings, date/time/timestamp logical types as their Avro
int/long, float as a number that reads back to the same 32-bit float, double
as a number that reads back to the same 64-bit double."""

import decimal
import struct

import itlib
from itlib import check, check_eq

T = itlib.run_id("it4-alltypes")
N = 12
doc = itlib.produce("alltypes", "--topic", T, "--partitions", "1",
                    "--count", str(N), "--seed", "4")
reps = doc["records"]
check_eq("records produced", N, len(reps))
fields = [f["name"] for f in doc["schema"]["fields"]]

cfg = itlib.write_config("""\
kafka: {{ bootstrap.servers: "{bs}" }}
schema_registry: {{ url: "{sr}" }}
connectors:
  - name: at
    topics: [{t}]
    key: {{ format: string }}
    value: {{ format: avro }}
    sink: {{ plugin: null }}
""".format(bs=itlib.BOOTSTRAP, sr=itlib.SR_URL, t=T))
got, _ = itlib.tail(cfg, "at", N)
check_eq("records printed", N, len(got))
by = {r["offset"]: r for r in got}


SCALE = {"f_decimal_bytes": 2, "f_decimal_fixed": 4, "f_opt_decimal": 3}


def f32(x):
    return struct.unpack("<f", struct.pack("<f", float(x)))[0]


def latin1_hex(s):
    return bytes(ord(c) for c in s).hex() if all(ord(c) < 256 for c in s) else None


def normal(name, exp, act):
    """(expected, actual) in a comparable form for one field."""
    if name == "f_float":
        return float(exp), f32(act) if isinstance(act, (int, float)) else act
    if name == "f_double":
        return float(exp), float(act) if isinstance(act, (int, float)) else act
    if name in SCALE and exp is not None:
        # The producer's report drops trailing zeros (Python's Decimal);
        # herald must print exactly the schema's scale.
        q = decimal.Decimal(1).scaleb(-SCALE[name])
        return format(decimal.Decimal(exp).quantize(q), "f"), act
    if name in ("f_bytes", "f_fixed"):
        return exp, latin1_hex(act) if isinstance(act, str) else act
    return exp, act


diffs = {}
for rep in reps:
    r = by.get(rep["offset"])
    check("offset %d decoded" % rep["offset"], r is not None)
    check_eq("offset %d key" % rep["offset"], "alltypes-%d" % rep["offset"], r["key"])
    check_eq("offset %d fields in writer-schema order" % rep["offset"], fields,
             list(r["value"].keys()))
    for name in fields:
        e, a = normal(name, rep["value"][name], r["value"][name])
        if e != a:
            diffs.setdefault(name, (rep["offset"], e, a))
check_eq("fields that differ from the produced values (field: offset, "
         "expected, got)", {}, diffs)

# Every branch of the union and both record/array/map shapes were covered.
unions = [type(by[o]["value"]["f_union"]).__name__ for o in range(4)]
check_eq("f_union branches seen (null, long, string, record)",
         ["NoneType", "int", "str", "dict"], unions)
check_eq("f_opt_decimal null and present", [None, "-1.500"],
         [by[1]["value"]["f_opt_decimal"], by[0]["value"]["f_opt_decimal"]])

# ---- two versions of one subject's schema in one partition -------------
T2 = itlib.run_id("it4-versions")
itlib.create_topic(T2, 1)
V1 = {"type": "record", "name": "Evt", "namespace": "herald.it4",
      "fields": [{"name": "a", "type": "int"}, {"name": "b", "type": "string"}]}
V2 = {"type": "record", "name": "Evt", "namespace": "herald.it4",
      "fields": [{"name": "b", "type": "string"},
                 {"name": "c", "type": ["null", "long"], "default": None},
                 {"name": "a", "type": "long"}]}
s1 = itlib.serializer(V1, T2 + "-value")
s2 = itlib.serializer(V2, T2 + "-value")
bulk = itlib.Bulk()
expected = []
for i in range(8):
    if i % 2 == 0:
        v = {"a": 1000 + i, "b": "v1-%d" % i}
        framed = s1(v, T2)
    else:
        v = {"b": "v2-%d" % i, "c": None if i % 4 == 1 else -(2 ** 40) - i,
             "a": 2 ** 35 + i}
        framed = s2(v, T2)
    bulk.send(T2, b"k", framed, partition=0)
    expected.append((itlib.schema_id(framed), v))
bulk.flush()
ids = sorted({e[0] for e in expected})
check_eq("two schema ids in the topic", 2, len(ids))
cfg2 = itlib.write_config("""\
kafka: {{ bootstrap.servers: "{bs}" }}
schema_registry: {{ url: "{sr}" }}
connectors:
  - name: ver
    topics: [{t}]
    key: {{ format: string }}
    value: {{ format: avro }}
    sink: {{ plugin: null }}
""".format(bs=itlib.BOOTSTRAP, sr=itlib.SR_URL, t=T2))
got2, _ = itlib.tail(cfg2, "ver", len(expected))
check_eq("versioned records printed", len(expected), len(got2))
check_eq("each record decoded with its own writer schema (values and field "
         "order)", [list(v.items()) for _, v in expected],
         [list(r["value"].items()) for r in sorted(got2, key=lambda r: r["offset"])])
itlib.done("golden_alltypes")
