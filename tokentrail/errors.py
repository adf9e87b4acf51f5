"""One error tree, classified by what the runtime does next.

    TokentrailError
    ├── ConfigError            exit 2 with the reason (check-config lists them all)
    ├── FetchError             a collector retries with backoff
    │   ├── RateLimited        ... after the wait the provider asked for
    │   └── Unavailable        ... 5xx, connection errors, timeouts
    ├── AuthError              a collector or sink stops with a clear error (no retry storm)
    ├── RecordError            this record goes to the DLQ with `reason`; the rest goes on
    │   └── DropEvent          (not an error) an enricher drops an event on purpose
    └── SinkError
        ├── Retryable          resend later (429, 5xx, connection)
        └── Rejected           dead-letter with the server's reason (4xx)

Messages never carry secrets: callers pass reasons, not payloads.
"""

from __future__ import annotations


class TokentrailError(Exception):
    """Base of every error Tokentrail raises on purpose."""


class ConfigError(TokentrailError):
    """The configuration is invalid. `problems` lists every problem with its position."""

    def __init__(self, message: str, problems: list[str] | None = None) -> None:
        super().__init__(message)
        self.problems = problems or [message]


class FetchError(TokentrailError):
    """Fetching from a provider failed in a way worth retrying."""


class RateLimited(FetchError):
    """The provider asked us to slow down; `retry_after` is seconds to wait (None: use backoff)."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class Unavailable(FetchError):
    """5xx, timeouts, connection errors."""


class AuthError(TokentrailError):
    """Credentials refused (401/403). Retrying will not help; an operator must act."""


class RecordError(TokentrailError):
    """This record cannot be processed; it goes to the DLQ with `reason`."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class DropEvent(RecordError):
    """An enricher drops an event on purpose (counted, not dead-lettered)."""

    def __init__(self, reason: str = "dropped") -> None:
        super().__init__(reason)


class SinkError(TokentrailError):
    """A sink failed to deliver a whole request."""

    class Retryable(TokentrailError):
        """Resend later."""

    class Rejected(TokentrailError):
        """The server refused the data for good."""
