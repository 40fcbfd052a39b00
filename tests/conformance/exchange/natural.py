"""The protocol's orders as Python values and back (README.md here), shared by the Python
agents: the kpipe one (agent.py) and confluent-kafka's (foreign/confluent_python.py) take and
give the same natives (uuid.UUID, Decimal, aware datetime)."""
import datetime as dt
import decimal
import uuid

UTC = dt.timezone.utc
EPOCH = dt.datetime(1970, 1, 1, tzinfo=UTC)


def native(order):
    """One order of natural JSON as the values a Python user sends."""
    o = dict(order)
    o["order_id"] = uuid.UUID(o["order_id"])
    o["amount"] = decimal.Decimal(o["amount"])
    o["created_at"] = dt.datetime.fromtimestamp(o["created_at"] / 1000, UTC)
    return o


def natural(value):
    """The decoded native value written back as the protocol's natural JSON."""
    if value is None:
        return None
    v = dict(value)
    v["order_id"] = str(v["order_id"])
    v["amount"] = str(v["amount"])
    # exact integer milliseconds: timedelta arithmetic, not float seconds
    v["created_at"] = (v["created_at"] - EPOCH) // dt.timedelta(milliseconds=1)
    return v
