"""Secrets come from files (Kubernetes Secrets) or named environment variables, never inline.

A `Secret` prints as [REDACTED]; `reveal()` reads it when needed, so a rotated file is picked up.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from tokentrail.errors import ConfigError


@dataclass(frozen=True)
class Secret:
    """A reference to a secret: a file path or an environment variable name."""

    file: str | None = None
    env: str | None = None

    def __repr__(self) -> str:
        return "Secret([REDACTED])"

    __str__ = __repr__

    def reveal(self) -> str:
        """The secret's value, stripped of surrounding whitespace. Raises ConfigError if missing."""
        if self.file:
            try:
                return Path(self.file).read_text().strip()
            except OSError as exc:
                raise ConfigError(f"cannot read secret file {self.file}: {exc.strerror}") from None
        if self.env:
            value = os.environ.get(self.env)
            if value is None:
                raise ConfigError(f"secret environment variable {self.env} is not set")
            return value.strip()
        raise ConfigError("secret has neither a file nor an environment variable")

    def where(self) -> str:
        return f"file {self.file}" if self.file else f"environment variable {self.env}"
