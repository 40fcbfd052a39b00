#!/usr/bin/env python3
"""Writes tests/conformance/avro/vectors.jsonl from avro/cases.jsonl using fastavro, an Avro
implementation no one here wrote. See tests/conformance/README.md for the format.

    .venv/bin/python tests/conformance/generate.py            # regenerate
    .venv/bin/python tests/conformance/generate.py --check    # fail if vectors.jsonl is stale

For every valid case: natural JSON input -> fastavro's input types (Decimal, UUID, date, time,
datetime, bytes, tuple notation for the union branch the natural-JSON rule picks) ->
fastavro.schemaless_writer -> `body_hex`; then fastavro.schemaless_reader on those bytes ->
natural JSON text forms -> `output` (unless the case gives `output` itself). For error cases
fastavro is asked too, and `fastavro_rejects` records whether it agrees.
"""
import base64
import binascii
import datetime as dt
import decimal
import io
import json
import math
import os
import sys
import uuid

import fastavro

HERE = os.path.dirname(os.path.abspath(__file__))
CASES = os.path.join(HERE, "avro", "cases.jsonl")
VECTORS = os.path.join(HERE, "avro", "vectors.jsonl")
UTC = dt.timezone.utc
decimal.getcontext().prec = 200
EPOCH = dt.datetime(1970, 1, 1, tzinfo=UTC)
EPOCH_NAIVE = dt.datetime(1970, 1, 1)


class Reject(Exception):
    pass


def load_schema(case):
    if "schema_file" in case:
        with open(os.path.join(HERE, case["schema_file"])) as f:
            return json.load(f)
    return case["schema"]


class Walker:
    """Walks a schema JSON with named types resolved (full names with namespace inheritance)."""

    def __init__(self):
        self.names = {}

    def full(self, name, ns):
        if "." in name or not ns:
            return name
        return f"{ns}.{name}"

    def resolve(self, s, ns):
        if isinstance(s, str) and s not in PRIMS:
            full = self.full(s, ns)
            return self.names.get(full) or self.names[s], self.ns_of(full)
        if isinstance(s, dict) and s.get("type") in ("record", "enum", "fixed", "error"):
            full = self.full(s["name"], s.get("namespace", ns))
            self.names.setdefault(full, s)
            return s, self.ns_of(full)
        if isinstance(s, dict) and isinstance(s.get("type"), (dict, list)):
            return self.resolve(s["type"], ns)
        return s, ns

    @staticmethod
    def ns_of(full):
        return full.rsplit(".", 1)[0] if "." in full else None

    def branch_name(self, s, ns):
        s, ns2 = self.resolve(s, ns)
        if isinstance(s, str):
            return s
        if isinstance(s, list):
            return "union"
        t = s["type"]
        if t in ("record", "enum", "fixed", "error"):
            return self.full(s["name"], s.get("namespace", ns))
        return t

    def register_all(self, s, ns=None):
        s, ns = self.resolve(s, ns)
        if isinstance(s, list):
            for b in s:
                self.register_all(b, ns)
        elif isinstance(s, dict):
            t = s["type"]
            if t in ("record", "error"):
                if s.get("_seen"):
                    return
                s["_seen"] = True
                for f in s["fields"]:
                    self.register_all(f["type"], ns)
                del s["_seen"]
            elif t == "array":
                self.register_all(s["items"], ns)
            elif t == "map":
                self.register_all(s["values"], ns)


PRIMS = {"null", "boolean", "int", "long", "float", "double", "bytes", "string"}


def b64(text):
    if not isinstance(text, str):
        raise Reject("not a string")
    try:
        return base64.b64decode(text + "=" * (-len(text) % 4), validate=True)
    except (binascii.Error, ValueError):
        raise Reject("not base64")


def is_int(v):
    return isinstance(v, int) and not isinstance(v, bool)


def parse_ts(text, local):
    if not isinstance(text, str):
        raise Reject("not a string")
    try:
        d = dt.datetime.fromisoformat(text.replace("z", "Z"))
    except ValueError:
        raise Reject("bad timestamp")
    if local:
        if d.tzinfo is not None:
            raise Reject("local timestamp with an offset")
        return d
    return d if d.tzinfo is not None else d.replace(tzinfo=UTC)


