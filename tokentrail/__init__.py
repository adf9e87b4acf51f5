"""Tokentrail: SIEM log shipping and OAuth token audit.

The stage packages (`collectors`, `enrichers`, `sinks`) import only the small kernel below from here:
`errors`, `event`, `clock`, `retry`. Never the runtime, the bus or the CLI.
"""

__version__ = "0.1.0"


def _pure_python_if_asked() -> None:
    import os

    if os.environ.get("TOKENTRAIL_PURE_PYTHON"):
        from tokentrail.compiled import use_pure_python

        use_pure_python()


_pure_python_if_asked()
