"""Type hints of kpipe (the native module kpipe._kpipe). See docs/python.md."""
import datetime
import os
from typing import Any, Awaitable, Callable, Iterator, Literal, Mapping, Optional, Sequence, Union, final

__all__ = [
    "ERROR_CODES", "Admin", "Client", "ClosedError", "ConfigError", "Consumer", "ForkError",
    "HandlerError", "InputError", "InternalError", "KafkaError", "KpipeError", "Message",
    "MessageStream", "MigrationPlan", "OffsetsError", "Producer", "RecordMetadata",
    "RegistryError", "Schema", "SchemaError", "SerializationError", "__version__",
]

__version__: str

#: (code, exception class name) for every code of the core (docs/errors.md).
ERROR_CODES: list[tuple[str, str]]

Headers = Union[Mapping[str, Union[bytes, str, None]], Sequence[tuple[str, Union[bytes, str, None]]]]
Timestamp = Union[int, datetime.datetime]
Start = Union[Literal["committed", "earliest", "latest"], int, datetime.datetime, None]
SerdeName = Literal["bytes", "string", "json", "avro"]
# The schema consumers read Avro records as (set_serializer reader=/key_reader=).
ReaderName = Literal["schema", "writer", "latest"]

class KpipeError(Exception):
    """Base class of every kpipe error."""
    code: str
    message: str
    retriable: bool
    fatal: bool
    # the core's details record, None where unknown (docs/errors.md, "Details")
    field: Optional[str]
    cluster: Optional[str]
    topic: Optional[str]
    partition: Optional[int]
    offset: Optional[int]
    subject: Optional[str]
    schema_id: Optional[int]

class ConfigError(KpipeError): ...        # config.*, route.*
class RegistryError(KpipeError): ...      # registry.*
class SchemaError(KpipeError): ...        # schema.*
class SerializationError(KpipeError): ... # serde.*
class KafkaError(KpipeError): ...         # kafka.*, topic.not_found
class OffsetsError(KpipeError): ...       # offsets.*
class InputError(KpipeError): ...         # input.invalid
class ClosedError(KpipeError): ...        # closed
class HandlerError(KpipeError): ...       # handler.failed
class ForkError(KpipeError): ...          # process.forked
class InternalError(KpipeError): ...      # internal

@final
class RecordMetadata:
    cluster: str
    topic: str
    partition: int
    offset: int
    timestamp: Optional[int]

@final
class Client:
    @staticmethod
    def from_file(path: Union[str, os.PathLike[str]]) -> Client: ...
    @staticmethod
    def from_dict(config: Mapping[str, Any]) -> Client: ...
    @staticmethod
    def from_yaml(text: str) -> Client: ...
    def set_serializer(
        self,
        topic: str,
        *,
        key: SerdeName = "bytes",
        value: SerdeName = "bytes",
        schema: Union[str, Mapping[str, Any], None] = None,
        key_schema: Union[str, Mapping[str, Any], None] = None,
        reader: Optional[ReaderName] = None,
        key_reader: Optional[ReaderName] = None,
    ) -> None: ...
    def cluster_for(self, topic: str) -> str: ...
    def producer(self) -> Producer: ...
    def consumer(
        self,
        group: str,
        topics: Union[str, Sequence[str]],
        start: Start = None,
        *,
        commit: Optional[Literal["after-handle", "manual", "auto"]] = None,
        ack: Optional[Literal["implicit", "explicit"]] = None,
        properties: Optional[Mapping[str, Any]] = None,
    ) -> Consumer: ...
    @property
    def admin(self) -> Admin: ...
    def flush(self, timeout: float = 30.0) -> None: ...
    def close(self) -> None: ...
    def __enter__(self) -> Client: ...
    def __exit__(self, *args: Any) -> bool: ...

