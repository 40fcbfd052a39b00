"""kpipe: one Kafka SDK for every language team (Rust core, thin bindings).

    import kpipe
    client = kpipe.Client.from_file("kpipe.yaml")
    with client.producer() as producer:
        meta = producer.send("orders.eu", {"order_id": "..."}, key="o-1")
    with client.consumer(group="billing", topics=["orders.eu"], start="earliest") as consumer:
        for msg in consumer:
            print(msg.value)

Every behaviour (routing, Avro through the schema registry, retries, the dead-letter topic,
commits, offsets) is the Rust core's; this package converts values and errors. See
docs/python.md.
"""

from kpipe._kpipe import (
    ERROR_CODES,
    Admin,
    Client,
    ClosedError,
    ConfigError,
    Consumer,
    ForkError,
    HandlerError,
    InputError,
    InternalError,
    KafkaError,
    KpipeError,
    Message,
    MessageStream,
    MigrationPlan,
    OffsetsError,
    Producer,
    RecordMetadata,
    RegistryError,
    Schema,
    SchemaError,
    SerializationError,
    __version__,
)

# At interpreter exit, records accepted by any send (un-awaited send_async futures included)
# are delivered before the process ends, within KPIPE_EXIT_TIMEOUT seconds (default 30); what
# is still undelivered then is reported on stderr. Never silently dropped.
import atexit as _atexit
import os as _os

from kpipe._kpipe import _flush_at_exit


def _at_exit():
    try:
        timeout = float(_os.environ.get("KPIPE_EXIT_TIMEOUT", "30"))
    except ValueError:
        timeout = 30.0
    _flush_at_exit(timeout)


_atexit.register(_at_exit)

__all__ = [
    "Admin",
    "Client",
    "ClosedError",
    "ConfigError",
    "Consumer",
    "ERROR_CODES",
    "ForkError",
    "HandlerError",
    "InputError",
    "InternalError",
    "KafkaError",
    "KpipeError",
    "Message",
    "MessageStream",
    "MigrationPlan",
    "OffsetsError",
    "Producer",
    "RecordMetadata",
    "RegistryError",
    "Schema",
    "SchemaError",
    "SerializationError",
    "__version__",
]
