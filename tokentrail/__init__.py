"""Tokentrail: SIEM log shipping and OAuth token audit.

The stage packages (`collectors`, `enrichers`, `sinks`) import only the small kernel below from here:
`errors`, `event`, `clock`, `retry`. Never the runtime, the bus or the CLI.
"""

__version__ = "0.1.0"
