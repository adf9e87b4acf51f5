"""File sink: NDJSON, one event per line, appended and flushed per batch."""

from sinks.file.sink import Config, FileSink, create

__all__ = ["Config", "FileSink", "create"]
