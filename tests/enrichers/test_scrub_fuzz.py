"""The raw-record scan may skip the scrubber's walk, never change what leaves: for records of every
source with secrets planted anywhere (in values, as keys, in the forms the sources decode), the
events that leave are already what a full walk of them would leave (a fixed point of the scrubber)."""

from __future__ import annotations

import copy
import io
from pathlib import Path
from typing import Any

import orjson
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from collectors import SOURCES
from collectors.inputs.reader import iter_units
from enrichers import build_chain
from enrichers.scrub import Scrubber, first_hint
from tests.jsonpaths import paths
from tokentrail.pipeline import Processor, Raw

DEMO = Path(__file__).resolve().parents[2] / "tokentrail" / "demo"
SAMPLES: list[tuple[str, Any]] = []
for _source in ("okta", "entra", "google", "confluence", "atlassian", "access"):
    for _line in (DEMO / f"{_source}.ndjson").read_bytes().splitlines():
        try:
            SAMPLES.append((_source, orjson.loads(_line)))
        except orjson.JSONDecodeError:
            pass  # the demo's malformed lines

# (planted text, the part of it that must not leave; None: text the rules do not promise to catch
# wherever it stands, such as a Java map outside the Okta debugData values that are decoded).
SECRETS = [("Bearer abcd/ef12", "abcd/ef12"), ("password=hunter2X", "hunter2X"),
           ("password\n=hunter2Y", "hunter2Y"), ("https://al:hunter2Z@h/x", "hunter2Z"),
           ("eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnMkZ6", "c2lnMkZ6"), ("?access_token=abc123QQ", "abc123QQ"),
           ("SSWS 00ab12cd34", "00ab12cd34"), ('{"client_secret": "s3cr3tXY"}', "s3cr3tXY"),
           ("{level=LOW, cookie=abcdef99}", None), ("-----BEGIN PRIVATE KEY-----MIIEvQ", "MIIEvQ")]
KEYS = ["password", "client_secret", "Client Secret", "x-api-key", "refresh_token", "pass__word", "api\u3000key",
        "to\u212aen", "Authorization", "cookie", "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ5In0.a2V5S2V5"]
WALK = Scrubber()


def _plant(doc: Any, path: tuple, secret: str, key: str | None) -> None:
    node = doc
    for p in path[:-1]:
        node = node[p]
    last = path[-1]
    if key is not None and isinstance(node, dict):
        node[key] = secret  # a secret-named key (or a token as a key) next to the field
    elif isinstance(node[last], str):
        node[last] = node[last] + " " + secret
    elif isinstance(node, dict):
        node[str(last) + "Note"] = secret
    elif isinstance(node, list):
        node.append(secret)


@st.composite
def planted(draw: Any) -> tuple[str, bytes, list[str]]:
    source, record = draw(st.sampled_from(SAMPLES))
    record = copy.deepcopy(record)
    # Scope strings are split into words by the mappings (as the providers mean them): a credential
    # planted there is no longer next to its scheme, and no pattern can tell it from a scope.
    where = [p for p in paths(record) if p and "scope" not in str(p[-1]).lower()]
    markers = []
    for _ in range(draw(st.integers(1, 2))):
        secret, marker = draw(st.sampled_from(SECRETS))
        key = draw(st.one_of(st.none(), st.sampled_from(KEYS)))
        _plant(record, draw(st.sampled_from(where)), secret, key)
        if key is not None and key.startswith("eyJ"):
            markers.append("a2V5S2V5")  # the token that is a key
            marker = None  # its value is free text under a key that names no secret
        if marker is not None:
            markers.append(marker)
    data = orjson.dumps(record)
    if draw(st.booleans()):
        data = data.replace(b"/", b"\\/")  # a writer that escapes slashes
    return source, data, markers


PROCESSOR = Processor(SOURCES, build_chain())


# derandomize: the same 400 cases on every run, so that CI never meets a new one; wider runs are
# done by hand (raise max_examples, drop derandomize).
@settings(max_examples=400, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(case=planted())
def test_what_leaves_is_already_scrubbed(case: tuple[str, bytes, list[str]]) -> None:
    """Every event that leaves is a fixed point of a full walk, and no planted secret is in it or
    in a DLQ record."""
    source, data, markers = case
    # As `tokentrail process` reads it: between other lines, its hint found by a scan of the block.
    block = io.BytesIO(b'{"a": "x"}\n' + data + b'\n{"b": 1}\n')
    unit = list(iter_units(block, max_record=1 << 20, max_document=0, scan=first_hint))[1]  # type: ignore[arg-type]
    assert unit.data == data and unit.hint == first_hint(data)
    result = PROCESSOR.process(Raw(source, data, "fuzz:1", hint=unit.hint))
    out = b""
    for event in result.events:
        encoded = PROCESSOR.encode(event, result.clean)
        shipped = orjson.loads(encoded)
        assert WALK(copy.deepcopy(shipped)) == shipped, (source, data)
        out += encoded
    out += orjson.dumps(result.dlq)
    for marker in markers:
        assert marker.encode() not in out, (marker, source, data)
