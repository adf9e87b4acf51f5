"""Config checks shared by the HTTP sinks (Elasticsearch, Splunk HEC)."""

from __future__ import annotations


def request_problems(batch_max_bytes: int, max_concurrent_requests: int, gzip_level: int,
                     timeout_key: str, timeout: float) -> list[str]:
    """Problems with the batching, concurrency, compression and timeout keys every HTTP sink has."""
    problems = []
    if batch_max_bytes < 1024:
        problems.append("batch_max_bytes: at least 1024")
    if max_concurrent_requests < 1:
        problems.append("max_concurrent_requests: at least 1")
    if not 0 <= gzip_level <= 9:
        problems.append("gzip_level: 0 to 9")
    if timeout <= 0:
        problems.append(f"{timeout_key}: must be positive")
    return problems
