"""Config of the Kafka sink (`kind: kafka` under `sinks:`)."""

from __future__ import annotations

from dataclasses import dataclass

from tokentrail.configtools import doc
from tokentrail.secrets import Secret


@dataclass(frozen=True)
class Config:
    bootstrap_servers: list[str] = doc("brokers, host:port")
    topic: str = doc("topic the events are written to (created when missing, if the broker allows)")
    security_protocol: str = doc("PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL", "PLAINTEXT")
    sasl_mechanism: str | None = doc("PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512", None)
    sasl_username: str | None = doc("SASL user (Event Hubs: $ConnectionString)", None)
    sasl_password: Secret | None = doc("SASL password, from sasl_password_file or sasl_password_env", None)
    ca_file: str | None = doc("CA bundle to verify the brokers", None)
    compression_type: str | None = doc("gzip, lz4, snappy, zstd or none", None)
    max_request_bytes: int = doc("an event larger than this is dead-lettered (the broker's message.max.bytes)",
                                 1 << 20)
    timeout_seconds: float = doc("a batch not acknowledged within this is retried", 30.0)

    def validate(self) -> list[str]:
        from tokentrail.bus.kafka import validate_config

        problems = validate_config(self)
        if not self.topic:
            problems.append("topic: required")
        if self.timeout_seconds <= 0:
            problems.append("timeout_seconds: must be positive")
        return problems
