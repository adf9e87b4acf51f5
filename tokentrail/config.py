"""The YAML config (interfaces.md): load, validate, report every problem with its position.

Components own their config dataclasses (`collectors/inputs/*`, `sinks/*`, `enrichers/*`); this module
holds the top level and dispatches `inputs[]` and `sinks[]` by `kind` through the registries.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from tokentrail.configtools import build, doc
from tokentrail.errors import ConfigError
from tokentrail.secrets import Secret


@dataclass(frozen=True)
class BusConfig:
    kind: str = doc("memory (one process, bounded queues) or kafka (distributed workers)", "memory")
    bootstrap_servers: list[str] = doc("Kafka brokers, host:port", default_factory=lambda: ["127.0.0.1:9092"])
    topic_prefix: str = doc("topics: <p>.raw.<source>, <p>.events, <p>.dlq, <p>.state.*", "tokentrail")
    group_id: str = doc("consumer group prefix; the role name is appended", "tokentrail")
    partitions: int = doc("partitions for topics Tokentrail creates", 3)
    replication_factor: int = doc("replication factor for topics Tokentrail creates", 1)
    security_protocol: str = doc("PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL", "PLAINTEXT")
    sasl_mechanism: str | None = doc("PLAIN, SCRAM-SHA-256, SCRAM-SHA-512", None)
    sasl_username: str | None = doc("SASL user (Event Hubs: $ConnectionString)", None)
    sasl_password: Secret | None = doc("SASL password, from sasl_password_file or _env", None)
    ca_file: str | None = doc("CA bundle for SSL", None)
    queue_size: int = doc("memory bus: records held per topic before producers block", 10000)
    session_timeout_ms: int = doc("kafka: a silent worker leaves its group after this (group joins take about "
                                  "half of it on some brokers)", 10000)
    max_poll_interval_ms: int = doc("kafka: rebalance timeout; the worker polls in the background, so slow "
                                    "sinks do not count against it", 10000)
    max_in_flight: int = doc("kafka: records read but not yet finished per consumer (bounds memory)", 2000)
    fetch_max_bytes: int = doc("kafka: bytes per fetch response at most (bounds memory)", 8 << 20)
    producer_buffer_bytes: int = doc("kafka: bytes produced but not yet acknowledged before publishing blocks",
                                     32 << 20)
    linger_ms: int = doc("kafka: producer batching delay", 5)
    compression_type: str | None = doc("kafka: gzip, lz4, snappy, zstd or none", None)

    def validate(self) -> list[str]:
        problems = []
        if self.kind not in ("memory", "kafka"):
            problems.append(f"kind: unknown bus kind {self.kind!r} (valid: kafka, memory)")
        if self.queue_size < 1:
            problems.append("queue_size: must be at least 1")
        if self.kind == "kafka":
            from tokentrail.bus.kafka import validate_config

            problems += validate_config(self)
        return problems


@dataclass(frozen=True)
class DlqConfig:
    path: str = doc("embedded mode: NDJSON file of dead-letter records (Kafka: the <p>.dlq topic)",
                    "./tokentrail-out/dlq.ndjson")


@dataclass(frozen=True)
class HttpConfig:
    listen: str | None = doc("host:port for /healthz, /readyz and /metrics (off when unset)", None)


@dataclass(frozen=True)
class PipelineConfig:
    max_record_bytes: int = doc("a raw record larger than this goes to the DLQ", 1 << 20)
    max_document_bytes: int = doc("a whole-file JSON document (array or envelope) may be this large", 64 << 20)
    batch_size: int = doc("events per sink batch at most", 2000)
    batch_seconds: float = doc("a batch waits at most this long to fill", 1.0)
    drain_seconds: float = doc("SIGTERM: time to finish in-flight batches before exiting", 25.0)


@dataclass(frozen=True)
class LoggingConfig:
    level: str = doc("debug, info, warning or error", "info")
    format: str = doc("json (one object per line) or console", "json")


@dataclass(frozen=True)
class InputSpec:
    name: str
    source: str
    kind: str
    config: Any


@dataclass(frozen=True)
class SinkSpec:
    name: str
    kind: str
    config: Any


@dataclass(frozen=True)
class Config:
    bus: BusConfig = field(default_factory=BusConfig)
    inputs: list[InputSpec] = field(default_factory=list)
    sinks: list[SinkSpec] = field(default_factory=list)
    dlq: DlqConfig = field(default_factory=DlqConfig)
    state_dir: str = "./tokentrail-state"
    http: HttpConfig = field(default_factory=HttpConfig)
    pipeline: PipelineConfig = field(default_factory=PipelineConfig)
    logging: LoggingConfig = field(default_factory=LoggingConfig)
    tokens: Any = None
    apps: Any = None
    path: str | None = None


_TOP_KEYS = ("bus", "inputs", "sinks", "dlq", "state_dir", "http", "pipeline", "logging", "tokens", "apps")


def _input(i: int, raw: Any, problems: list[str]) -> InputSpec | None:
    from collectors import SOURCE_NAMES
    from collectors.inputs import INPUT_KINDS, input_config_class

    where = f"inputs[{i}]"
    if not isinstance(raw, dict):
        problems.append(f"{where}: expected a mapping")
        return None
    raw = dict(raw)
    source, kind = raw.pop("source", None), raw.pop("kind", "file")
    name = str(raw.pop("name", f"{source}-{kind}-{i}"))
    if source not in SOURCE_NAMES:
        problems.append(f"{where}.source: unknown source {source!r} (valid: {', '.join(SOURCE_NAMES)})")
        return None
    if kind not in INPUT_KINDS:
        problems.append(f"{where}.kind: unknown input kind {kind!r} (valid: {', '.join(sorted(INPUT_KINDS))})")
        return None
    cls = input_config_class(kind, source)
    return InputSpec(name=name, source=source, kind=kind, config=build(cls, raw, where, problems))


def _sink(i: int, raw: Any, problems: list[str]) -> SinkSpec | None:
    from sinks import SINK_KINDS, sink_config_class

    where = f"sinks[{i}]"
    if not isinstance(raw, dict):
        problems.append(f"{where}: expected a mapping")
        return None
    raw = dict(raw)
    kind = raw.pop("kind", None)
    name = str(raw.pop("name", f"{kind}-{i}"))
    if kind not in SINK_KINDS:
        problems.append(f"{where}.kind: unknown sink kind {kind!r} (valid: {', '.join(sorted(SINK_KINDS))})")
        return None
    return SinkSpec(name=name, kind=kind, config=build(sink_config_class(kind), raw, where, problems))


def from_dict(data: dict[str, Any] | None, path: str | None = None) -> Config:
    """Validate a config dict; raise ConfigError listing every problem."""
    problems: list[str] = []
    data = data or {}
    if not isinstance(data, dict):
        raise ConfigError("the config must be a YAML mapping")
    for key in data:
        if key not in _TOP_KEYS:
            problems.append(f"{key}: unknown key (valid: {', '.join(_TOP_KEYS)})")
    inputs_raw = data.get("inputs") or []
    sinks_raw = data.get("sinks") or []
    if not isinstance(inputs_raw, list):
        problems.append("inputs: expected a list")
        inputs_raw = []
    if not isinstance(sinks_raw, list):
        problems.append("sinks: expected a list")
        sinks_raw = []
    inputs = [s for i, r in enumerate(inputs_raw) if (s := _input(i, r, problems))]
    sinks = [s for i, r in enumerate(sinks_raw) if (s := _sink(i, r, problems))]
    names = [s.name for s in inputs]
    for dup in {n for n in names if names.count(n) > 1}:
        problems.append(f"inputs: name {dup!r} is used twice (checkpoints are kept by name)")
    from enrichers import parse_sections

    tokens, apps = parse_sections(data.get("tokens"), data.get("apps"), problems)
    cfg = Config(
        bus=build(BusConfig, data.get("bus"), "bus", problems),
        inputs=inputs,
        sinks=sinks,
        dlq=build(DlqConfig, data.get("dlq"), "dlq", problems),
        state_dir=str(data.get("state_dir", "./tokentrail-state")),
        http=build(HttpConfig, data.get("http"), "http", problems),
        pipeline=build(PipelineConfig, data.get("pipeline"), "pipeline", problems),
        logging=build(LoggingConfig, data.get("logging"), "logging", problems),
        tokens=tokens,
        apps=apps,
        path=path,
    )
    if problems:
        where = f" in {path}" if path else ""
        raise ConfigError(f"{len(problems)} problem(s){where}", problems)
    return cfg


def _env_expand(text: str) -> str:
    # ${VAR} and ${VAR:-default} for non-secret values (hosts, paths); secrets use *_env keys.
    import re

    def sub(m: re.Match[str]) -> str:
        name, _, default = m.group(1).partition(":-")
        return os.environ.get(name, default)

    return re.sub(r"\$\{([A-Za-z_][A-Za-z0-9_]*(?::-[^}]*)?)\}", sub, text)


def load(path: str | os.PathLike[str]) -> Config:
    """Read and validate a YAML config file."""
    p = Path(path)
    try:
        text = p.read_text()
    except OSError as exc:
        raise ConfigError(f"cannot read config {p}: {exc.strerror}") from None
    try:
        data = yaml.safe_load(_env_expand(text))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise ConfigError(f"{p}: invalid YAML{at}: {getattr(exc, 'problem', exc)}") from None
    return from_dict(data, str(p))


def replace(cfg: Config, **changes: Any) -> Config:
    return dataclasses.replace(cfg, **changes)
