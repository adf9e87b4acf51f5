"""The Elasticsearch bulk classifier on recorded response bodies (no I/O)."""

from __future__ import annotations

import orjson

from sinks._sink import Outcome
from sinks.elasticsearch import retry

# Recorded from noida-db (filter_path=errors,items.*.error,items.*.status) and Elasticsearch 8.x.
REPLAY_AND_MAPPING = orjson.loads(b"""{"errors":true,"items":[
 {"create":{"error":{"type":"version_conflict_engine_exception","reason":"[a1]: version conflict, document already exists (current version [1])","index":"logs-t-default","index_uuid":"noida","shard":"0"},"status":409}},
 {"create":{"error":{"type":"document_parsing_exception","reason":"[1:42] failed to parse field [n] of type [long] in document with id 'a2'. Preview of field's value: 'abc'","caused_by":{"type":"illegal_argument_exception","reason":"For input string: \\"abc\\""}},"status":400}},
 {"create":{"status":201}}]}""")
ITEM_429_503 = orjson.loads(b"""{"errors":true,"items":[
 {"create":{"status":201}},
 {"create":{"status":429,"error":{"type":"es_rejected_execution_exception","reason":"rejected execution of org.elasticsearch.action.support.replication.TransportWriteAction on EsThreadPoolExecutor[name = node-1/write, queue capacity = 10000]"}}},
 {"create":{"status":503,"error":{"type":"unavailable_shards_exception","reason":"[logs-okta.system-default][0] primary shard is not active Timeout: [1m]"}}}]}""")
ITEM_403 = orjson.loads(b"""{"errors":true,"items":[{"create":{"status":403,"error":{"type":"security_exception",
 "reason":"action [indices:data/write/bulk[s]] is unauthorized for API key id [abc] of user [shipper] on indices [logs-okta.system-default]"}}}]}""")
ITEM_BLOCK = orjson.loads(b"""{"errors":true,"items":[{"create":{"status":403,"error":{"type":"cluster_block_exception",
 "reason":"index [.ds-logs-okta.system-default-2024.05.03-000001] blocked by: [FORBIDDEN/8/index write (api)];"}}}]}""")
TOP_401 = orjson.loads(b"""{"error":{"root_cause":[{"type":"security_exception","reason":"unable to authenticate with provided credentials and anonymous access is not allowed for this request"}],"type":"security_exception","reason":"unable to authenticate with provided credentials and anonymous access is not allowed for this request"},"status":401}""")
TOP_MEDIA = orjson.loads(b"""{"error":{"root_cause":[{"type":"media_type_header_exception","reason":"Invalid media-type value on headers [Accept, Content-Type]"}],"type":"media_type_header_exception","reason":"Invalid media-type value on headers [Accept, Content-Type]","caused_by":{"type":"status_exception","reason":"Accept version must be either version 8 or 7, but found 9. Accept=application/vnd.elasticsearch+json; compatible-with=9"}},"status":400}""")
TOP_PARSE = orjson.loads(b"""{"error":{"root_cause":[{"type":"illegal_argument_exception","reason":"Malformed action/metadata line [3], expected START_OBJECT but found [VALUE_STRING]"}],"type":"illegal_argument_exception","reason":"Malformed action/metadata line [3], expected START_OBJECT but found [VALUE_STRING]"},"status":400}""")


def outcomes(v: retry.Verdict) -> list[Outcome]:
    assert v.results is not None
    return [r.outcome for r in v.results]


def test_all_created_is_delivered_without_reading_items():
    """`"errors": false` means every item was created."""
    v = retry.classify_bulk(200, {"errors": False}, 3)
    assert v.action == retry.ITEMS and outcomes(v) == [Outcome.DELIVERED] * 3


def test_replay_409_is_duplicate_and_mapping_error_is_dead_letter():
    """409 on create is a duplicate; a 400 parsing error is dead-lettered with the server's reason."""
    v = retry.classify_bulk(200, REPLAY_AND_MAPPING, 3)
    assert outcomes(v) == [Outcome.DUPLICATE, Outcome.DEAD_LETTER, Outcome.DELIVERED]
    reason = v.results[1].reason
    assert reason.startswith("400 document_parsing_exception: [1:42] failed to parse field [n] of type [long]")
    assert "caused by illegal_argument_exception" in reason


def test_item_429_and_503_are_retried_alone():
    """Only the rejected items are marked RETRY; the created one is delivered."""
    v = retry.classify_bulk(200, ITEM_429_503, 3)
    assert outcomes(v) == [Outcome.DELIVERED, Outcome.RETRY, Outcome.RETRY]
    assert "es_rejected_execution_exception" in v.results[1].reason


def test_item_security_exception_stops_the_worker():
    """A missing write privilege is an operator's problem: AUTH, not thousands of DLQ records."""
    v = retry.classify_bulk(200, ITEM_403, 1)
    assert v.action == retry.AUTH and "unauthorized" in v.reason


def test_item_write_block_waits_for_the_operator():
    """A write-blocked index is retried, not dead-lettered."""
    assert outcomes(retry.classify_bulk(200, ITEM_BLOCK, 1)) == [Outcome.RETRY]


def test_top_level_413_splits():
    """A request over http.max_content_length is split."""
    assert retry.classify_bulk(413, b"", 10).action == retry.SPLIT


def test_top_level_400_parse_error_splits_to_find_the_line():
    """A whole-request 400 about the body is bisected down to the bad event."""
    v = retry.classify_bulk(400, TOP_PARSE, 4)
    assert v.action == retry.SPLIT and "Malformed action/metadata line" in v.reason


def test_top_level_media_type_error_is_not_blamed_on_the_data():
    """A REST-compatibility refusal is retried (loudly), never split into dead letters."""
    assert retry.classify_bulk(400, TOP_MEDIA, 4).action == retry.RETRY


def test_top_level_401_is_auth():
    """Refused credentials stop the worker."""
    v = retry.classify_bulk(401, TOP_401, 4)
    assert v.action == retry.AUTH and "unable to authenticate" in v.reason


def test_top_level_429_and_5xx_retry_everything():
    """Back-pressure or an unavailable cluster retries the whole request."""
    for status in (429, 500, 502, 503, 504):
        assert retry.classify_bulk(status, {"error": "busy"}, 2).action == retry.RETRY


def test_item_count_mismatch_is_retried():
    """A response that does not match the request is not trusted."""
    v = retry.classify_bulk(200, {"errors": True, "items": [{"create": {"status": 201}}]}, 2)
    assert v.action == retry.RETRY and "1 items for 2" in v.reason


def test_reasons_are_bounded():
    """A huge server reason is cut, so DLQ records and logs stay small."""
    r = retry.classify_item(400, {"type": "x", "reason": "y" * 5000})
    assert len(r.reason) <= 500