def to_fastavro(w, s, v, ns, strict=False, dflt=False):
    """Natural JSON -> fastavro datum, raising Reject when the value does not fit."""
    s, ns = w.resolve(s, ns)
    if isinstance(s, list):
        if dflt:  # Avro defaults of unions are for the first branch
            return (w.branch_name(s[0], ns), to_fastavro(w, s[0], v, ns, dflt=True))
        return union(w, s, v, ns)
    t = s if isinstance(s, str) else s["type"]
    lt = None if isinstance(s, str) else s.get("logicalType")
    if t == "null":
        if v is not None:
            raise Reject("not null")
        return None
    if t == "boolean":
        if not isinstance(v, bool):
            raise Reject("not bool")
        return v
    if lt == "decimal" and t in ("bytes", "fixed"):
        if isinstance(v, bool) or not isinstance(v, (str, int, float)):
            raise Reject("not a decimal")
        try:
            d = decimal.Decimal(repr(v) if isinstance(v, float) else str(v))
        except decimal.InvalidOperation:
            raise Reject("bad decimal")
        if not d.is_finite():
            raise Reject("not finite")
        return d
    if lt == "uuid" and t == "string":
        try:
            return uuid.UUID(v) if isinstance(v, str) and len(v) == 36 else (_ for _ in ()).throw(Reject("uuid"))
        except ValueError:
            raise Reject("bad uuid")
    if t in ("int", "long"):
        if lt in ("date", "time-millis", "time-micros") and isinstance(v, str):
            try:
                if lt == "date":
                    return dt.date.fromisoformat(v)
                return dt.time.fromisoformat(v)
            except ValueError:
                raise Reject("bad date/time")
        if lt in ("timestamp-millis", "timestamp-micros") and isinstance(v, str):
            return parse_ts(v, False)
        if lt in ("local-timestamp-millis", "local-timestamp-micros") and isinstance(v, str):
            return parse_ts(v, True)
        if not is_int(v):
            raise Reject("not an integer")
        lo, hi = (-(2**31), 2**31 - 1) if t == "int" else (-(2**63), 2**63 - 1)
        if not lo <= v <= hi:
            raise Reject("out of range")
        return v
    if t in ("float", "double"):
        if v in ("NaN", "Infinity", "-Infinity"):
            return float(v.replace("Infinity", "inf"))
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            raise Reject("not a number")
        return float(v)
    if t in ("bytes", "fixed") and dflt:  # Avro defaults: ISO-8859-1 strings
        return v.encode("latin-1")
    if t == "bytes":
        return b64(v)
    if t == "string":
        if not isinstance(v, str):
            raise Reject("not a string")
        return v
    if t == "fixed":
        b = b64(v)
        if len(b) != s["size"]:
            raise Reject("wrong size")
        return b
    if t == "enum":
        if v not in s["symbols"]:
            raise Reject("unknown symbol")
        return v
    if t == "array":
        if not isinstance(v, list):
            raise Reject("not a list")
        return [to_fastavro(w, s["items"], x, ns, dflt=dflt) for x in v]
    if t == "map":
        if not isinstance(v, dict):
            raise Reject("not an object")
        return {k: to_fastavro(w, s["values"], x, ns, dflt=dflt) for k, x in v.items()}
    if t in ("record", "error"):
        if not isinstance(v, dict):
            raise Reject("not an object")
        names = {f["name"] for f in s["fields"]}
        if strict and any(k not in names for k in v):
            raise Reject("unknown key")
        out = {}
        for f in s["fields"]:
            if f["name"] in v:
                out[f["name"]] = to_fastavro(w, f["type"], v[f["name"]], ns, dflt=dflt)
            elif "default" not in f:
                raise Reject(f"missing field {f['name']}")
            else:  # the schema default, read by Avro's JSON default rules
                out[f["name"]] = to_fastavro(w, f["type"], f["default"], ns, dflt=True)
        return out
    raise Reject(f"unsupported type {t}")


def union(w, branches, v, ns):
    names = [w.branch_name(b, ns) for b in branches]
    if v is None and "null" in names:
        return None
    if isinstance(v, dict) and len(v) == 1:
        (k, inner), = v.items()
        for i, n in enumerate(names):
            if n == k or ("." in n and n.rsplit(".", 1)[1] == k):
                return (n, to_fastavro(w, branches[i], inner, ns))
    maplike = sum(1 for b in branches if (lambda r: isinstance(r, dict) and r.get("type") in ("record", "map", "error"))(w.resolve(b, ns)[0]))
    for i, b in enumerate(branches):
        try:
            return (names[i], to_fastavro(w, b, v, ns, strict=maplike > 1))
        except Reject:
            continue
    raise Reject("no union branch accepts the value")


