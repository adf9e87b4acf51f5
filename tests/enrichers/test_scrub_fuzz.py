"""The raw-record scan may skip the scrubber's walk, never change what leaves: for records of every
source with secrets planted anywhere (in values, as keys, in the forms the sources decode), the
events that leave are already what a full walk of them would leave (a fixed point of the scrubber)."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import orjson
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from collectors import SOURCES
from enrichers import build_chain
from enrichers.scrub import Scrubber
from tokentrail.pipeline import Processor, Raw

DEMO = Path(__file__).resolve().parents[2] / "tokentrail" / "demo"
SAMPLES: list[tuple[str, Any]] = []
for _source in ("okta", "entra", "google", "confluence", "atlassian", "access"):
    for _line in (DEMO / f"{_source}.ndjson").read_bytes().splitlines():
        try:
            SAMPLES.append((_source, orjson.loads(_line)))
        except orjson.JSONDecodeError:
            pass  # the demo's malformed lines

SECRETS = ["Bearer abcd/ef12", "password=hunter2X", "password\n=hunter2X", "https://al:hunter2X@h/x",
           "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln", "?access_token=abc123", "SSWS 00ab12cd34",
           '{"client_secret": "s3cr3tXY"}', "{level=LOW, cookie=abcdef99}", "-----BEGIN PRIVATE KEY-----x"]
KEYS = ["password", "client_secret", "Client Secret", "x-api-key", "refresh_token", "pass__word", "api\u3000key",
        "to\u212aen", "Authorization", "cookie"]
WALK = Scrubber()


def _paths(doc: Any, path: tuple = ()) -> list[tuple]:
    out = [path]
    if isinstance(doc, dict):
        for k, v in doc.items():
            out += _paths(v, (*path, k))
    elif isinstance(doc, list):
        for i, v in enumerate(doc):
            out += _paths(v, (*path, i))
    return out


def _plant(doc: Any, path: tuple, secret: str, key: str | None) -> None:
    node = doc
    for p in path[:-1]:
        node = node[p]
    last = path[-1]
    if key is not None and isinstance(node, dict):
        node[key] = secret  # a secret-named key next to the field
    elif isinstance(node[last], str):
        node[last] = node[last] + " " + secret
    elif isinstance(node, dict):
        node[str(last) + "Note"] = secret
    elif isinstance(node, list):
        node.append(secret)


@st.composite
def planted(draw: Any) -> tuple[str, bytes, bool]:
    source, record = draw(st.sampled_from(SAMPLES))
    record = copy.deepcopy(record)
    paths = [p for p in _paths(record) if p]
    for _ in range(draw(st.integers(1, 2))):
        _plant(record, draw(st.sampled_from(paths)), draw(st.sampled_from(SECRETS)),
               draw(st.one_of(st.none(), st.sampled_from(KEYS))))
    data = orjson.dumps(record)
    if draw(st.booleans()):
        data = data.replace(b"/", b"\\/")  # a writer that escapes slashes
    return source, data, draw(st.booleans())


PROCESSOR = Processor(SOURCES, build_chain())


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=planted())
def test_what_leaves_is_already_scrubbed(case: tuple[str, bytes, bool]) -> None:
    source, data, _ = case
    result = PROCESSOR.process(Raw(source, data, "fuzz:1"))
    for event in result.events:
        shipped = orjson.loads(PROCESSOR.encode(event, result.clean))
        again = WALK(copy.deepcopy(shipped))
        assert again == shipped, (source, data)
