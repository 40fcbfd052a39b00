<?php
// Stubs of the `kpipe` extension for IDEs and static analysis (PHPStan, Psalm). Never
// include this file at run time: the extension defines these classes. tests/StubsTest.php
// checks it against the loaded extension (classes, methods, parameters, properties).

namespace Kpipe;

/** A kpipe client for one kpipe.yaml; reused by later requests of the same process. */
final class Client
{
    /** Reads kpipe.yaml (with KPIPE_... env overrides). Nothing connects yet. */
    public static function fromFile(string $path): Client {}
    /** YAML (or JSON) text shaped like kpipe.yaml. */
    public static function fromYaml(string $yaml): Client {}
    /**
     * Serializers of $topic: "bytes" | "string" | "json" | "avro" (with the writer schema).
     * $reader / $key_reader (Avro only): "schema" (default: decode into $schema), "writer"
     * (as written), "latest" (the subject's latest registered version).
     */
    public function setSerializer(string $topic, string $value, ?string $schema = null, ?string $key = null, ?string $key_schema = null, ?string $reader = null, ?string $key_reader = null): void {}
    public function clusterFor(string $topic): string {}
    public function producer(): Producer {}
    /**
     * @param string|list<string> $topics
     * @param null|string|int|\DateTimeInterface $start null/"committed", "earliest", "latest", an offset or a time
     * @param ?string $commit "after-handle" | "manual" | "auto"
     * @param ?string $ack "implicit" (default) | "explicit"
     * @param ?array<string,string> $properties librdkafka properties
     */
    public function consumer(string $group, mixed $topics, mixed $start = null, ?string $commit = null, ?string $ack = null, ?array $properties = null): Consumer {}
    public function flush(?int $timeout_ms = null): void {}
    public function close(): void {}
    /** @param int|\DateTimeInterface $time @return array<int,int> partition => offset */
    public function offsetsForTime(string $topic, mixed $time, ?string $cluster = null): mixed {}
    public function exportOffsets(string $group, ?array $topics = null, ?string $cluster = null): mixed {}
    /** @param array|string $doc an export document */
    public function importOffsets(mixed $doc, ?string $group = null, ?bool $force = null, ?string $cluster = null): mixed {}
    /** @param string|list<string> $topics @param string|int|\DateTimeInterface|array<int,int> $to */
    public function resetOffsets(string $group, mixed $topics, mixed $to, ?bool $force = null, ?bool $dry_run = null, ?string $cluster = null): mixed {}
    /** @param list<string>|null $topics @param string|null $strategy "timestamp" (default) or "checkpoint" @return array the plan document (partitions, problems) */
    public function migratePlan(string $group, string $source, string $target, ?array $topics = null, ?string $strategy = null, ?string $source_alias = null): mixed {}
    /** @param array|string $plan from migratePlan @return array{rollback: array, changes: list<array>} */
    public function migrateApply(mixed $plan, ?bool $force = null): mixed {}
    /** @return list<string> every core error code */
    public static function errorCodes(): array {}
    public static function version(): string {}
}

final class Producer
{
    /**
     * Sends one record and waits for the broker's acknowledgement.
     * @param array<string,?string>|list<array{string,?string}> $headers a null value: a header with no value
     * @param null|int|\DateTimeInterface $timestamp
     */
    public function send(string $topic, mixed $value = null, mixed $key = null, mixed $headers = null, mixed $timestamp = null): RecordMetadata {}
    /** @return list<RecordMetadata|Exception\KpipeException> one entry per record */
    public function sendMany(string $topic, mixed $records): array {}
    /** Queues without waiting; awaited by flush(), at request end and at process end. */
    public function queue(string $topic, mixed $records): int {}
    public function flush(?int $timeout_ms = null): void {}
}

final class RecordMetadata
{
    public string $cluster;
    public string $topic;
    public int $partition;
    public int $offset;
    /** milliseconds since the epoch */
    public ?int $timestamp;
}

final class Message
{
    public string $topic;
    public int $partition;
    public int $offset;
    public ?int $timestamp;
    public function key(): mixed {}
    public function value(): mixed {}
    public function rawKey(): mixed {}
    public function rawValue(): mixed {}
    /** @return list<array{string,?string}> a null value: the header was sent with no value */
    public function headers(): array {}
    public function header(string $name): mixed {}
}

/** @implements \Iterator<int, Message> */
final class Consumer implements \Iterator
{
    public function poll(?int $timeout_ms = null): ?Message {}
    public function ack(Message $message): void {}
    public function commit(?Message $message = null): void {}
    public function seek(string $topic, int $partition, int $offset): void {}
    /** @param int|\DateTimeInterface $time */
    public function seekToTime(mixed $time): array {}
    public function assignment(): array {}
    /** @param callable(Message): void $handler */
    public function run(mixed $handler, ?int $max = null): int {}
    public function stop(): void {}
    public function close(): void {}
    public function current(): ?Message {}
    public function key(): ?int {}
    public function next(): void {}
    public function rewind(): void {}
    public function valid(): bool {}
}

final class Schema
{
    public function __construct(string $schema) {}
    public function name(): ?string {}
    /** @return string the Avro body */
    public function encode(mixed $value): mixed {}
    public function decode(mixed $body): mixed {}
    public function toJson(mixed $body): string {}
}

namespace Kpipe\Exception;

class KpipeException extends \RuntimeException
{
    protected $errorCode;
    protected $retriable;
    protected $fatal;
    protected $field;
    protected $cluster;
    protected $topic;
    protected $partition;
    protected $offset;
    protected $subject;
    protected $schemaId;
    /** the core's code string ("config.invalid", ...) */
    public function getErrorCode(): string {}
    public function isRetriable(): bool {}
    public function isFatal(): bool {}
    public function getField(): ?string {}
    public function getCluster(): ?string {}
    public function getTopic(): ?string {}
    public function getPartition(): ?int {}
    public function getOffset(): ?int {}
    public function getSubject(): ?string {}
    public function getSchemaId(): ?int {}
    /** @return array{code:string,message:string,retriable:bool,fatal:bool,field:?string,cluster:?string,topic:?string,partition:?int,offset:?int,subject:?string,schema_id:?int} */
    public function getDetails(): array {}
}
class ConfigException extends KpipeException {}
class RegistryException extends KpipeException {}
class SchemaException extends KpipeException {}
class SerdeException extends KpipeException {}
class KafkaException extends KpipeException {}
class OffsetsException extends KpipeException {}
class InputException extends KpipeException {}
class ClosedException extends KpipeException {}
class HandlerException extends KpipeException {}
class ForkException extends KpipeException {}
class InternalException extends KpipeException {}