def to_natural(w, s, v, ns):
    """fastavro's decoded datum -> natural JSON (unions unwrapped)."""
    s, ns = w.resolve(s, ns)
    if isinstance(s, list):
        if v is None:
            return None
        # fastavro returns the bare value; find the branch by trying to match its type.
        for b in s:
            try:
                return to_natural(w, b, v, ns)
            except Reject:
                continue
        raise Reject("no branch")
    t = s if isinstance(s, str) else s["type"]
    lt = None if isinstance(s, str) else s.get("logicalType")
    if t == "null":
        if v is not None:
            raise Reject("x")
        return None
    if lt == "decimal" and isinstance(v, decimal.Decimal):
        q = v.quantize(decimal.Decimal(1).scaleb(-s.get("scale", 0)))
        text = format(q, "f")
        return text
    if lt == "uuid" and isinstance(v, uuid.UUID):
        return str(v)
    if isinstance(v, dt.datetime):
        frac = 3 if lt.endswith("millis") else 6
        if v.tzinfo is not None:
            v = v.astimezone(UTC).replace(tzinfo=None)
            z = "Z"
        else:
            z = ""
        if not 0 <= v.year <= 9999:
            raise Reject("year")
        return v.strftime("%Y-%m-%dT%H:%M:%S") + f".{v.microsecond:06d}"[: frac + 1] + z
    if isinstance(v, dt.date) and lt == "date":
        return v.isoformat()
    if isinstance(v, dt.time):
        frac = 3 if lt == "time-millis" else 6
        return v.strftime("%H:%M:%S") + f".{v.microsecond:06d}"[: frac + 1]
    if t == "boolean":
        if not isinstance(v, bool):
            raise Reject("x")
        return v
    if t in ("int", "long"):
        if not is_int(v):
            raise Reject("x")
        return v
    if t in ("float", "double"):
        if not isinstance(v, float):
            raise Reject("x")
        if math.isnan(v):
            return "NaN"
        if math.isinf(v):
            return "Infinity" if v > 0 else "-Infinity"
        # a float is its float32's exact value as a double (fastavro's, Java's and kpipe's rule)
        return v
    if t in ("bytes", "fixed"):
        if not isinstance(v, bytes):
            raise Reject("x")
        return base64.b64encode(v).decode()
    if t == "string":
        if not isinstance(v, str):
            raise Reject("x")
        return v
    if t == "enum":
        if v not in s["symbols"]:
            raise Reject("x")
        return v
    if t == "array":
        if not isinstance(v, list):
            raise Reject("x")
        return [to_natural(w, s["items"], x, ns) for x in v]
    if t == "map":
        if not isinstance(v, dict):
            raise Reject("x")
        return {k: to_natural(w, s["values"], x, ns) for k, x in v.items()}
    if t in ("record", "error"):
        if not isinstance(v, dict) or set(v) != {f["name"] for f in s["fields"]}:
            raise Reject("x")
        return {f["name"]: to_natural(w, f["type"], v[f["name"]], ns) for f in s["fields"]}
    raise Reject(t)


def run(case):
    schema = load_schema(case)
    w = Walker()
    w.register_all(json.loads(json.dumps(schema)))
    parsed = fastavro.parse_schema(json.loads(json.dumps(schema)))
    out = {k: v for k, v in case.items()}
    if "error" in case:
        try:
            datum = to_fastavro(w, schema, case["input"], None)
            buf = io.BytesIO()
            fastavro.schemaless_writer(buf, parsed, datum)
            out["fastavro_rejects"] = False
        except Exception:  # noqa: BLE001 - any refusal counts
            out["fastavro_rejects"] = True
        return out
    datum = to_fastavro(w, schema, case["input"], None)
    buf = io.BytesIO()
    fastavro.schemaless_writer(buf, parsed, datum)
    body = buf.getvalue()
    if "body_hex" in case and case["body_hex"] != body.hex():
        # A case may pin bytes where fastavro deviates from Java (see README); keep them.
        out["fastavro_hex"] = body.hex()
    else:
        out["body_hex"] = body.hex()
    if "output" not in case:
        back = fastavro.schemaless_reader(io.BytesIO(body), parsed)
        natural = to_natural(w, schema, back, None)
        if json.dumps(natural) != json.dumps(case["input"]):
            out["output"] = natural
    return out


def main():
    lines = []
    with open(CASES) as f:
        for n, line in enumerate(f, 1):
            line = line.strip()
            if not line or line.startswith("//"):
                continue
            case = json.loads(line)
            try:
                lines.append(json.dumps(run(case), ensure_ascii=False, separators=(",", ":")))
            except Exception as e:  # noqa: BLE001
                sys.exit(f"cases.jsonl:{n} ({case.get('name')}): {type(e).__name__}: {e}")
    text = "\n".join(lines) + "\n"
    if "--check" in sys.argv:
        with open(VECTORS) as f:
            if f.read() != text:
                sys.exit("vectors.jsonl is stale: run tests/conformance/generate.py")
        print(f"{len(lines)} vectors up to date")
        return
    with open(VECTORS, "w") as f:
        f.write(text)
    print(f"wrote {len(lines)} vectors to {os.path.relpath(VECTORS)}")


if __name__ == "__main__":
    main()
