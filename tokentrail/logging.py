"""structlog set up once: JSON lines (orjson) or console, every value passed through the scrubber."""

from __future__ import annotations

import logging
import sys
from typing import Any

import orjson
import structlog

from enrichers.scrub import scrub_text


def _scrub(logger: Any, method: str, event_dict: dict[str, Any]) -> dict[str, Any]:
    for k, v in list(event_dict.items()):
        if isinstance(v, str):
            event_dict[k] = scrub_text(v)
        elif isinstance(v, BaseException):
            event_dict[k] = scrub_text(f"{type(v).__name__}: {v}")
    return event_dict


def _scrub_rendered(logger: Any, method: str, event_dict: dict[str, Any]) -> dict[str, Any]:
    # Tracebacks are rendered to text by format_exc_info; scrub that text too.
    exc = event_dict.get("exception")
    if isinstance(exc, str):
        event_dict["exception"] = scrub_text(exc)
    return event_dict


def configure(level: str = "info", fmt: str = "json", stream: Any = None, **context: Any) -> None:
    """Configure structlog for the whole process; `context` (role, worker id) goes on every line."""
    stream = stream or sys.stderr
    lvl = getattr(logging, level.upper(), logging.INFO)
    processors: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.processors.format_exc_info,
        _scrub,
        _scrub_rendered,
    ]
    if fmt == "console":
        processors.append(structlog.dev.ConsoleRenderer(colors=False))
        factory: Any = structlog.PrintLoggerFactory(stream)
    else:
        processors.append(structlog.processors.JSONRenderer(serializer=orjson.dumps))
        factory = structlog.BytesLoggerFactory(getattr(stream, "buffer", stream))
    structlog.configure(
        processors=processors,
        wrapper_class=structlog.make_filtering_bound_logger(lvl),
        logger_factory=factory,
        cache_logger_on_first_use=False,
    )
    structlog.contextvars.clear_contextvars()
    if context:
        structlog.contextvars.bind_contextvars(**context)