@final
class Producer:
    def send(
        self,
        topic: str,
        value: Any,
        key: Any = None,
        headers: Optional[Headers] = None,
        timestamp: Optional[Timestamp] = None,
    ) -> RecordMetadata: ...
    def send_many(
        self,
        topic: str,
        values: Sequence[Any],
        keys: Optional[Sequence[Any]] = None,
        headers: Optional[Headers] = None,
    ) -> list[Union[RecordMetadata, KpipeError]]: ...
    def send_async(
        self,
        topic: str,
        value: Any,
        key: Any = None,
        headers: Optional[Headers] = None,
        timestamp: Optional[Timestamp] = None,
    ) -> Awaitable[RecordMetadata]: ...
    def flush(self, timeout: float = 30.0) -> None: ...
    def __enter__(self) -> Producer: ...
    def __exit__(self, *args: Any) -> bool: ...

@final
class Message:
    @property
    def topic(self) -> str: ...
    @property
    def partition(self) -> int: ...
    @property
    def offset(self) -> int: ...
    @property
    def timestamp(self) -> Optional[int]: ...
    @property
    def headers(self) -> list[tuple[str, Optional[bytes]]]: ...
    def header(self, name: str) -> Optional[bytes]: ...
    @property
    def raw_key(self) -> Optional[bytes]: ...
    @property
    def raw_value(self) -> Optional[bytes]: ...
    @property
    def key(self) -> Any: ...
    @property
    def value(self) -> Any: ...

@final
class MessageStream:
    def __aiter__(self) -> MessageStream: ...
    def __anext__(self) -> Awaitable[Message]: ...

@final
class Consumer:
    def poll(self, timeout: Optional[float] = None) -> Optional[Message]: ...
    def __iter__(self) -> Iterator[Message]: ...
    def __next__(self) -> Message: ...
    def commit(self, msg: Optional[Message] = None) -> None: ...
    def ack(self, msg: Message) -> None: ...
    def run(self, handler: Callable[[Message], Any]) -> None: ...
    def stop(self) -> None: ...
    def stream(self) -> MessageStream: ...
    def seek_to_time(self, when: Timestamp) -> list[tuple[str, int, int]]: ...
    def seek(self, topic: str, partition: int, offset: int) -> None: ...
    def assignment(self) -> list[tuple[str, int]]: ...
    def position(self) -> list[tuple[str, int, int]]: ...
    def close(self) -> None: ...
    def __enter__(self) -> Consumer: ...
    def __exit__(self, exc_type: Any = None, exc: Any = None, tb: Any = None) -> bool: ...

@final
class MigrationPlan:
    def to_dict(self) -> dict[str, Any]: ...
    def commits(self) -> list[tuple[str, int, int]]: ...

@final
class Admin:
    def offsets_for_time(self, topic: str, when: Timestamp, cluster: Optional[str] = None) -> dict[int, int]: ...
    def export(self, group: str, topics: Union[str, Sequence[str], None] = None, cluster: Optional[str] = None) -> dict[str, Any]: ...
    def import_(
        self, doc: Union[str, Mapping[str, Any]], group: Optional[str] = None, force: bool = False, cluster: Optional[str] = None
    ) -> list[dict[str, Any]]: ...
    def reset(
        self,
        group: str,
        topics: Union[str, Sequence[str]],
        to: Union[Literal["earliest", "latest"], Timestamp, Mapping[int, int]],
        force: bool = False,
        dry_run: bool = False,
        cluster: Optional[str] = None,
    ) -> list[dict[str, Any]]: ...
    def migrate_plan(
        self,
        group: str,
        source: str,
        target: str,
        topics: Union[str, Sequence[str], None] = None,
        strategy: Literal["timestamp", "checkpoint"] = "timestamp",
        source_alias: Optional[str] = None,
    ) -> MigrationPlan: ...
    def migrate_apply(self, plan: MigrationPlan, force: bool = False) -> dict[str, Any]: ...

@final
class Schema:
    def __new__(cls, schema: Union[str, Mapping[str, Any], Sequence[Any]]) -> "Schema": ...
    @property
    def name(self) -> Optional[str]: ...
    def encode(self, value: Any) -> bytes: ...
    def decode(self, body: bytes) -> Any: ...
    def to_json(self, body: bytes) -> str: ...
